"""The synthetic sample: deterministic, in the published formats, and its ground truth follows from its own files.

The truth is checked against independent computations over the written files (shapely point-in-polygon,
a small presence algorithm over the pings), so a generator bug that made truth and data disagree fails here.
Every such check runs on the default sample and on the scaled one (scale 10, one day of pings: every file more
than one DuckDB row group long); the scaled variants are marked slow.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from hotspots.generate import CRIME_HEADER, SCALE_ROWS, VIOLENT_TYPES, generate_sample, harm_weights, read_areas

LONDON = ZoneInfo("Europe/London")
SCALE = 10
ROW_GROUP = 122_880  # DuckDB's rows per row group


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """The sample at scale 10 with one day of pings: every crime file and hourly ping file over a row group."""
    return generate_sample(tmp_path_factory.mktemp("scaled"), seed=7, scale=SCALE, avl_days=1)


@pytest.fixture(scope="module", params=["default", pytest.param("scaled", marks=pytest.mark.slow)])
def generated(request):
    """The default sample, then the scaled one: every check on files and truth holds for both."""
    return request.getfixturevalue("sample" if request.param == "default" else "scaled")


@pytest.fixture(scope="module")
def areas(generated):
    codes, polygons = read_areas(generated.landing_dir / generated.force / "areas" / "areas.geojson")
    return codes, polygons


@pytest.fixture(scope="module")
def crimes(generated, areas):
    return _read_crimes(generated, areas)


@pytest.fixture(scope="module")
def pings(generated):
    return _read_pings(generated)


def _read_crimes(sample, areas) -> pd.DataFrame:
    """All crime rows as text, placed by point-in-polygon of their coordinates (never by the LSOA column)."""
    codes, polygons = areas
    frames = []
    for month in sample.crime_months:
        path = sample.landing_dir / sample.force / "crime" / month / f"{month}-{sample.force}-street.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["file"] = f"crime/{month}/{path.name}"
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    has_xy = frame["Longitude"].ne("")
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(
        frame.loc[has_xy, "Longitude"].astype(float).to_numpy(), frame.loc[has_xy, "Latitude"].astype(float).to_numpy()
    )
    tree = shapely.STRtree(polygons)
    point_idx, poly_idx = tree.query(shapely.points(x, y), predicate="within")
    assert len(np.unique(point_idx)) == len(point_idx), "a crime point lies in two areas"
    placed = np.full(int(has_xy.sum()), None, dtype=object)
    placed[point_idx] = np.array(codes, dtype=object)[poly_idx]
    frame["area_code"] = None
    frame.loc[has_xy, "area_code"] = placed
    return frame


def _read_pings(sample) -> pd.DataFrame:
    """All ping rows as text, with their file and row number (1 = first data row)."""
    frames = []
    for path in sorted((sample.landing_dir / sample.force / "avl").rglob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["file"] = str(path.relative_to(sample.landing_dir / sample.force))
        frame["row"] = np.arange(1, len(frame) + 1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_same_seed_gives_identical_files_and_another_seed_does_not(sample, tmp_path):
    again = generate_sample(tmp_path / "again", seed=7)
    assert _digest(again.out_dir / "landing") == _digest(sample.out_dir / "landing")
    assert _digest(again.out_dir / "truth") == _digest(sample.out_dir / "truth")
    other = generate_sample(tmp_path / "other", seed=8, n_areas=49, hotspot_count=5, avl_days=4, n_devices=8)
    assert other.truth("hotspots")["area_code"].tolist() != sample.truth("hotspots")["area_code"].tolist()
    assert len(other.truth("hotspots")) == 5 and len(other.avl_dates) == 4


@pytest.mark.slow
def test_scale_makes_every_file_longer_than_a_row_group_and_keeps_the_truth(scaled, tmp_path):
    unscaled = generate_sample(tmp_path / "unscaled", seed=7, avl_days=1)
    grown = (SCALE - 1) * SCALE_ROWS
    for name, entry in scaled.manifest["crime"]["files"].items():
        lines = (scaled.landing_dir / scaled.force / name).read_bytes().count(b"\n") - 1
        assert lines == entry["rows"] == unscaled.manifest["crime"]["files"][name]["rows"] + grown > ROW_GROUP
    day = scaled.avl_dates[0]
    start = int(pd.Timestamp(day.isoformat(), tz=LONDON).timestamp())
    end = int(pd.Timestamp((day + timedelta(days=1)).isoformat(), tz=LONDON).timestamp())
    in_day = {pd.Timestamp(t, unit="s").strftime("avl/%Y-%m-%d/pings-%H.csv") for t in range(start, end, 3600)}
    files, base = scaled.manifest["avl"]["files"], unscaled.manifest["avl"]["files"]
    assert set(files) == set(base) | in_day
    for name, entry in files.items():
        path = scaled.landing_dir / scaled.force / name
        assert path.read_bytes().count(b"\n") - 1 == entry["rows"]
        before = base.get(name, {"rows": 0, "duplicates": 0, "invalid": 0, "out_of_order_moves": 0})
        if name not in in_day:  # pings after the last local midnight: no background
            assert path.read_bytes() == (unscaled.landing_dir / unscaled.force / name).read_bytes()
            continue
        assert entry["rows"] - entry["duplicates"] == before["rows"] - before["duplicates"] + grown
        assert entry["rows"] > ROW_GROUP
        assert (entry["invalid"], entry["out_of_order_moves"]) == (before["invalid"], before["out_of_order_moves"])
    for name in ("hotspots", "ranking", "patrol", "compliance", "alerts", "visits"):
        assert (scaled.truth_dir / f"{name}.csv").read_bytes() == (unscaled.truth_dir / f"{name}.csv").read_bytes()
    params = dict(scaled.manifest["params"])
    assert params.pop("scale") == SCALE and params == unscaled.manifest["params"]
    assert scaled.manifest["avl"]["background_devices"] == grown // 360
    assert scaled.manifest["selection"] == unscaled.manifest["selection"]
    assert scaled.manifest["avl"]["devices"] == unscaled.manifest["avl"]["devices"]


@pytest.mark.slow
def test_cli_generate_scale(sample, tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    refused = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "zero"), "--scale", "0"])
    assert refused.exit_code == 2 and "--scale" in refused.output and not (tmp_path / "zero").exists()
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "two"), "--scale", "2"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "two" / "truth" / sample.force / "manifest.json").read_text())
    assert manifest["params"]["scale"] == 2
    for name, entry in manifest["crime"]["files"].items():
        assert entry["rows"] == sample.manifest["crime"]["files"][name]["rows"] + SCALE_ROWS
    assert manifest["avl"]["rows"] > sample.manifest["avl"]["rows"] + 24 * len(sample.avl_dates) * SCALE_ROWS
    for name in ("patrol", "compliance", "alerts"):
        assert (tmp_path / "two" / "truth" / sample.force / f"{name}.csv").read_bytes() == (
            sample.truth_dir / f"{name}.csv"
        ).read_bytes()


def test_crime_files_use_the_exact_police_uk_layout(generated, shared_data):
    real = sorted((shared_data / "police-uk").glob("*-street.csv"))[0]
    real_header = real.read_bytes().split(b"\n", 1)[0]
    for month in generated.crime_months:
        path = generated.landing_dir / generated.force / "crime" / month / f"{month}-{generated.force}-street.csv"
        data = path.read_bytes()
        assert data.split(b"\n", 1)[0] == real_header  # same names, order and CRLF line end
        assert data.count(b"\r\n") == data.count(b"\n") and b'"' not in data
    assert real_header.decode().rstrip("\r").split(",") == CRIME_HEADER


def test_crime_rows_look_like_data_police_uk(generated, crimes):
    assert crimes["Month"].isin(generated.crime_months).all()
    assert crimes["Reported by"].eq("Synthetic Police").all() and crimes["Falls within"].eq("Synthetic Police").all()
    asb = crimes["Crime type"].eq("Anti-social behaviour")
    assert crimes.loc[asb, "Crime ID"].eq("").all() and crimes.loc[asb, "Last outcome category"].eq("").all()
    assert crimes.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert crimes["Context"].eq("").all()
    with_xy = crimes[crimes["Longitude"].ne("")]
    assert with_xy["Longitude"].str.fullmatch(r"-?\d+\.\d{6}").all()
    assert with_xy["Latitude"].str.fullmatch(r"\d+\.\d{6}").all()
    assert with_xy["Location"].str.startswith("On or near ").all()
    assert set(crimes["Crime type"]) <= set(harm_weights())
    assert not crimes.drop(columns="area_code").duplicated().any()  # no exact duplicate rows (real files have some)
    # the file's LSOA code never names the area the point is in: placement must use the coordinates
    assert not (with_xy["LSOA code"] == with_xy["area_code"]).any()
    background = (generated.scale - 1) * SCALE_ROWS * len(generated.crime_months)
    assert 6000 <= len(crimes) - background <= 10000


def test_crime_dirt_matches_manifest(generated, crimes):
    files = generated.manifest["crime"]["files"]
    for name, group in crimes.groupby("file"):
        missing = group["Longitude"].eq("")
        assert (group.loc[missing, "Latitude"] == "").all() and group.loc[missing, "Location"].eq("No Location").all()
        outside = group["Longitude"].ne("") & group["area_code"].isna()
        assert files[name] == {
            "rows": len(group),
            "rows_without_coordinates": int(missing.sum()),
            "outside_points": int(outside.sum()),
            "outside_violent": int((outside & group["Crime type"].isin(VIOLENT_TYPES)).sum()),
            "placed_rows": int(group["area_code"].notna().sum()),
        }
        assert 0.015 <= missing.mean() <= 0.035 and 1 <= outside.sum() <= 20


def test_outside_points_lie_5_to_20_km_from_the_county(generated, crimes, areas):
    county = shapely.union_all(areas[1])
    outside = crimes[crimes["Longitude"].ne("") & crimes["area_code"].isna()]
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        outside["Longitude"].astype(float).to_numpy(), outside["Latitude"].astype(float).to_numpy()
    )
    distance = shapely.distance(county, shapely.points(x, y))
    assert ((distance >= 4990) & (distance <= 20010)).all()


def test_crime_points_are_well_inside_their_areas(crimes, areas):
    codes, polygons = areas
    placed = crimes[crimes["area_code"].notna()]
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        placed["Longitude"].astype(float).to_numpy(), placed["Latitude"].astype(float).to_numpy()
    )
    boundaries = np.array([polygons[codes.index(c)].boundary for c in placed["area_code"]])
    assert shapely.distance(boundaries, shapely.points(x, y)).min() > 5.0


def test_areas_tile_a_county_near_bedford_like_ons_lsoas(generated, areas):
    data = json.loads((generated.landing_dir / generated.force / "areas" / "areas.geojson").read_text())
    props = [f["properties"] for f in data["features"]]
    assert all(re.fullmatch(r"E019\d{5}", p["LSOA11CD"]) for p in props)
    assert all(re.fullmatch(r"Synthtown \d{3}[A-D]", p["LSOA11NM"]) for p in props)
    lon, lat = np.array([c for f in data["features"] for c in f["geometry"]["coordinates"][0]]).T
    assert -0.6 < lon.min() < lon.max() < -0.3 and 52.0 < lat.min() < lat.max() < 52.2
    codes, polygons = areas
    assert len(set(codes)) == len(codes) == generated.manifest["params"]["n_areas"]
    assert all(p.is_valid for p in polygons)
    union = shapely.union_all(polygons)
    assert abs(sum(p.area for p in polygons) - union.area) < 5.0  # no overlaps
    assert len(shapely.get_parts(union)) == 1
    vertices = [len(p.exterior.coords) - 1 for p in polygons]
    assert 20 <= np.median(vertices) <= 60
    widths = [math.sqrt(p.area) for p in polygons]
    assert 300 < np.median(widths) < 700


def test_hotspot_truth_is_the_independent_top_n(generated, crimes):
    weights = harm_weights()
    violent = crimes[crimes["Crime type"].isin(VIOLENT_TYPES) & crimes["area_code"].notna()]
    per_area = violent.groupby("area_code").agg(
        events=("Crime type", "size"), harm=("Crime type", lambda s: s.map(weights).sum())
    )
    ranked = (
        per_area[per_area["events"] >= 2]
        .reset_index()
        .sort_values(["harm", "events", "area_code"], ascending=[False, False, True])
    )
    n = generated.manifest["params"]["hotspot_count"]
    truth = generated.truth("hotspots")
    assert truth["area_code"].tolist() == ranked["area_code"].head(n).tolist()
    assert truth["rank"].tolist() == list(range(1, n + 1))
    assert ranked["harm"].iloc[n - 1] >= 1.25 * ranked["harm"].iloc[n]  # unambiguous budget edge
    selection = generated.manifest["selection"]
    assert selection["default"] == truth["area_code"].tolist()
    recorded = {code: (v["events"], v["harm"]) for code, v in selection["per_area"].items() if v["events"]}
    assert recorded == {code: (int(r.events), float(r.harm)) for code, r in per_area.iterrows()}
    cumulative = ranked["harm"].cumsum() / per_area["harm"].sum()
    k = int((cumulative < 0.5).sum()) + 1
    assert selection["harm_share_0.5"] == ranked["area_code"].head(k).tolist()
    assert selection["harm_share_0.5_margin"] >= 1e-3  # no rounding can move the 50% edge
    assert selection["area_share_0.1"] == ranked["area_code"].head(math.ceil(0.1 * len(selection["per_area"]))).tolist()
    assert 0.25 <= ranked["harm"].head(n).sum() / per_area["harm"].sum() <= 0.6  # realistic concentration
    ranking = generated.truth("ranking")
    assert ranking["area_code"].head(len(ranked)).tolist() == ranked["area_code"].tolist()
    assert ranking["rank"].tolist() == list(range(1, len(ranking) + 1))


def test_pings_files_follow_the_landing_contract(generated, pings):
    assert list(pings.columns[:6]) == ["device_id", "timestamp", "lon", "lat", "speed_kmh", "unit_type"]
    assert pings["unit_type"].isin(["vehicle", "foot"]).all()
    stamps = pd.to_datetime(pings["timestamp"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce", utc=True)
    ok = stamps.notna()
    names = pd.Series(pings["file"].unique())
    folder = names.str.extract(r"avl/(\d{4}-\d{2}-\d{2})/pings-(\d{2})\.csv")
    hour_of_file = dict(zip(names, pd.to_datetime(folder[0] + " " + folder[1], format="%Y-%m-%d %H", utc=True)))
    assert (stamps[ok].dt.floor("h") == pings.loc[ok, "file"].map(hour_of_file)).all()  # the UTC hour of its file
    local_dates = set(stamps[ok].dt.tz_convert(LONDON).dt.normalize().drop_duplicates().dt.date)
    assert local_dates == set(generated.avl_dates)
    assert (~pings["device_id"].str.startswith("AVL-B")).sum() <= 150_000  # AVL-B: the scaled background fleet
    invalid = {(r["file"], r["row"]) for r in generated.manifest["avl"]["invalid"]}
    valid = pings[[key not in invalid for key in zip(pings["file"], pings["row"])]]
    speed = pd.to_numeric(valid["speed_kmh"], errors="coerce")
    assert speed[valid["unit_type"].eq("vehicle")].notna().all()  # vehicles report speed, foot radios not on foot
    assert speed[valid["unit_type"].eq("foot")].isna().any()
    assert ((speed <= 8) | (speed >= 35) | speed.isna()).all()  # patrol <= 8 km/h, transit 40-60 km/h


def test_ping_dirt_matches_manifest(generated, pings, areas):
    avl = generated.manifest["avl"]
    county = shapely.union_all(areas[1])
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    for name, group in pings.groupby("file"):
        entry = avl["files"][name]
        assert entry["rows"] == len(group)
        assert entry["duplicates"] == int(group.drop(columns="row").duplicated().sum())
        backwards = (group["timestamp"].shift() > group["timestamp"]).any()  # ISO strings sort as times
        assert not backwards or entry["out_of_order_moves"] > 0
    reasons = {(r["file"], r["row"]): r["reason"] for r in avl["invalid"]}
    assert set(reasons.values()) == {"missing_coordinates", "bad_timestamp", "outside_force_area"}
    indexed = pings.set_index(["file", "row"])
    for key, reason in reasons.items():
        row = indexed.loc[key]
        assert avl["files"][key[0]]["rows"] >= 100  # few per file: within any `mostly` tolerance
        bad_time = pd.isna(pd.to_datetime(row["timestamp"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce"))
        no_xy = row["lon"] == "" or row["lat"] == ""
        far = not no_xy and county.distance(shapely.Point(to_bng.transform(float(row["lon"]), float(row["lat"])))) > 4e4
        expected = (reason == "bad_timestamp", reason == "missing_coordinates", reason == "outside_force_area")
        assert (bad_time, no_xy, far) == expected
    # every other row is valid and inside the county
    clean = pings.drop(index=pings.set_index(["file", "row"]).index.get_indexer(list(reasons)))
    assert pd.to_datetime(clean["timestamp"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce").notna().all()
    x, y = to_bng.transform(clean["lon"].astype(float).to_numpy(), clean["lat"].astype(float).to_numpy())
    assert shapely.contains_xy(county.buffer(50), x, y).all()
    assert 0.01 <= avl["duplicates"] / avl["rows"] <= 0.05 and avl["out_of_order_moves"] > 0


def _union(intervals):
    merged = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def _split_at_local_midnight(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with s/e timestamps cut at local midnight, with the local date of each piece."""
    wall = frame["s"].dt.tz_convert(LONDON).dt.tz_localize(None).dt.normalize() + pd.Timedelta(days=1)
    midnight = wall.dt.tz_localize(LONDON).dt.tz_convert("UTC")
    crosses = frame["e"] > midnight
    before = frame.assign(e=frame["e"].where(~crosses, midnight))
    after = frame[crosses].assign(s=midnight[crosses])
    pieces = pd.concat([before, after], ignore_index=True)
    pieces["local_date"] = pieces["s"].dt.tz_convert(LONDON).dt.strftime("%Y-%m-%d")
    return pieces


def test_patrol_truth_equals_the_visit_schedule(sample):
    visits = sample.truth("visits")
    start = pd.to_datetime(visits["start_utc"], utc=True)
    end = pd.to_datetime(visits["end_utc"], utc=True)
    pieces = _split_at_local_midnight(visits.assign(s=start, e=end))
    assert len(pieces) > len(visits)  # some visits cross local midnight
    rows = []
    for (area, day), group in pieces.groupby(["area_code", "local_date"]):
        union = _union(list(zip(group["s"], group["e"])))
        window_from = pd.Timestamp(f"{day} 14:00", tz=LONDON)
        window_to = pd.Timestamp(date.fromisoformat(day) + timedelta(days=1), tz=LONDON)
        rows.append(
            {
                "area_code": area,
                "date": day,
                "patrol_minutes": sum((e - s).total_seconds() for s, e in union) / 60,
                "officer_minutes": (group["e"] - group["s"]).dt.total_seconds().sum() / 60,
                "visits": len(union),
                "koper_visits": sum((e - s).total_seconds() >= 600 for s, e in union),
                "devices": group["device_id"].nunique(),
                "window_minutes": sum(
                    max(0.0, (min(e, window_to) - max(s, window_from)).total_seconds()) for s, e in union
                )
                / 60,
                "longest_visit_minutes": max(
                    max(0.0, (min(e, window_to) - max(s, window_from)).total_seconds()) for s, e in union
                )
                / 60,
                "tolerance_minutes": group["ping_interval_s"].sum() / 60,
            }
        )
    expected = pd.DataFrame(rows).sort_values(["date", "area_code"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(sample.truth("patrol"), expected, check_dtype=False, atol=1e-6)


def _presence_from_pings(pings: pd.DataFrame, codes, polygons) -> pd.DataFrame:
    """An independent reading of rules.md (issue 4), only for checking the generator's files."""
    frame = pings.drop(columns=["file", "row"]).drop_duplicates()
    frame["ts"] = pd.to_datetime(frame["timestamp"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce", utc=True)
    frame = frame[frame["ts"].notna() & frame["lon"].ne("")].copy()
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        frame["lon"].astype(float).to_numpy(), frame["lat"].astype(float).to_numpy()
    )
    frame["x"], frame["y"] = x, y
    frame = frame[shapely.contains_xy(shapely.union_all(polygons).buffer(5000), x, y)]
    frame = frame.sort_values(["device_id", "ts"]).reset_index(drop=True)
    t = ((frame["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    same = frame["device_id"].to_numpy()[1:] == frame["device_id"].to_numpy()[:-1]
    gap = np.where(same, t[1:] - t[:-1], 0).astype(float)
    dist = np.hypot(np.diff(frame["x"]), np.diff(frame["y"]))
    reported = pd.to_numeric(frame["speed_kmh"].iloc[:-1], errors="coerce").to_numpy()
    speed = np.where(np.isnan(reported), dist / np.maximum(gap, 1) * 3.6, reported)
    keep = same & (speed <= 25.0)
    start, end = t[:-1][keep], t[:-1][keep] + np.minimum(gap[keep], 120)
    devices = frame["device_id"].to_numpy()[:-1][keep]
    points = shapely.points(frame["x"].to_numpy()[:-1][keep], frame["y"].to_numpy()[:-1][keep])
    p_idx, a_idx = shapely.STRtree(polygons).query(points, predicate="dwithin", distance=100.0)
    intervals = pd.DataFrame(
        {
            "area_code": np.array(codes)[a_idx],
            "device": devices[p_idx],
            "s": pd.to_datetime(start[p_idx], unit="s", utc=True),
            "e": pd.to_datetime(end[p_idx], unit="s", utc=True),
        }
    )
    intervals = _split_at_local_midnight(intervals).rename(columns={"local_date": "date"})
    for column in ("s", "e"):
        intervals[column] = (intervals[column] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    rows = []
    for (area, day), group in intervals.groupby(["area_code", "date"]):
        union = _union(list(zip(group["s"], group["e"])))
        window_from = int(pd.Timestamp(f"{day} 14:00", tz=LONDON).timestamp())
        assert all(e <= window_from + 10 * 3600 for _, e in union)  # split at local midnight
        rows.append(
            {
                "area_code": area,
                "date": day,
                "patrol_minutes": sum(e - s for s, e in union) / 60,
                "officer_minutes": (group["e"] - group["s"]).sum() / 60,
                "visits": len(union),
                "koper_visits": sum(e - s >= 600 for s, e in union),
                "devices": group["device"].nunique(),
                "window_minutes": sum(max(0, e - max(s, window_from)) for s, e in union) / 60,
            }
        )
    return pd.DataFrame(rows)


def test_patrol_truth_follows_from_the_pings(generated, pings, areas):
    computed = _presence_from_pings(pings, *areas)
    truth = generated.truth("patrol")
    merged = truth.merge(computed, on=["area_code", "date"], how="outer", suffixes=("", "_pings"), indicator=True)
    assert merged["_merge"].eq("both").all(), merged[merged["_merge"] != "both"]
    for column in ("visits", "koper_visits", "devices"):
        assert (merged[column] == merged[f"{column}_pings"]).all(), column
    for column in ("patrol_minutes", "officer_minutes", "window_minutes"):
        difference = (merged[column] - merged[f"{column}_pings"]).abs()
        assert (difference <= merged["tolerance_minutes"] + 1e-6).all(), column
    # here the last ping of each visit is followed by a departure ping one interval later: exact
    assert (merged["patrol_minutes"] - merged["patrol_minutes_pings"]).abs().max() < 1e-6


def test_compliance_and_alerts_follow_the_rules(sample):
    patrol = sample.truth("patrol").set_index(["area_code", "date"])
    compliance = sample.truth("compliance")
    hotspots = sample.truth("hotspots")["area_code"].tolist()
    days = [d.isoformat() for d in sample.avl_dates]
    assert len(compliance) == len(hotspots) * len(days)
    expected_alerts = []
    for code in hotspots:
        streak, previous_under = 0, False
        for day in days:
            row = compliance[(compliance["area_code"] == code) & (compliance["date"] == day)].iloc[0]
            minutes = patrol.loc[(code, day)] if (code, day) in patrol.index else None
            delivered = 0.0 if minutes is None else minutes["window_minutes"]
            total = 0.0 if minutes is None else minutes["patrol_minutes"]
            status = "met" if delivered >= 15 else ("none" if total == 0 else "under")
            streak = streak + 1 if total == 0 else 0
            assert (row["status"], row["days_without_patrol"], row["delivered_minutes"]) == (status, streak, delivered)
            tolerance = 0.0 if minutes is None else minutes["tolerance_minutes"]
            assert status != "met" or delivered - tolerance >= 17.5  # a clear margin over the target
            assert status != "under" or delivered + tolerance <= 12.5
            if status != "met":
                expected_alerts.append(("under_target", code, day))
            if streak == 3:
                expected_alerts.append(("no_patrol", code, day))
            if status == "met" and previous_under:
                expected_alerts.append(("recovered", code, day))
            previous_under = status != "met"
    alerts = sample.truth("alerts")
    assert sorted(alerts[["rule", "area_code", "date"]].itertuples(index=False, name=None)) == sorted(expected_alerts)
    # every scenario the pipeline must handle is present
    assert set(compliance["status"]) == {"met", "under", "none"}
    assert alerts["rule"].value_counts().to_dict().keys() == {"under_target", "no_patrol", "recovered"}
    long_streak = compliance.groupby("area_code")["days_without_patrol"].max()
    assert (long_streak >= 4).any()  # a streak beyond alarm_days still alarms only once
    under_with_patrol = compliance[(compliance["status"] == "under") & (compliance["delivered_minutes"] == 0)]
    assert len(under_with_patrol)  # patrolled only outside the window
    patrol = sample.truth("patrol")
    assert (patrol["officer_minutes"] > patrol["patrol_minutes"] + 1).any()
    assert (patrol["window_minutes"] < patrol["patrol_minutes"] - 1).any()
    assert (~patrol["area_code"].isin(hotspots)).sum() > 50
    assert (patrol.loc[patrol["area_code"].isin(hotspots), "visits"] >= 2).any()


def test_settings_env_runs_the_pipeline_on_the_sample(sample, monkeypatch):
    from hotspots.settings import reload_settings

    for name, value in sample.settings_env.items():
        monkeypatch.setenv(name, value)
    try:
        settings = reload_settings()
        assert settings.data_dir == sample.out_dir
        assert settings.forces == [sample.force]
        assert settings.hotspot_count == len(sample.truth("hotspots"))
        assert settings.pseudonym_key.get_secret_value()
        assert settings.force_landing(sample.force) == sample.landing_dir / sample.force
    finally:
        monkeypatch.undo()
        reload_settings()


def test_truth_files_and_manifest(sample):
    for name in ("hotspots", "ranking", "patrol", "compliance", "alerts", "visits"):
        assert len(sample.truth(name)), name
    manifest = json.loads((sample.truth_dir / "manifest.json").read_text())
    assert manifest == sample.manifest
    assert manifest["seed"] == 7 and manifest["crime_months"] == sample.crime_months
    assert manifest["avl_dates"] == [d.isoformat() for d in sample.avl_dates]
    assert manifest["effective_from"] == "2024-05-01"
    with (sample.truth_dir / "patrol.csv").open() as handle:
        assert next(csv.reader(handle)) == [
            "area_code",
            "date",
            "patrol_minutes",
            "officer_minutes",
            "visits",
            "koper_visits",
            "devices",
            "window_minutes",
            "longest_visit_minutes",
            "tolerance_minutes",
        ]
