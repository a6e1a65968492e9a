"""The real Bedfordshire samples (../shared/data): 381 LSOAs and three months of street crime, with figures
checked by an independent computation (pandas counts, geopandas point in polygon)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from hotspots.sources.areas import load_areas
from hotspots.sources.police_uk import crime_files, ingest_crime_file


def test_bedfordshire_lsoas_and_three_months(shared_data, warehouse, settings):
    areas = load_areas(warehouse, force="bedfordshire", path=shared_data / "lsoa-2011", settings=settings)
    assert areas["rows_loaded"] == 381 and areas["rows_quarantined"] == 0
    km2 = warehouse.execute("SELECT sum(area_m2) / 1e6 FROM stg_areas").fetchone()[0]
    assert 1200 < km2 < 1270  # Bedfordshire is about 1,235 km2

    files = crime_files(shared_data / "police-uk", force="bedfordshire")
    assert [f.name[:7] for f in files] == ["2024-02", "2024-03", "2024-04"]
    lsoas = gpd.GeoDataFrame(pd.concat([gpd.read_file(p) for p in sorted((shared_data / "lsoa-2011").glob("*.json"))]))
    for path in files:
        counts = ingest_crime_file(warehouse, force="bedfordshire", path=path, settings=settings)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert counts["rows_read"] == len(raw) == counts["rows_loaded"] + counts["rows_quarantined"]
        no_coords = int(((raw["Longitude"] == "") | (raw["Latitude"] == "")).sum())
        assert counts["quarantined_by_reason"]["missing_coordinates"] == no_coords
        assert 0 < counts["quarantined_by_reason"].get("outside_force_area", 0) < 0.02 * len(raw)
        assert set(counts["quarantined_by_reason"]) <= {"missing_coordinates", "outside_force_area"}

    # Independent placement for one month: geopandas point in polygon in EPSG:27700.
    raw = pd.read_csv(files[0], dtype=str, keep_default_na=False)
    raw = raw[(raw["Longitude"] != "") & (raw["Latitude"] != "")]
    points = gpd.GeoDataFrame(
        raw, geometry=gpd.points_from_xy(raw["Longitude"].astype(float), raw["Latitude"].astype(float)), crs="EPSG:4326"
    ).to_crs(27700)
    joined = gpd.sjoin(points, lsoas.to_crs(27700)[["LSOA11CD", "geometry"]], predicate="within", how="inner")
    expected = joined["LSOA11CD"].value_counts()
    loaded = dict(
        warehouse.execute(
            "SELECT area_code, count(*) FROM stg_crimes WHERE source_file = ? AND area_code IS NOT NULL GROUP BY 1",
            [files[0].name],
        ).fetchall()
    )
    busiest = expected.index[0]
    assert loaded[busiest] == expected[busiest] > 20
    assert sum(loaded.values()) == pytest.approx(len(joined), abs=3)  # boundary points may differ by a few
    differing = sum(1 for code, n in expected.items() if loaded.get(code) != n)
    assert differing <= 3
    total = warehouse.execute("SELECT count(*), count(area_code) FROM stg_crimes").fetchone()
    assert total[0] > 14_000 and total[0] - total[1] < 100  # few loaded points outside every LSOA


FINAL, PENDING, NONE = "Unable to prosecute suspect", "Under investigation", "Status update unavailable"


def _bedfordshire_lsoas(shared_data) -> gpd.GeoDataFrame:
    frames = [gpd.read_file(p) for p in sorted((shared_data / "lsoa-2011").glob("*.json"))]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs).to_crs(27700)


def test_repeated_crime_ids_load_once_with_the_most_advanced_outcome(shared_data, warehouse, settings, tmp_path):
    """A real month with planted repeats (about 4.5% of rows, as in Bedfordshire 2022-01): exact copies, a final
    outcome published before a pending one, a pending one after a final one, three pending copies. The month
    loads, each Crime ID is stored once from the copy docs/data_formats.md names, the others are quarantined as
    duplicate_crime_id; every other row is treated as in the unmodified file."""
    load_areas(warehouse, force="bedfordshire", path=shared_data / "lsoa-2011", settings=settings)
    real = shared_data / "police-uk" / "2024-03-bedfordshire-street.csv"
    before = ingest_crime_file(warehouse, force="bedfordshire", path=real, settings=settings)
    clean = [
        r[0]
        for r in warehouse.execute(
            "SELECT crime_key FROM stg_crimes WHERE crime_key NOT LIKE 'h:%' ORDER BY source_row"
        ).fetchall()
    ]
    rows = pd.read_csv(real, dtype=str, keep_default_na=False).to_dict("records")
    rng = np.random.default_rng(12)
    chosen = set(rng.choice(clean, 190, replace=False).tolist())
    entries = []  # (sort key, row, crime id or None, role: 'keep' | 'copy' | None)
    plans = {}
    for i, row in enumerate(rows):
        cid = row["Crime ID"] if row["Crime ID"] in chosen else None
        if cid is None:
            entries.append((float(i), row, None, None))
            continue
        kind = len(plans) % 4
        plans[cid] = kind
        later = lambda: rng.uniform(i + 0.01, len(rows))  # noqa: E731
        if kind == 0:  # exact copy later in the file: the last copy is kept
            entries += [(float(i), row, cid, "copy"), (later(), dict(row), cid, "keep")]
        elif kind == 1:  # final outcome published earlier than the pending one: the final one is kept
            entries += [
                (float(i), row | {"Last outcome category": PENDING}, cid, "copy"),
                (rng.uniform(-1, i - 0.01), row | {"Last outcome category": FINAL}, cid, "keep"),
            ]
        elif kind == 2:  # an outcome that says nothing, later: the final outcome is kept
            entries += [
                (float(i), row | {"Last outcome category": FINAL}, cid, "keep"),
                (later(), row | {"Last outcome category": NONE}, cid, "copy"),
            ]
        else:  # three pending copies (same rank): the last one is kept
            k1 = later()
            entries += [
                (float(i), row | {"Last outcome category": PENDING}, cid, "copy"),
                (k1, row | {"Last outcome category": "Awaiting court outcome"}, cid, "copy"),
                (rng.uniform(k1 + 0.001, len(rows) + 1), row | {"Last outcome category": PENDING}, cid, "keep"),
            ]
    entries.sort(key=lambda e: e[0])
    planted = pd.DataFrame([e[1] for e in entries])
    path = tmp_path / real.name
    planted.to_csv(path, index=False)
    roles = pd.DataFrame(
        {
            "crime_id": [e[2] for e in entries],
            "role": [e[3] for e in entries],
            "source_row": np.arange(1, len(entries) + 1),
        }
    )
    kept = roles[roles["role"] == "keep"].set_index("crime_id")["source_row"]
    copies = set(roles.loc[roles["role"] == "copy", "source_row"])
    assert 0.04 < len(copies) / len(planted) < 0.05 and len(kept) == 190

    counts = ingest_crime_file(warehouse, force="bedfordshire", path=path, settings=settings)
    assert counts["rows_read"] == len(planted) == before["rows_read"] + len(copies)
    assert counts["quarantined_by_reason"] == before["quarantined_by_reason"] | {"duplicate_crime_id": len(copies)}
    assert counts["rows_loaded"] == before["rows_loaded"]
    stored = pd.DataFrame(
        warehouse.execute("SELECT crime_key, source_row FROM stg_crimes WHERE source_file = ?", [path.name]).fetchall(),
        columns=["crime_key", "source_row"],
    )
    assert stored["crime_key"].is_unique
    assert stored.set_index("crime_key").loc[kept.index, "source_row"].to_dict() == kept.to_dict()
    assert set(stored["crime_key"]) == set(clean) | set(
        r[0] for r in warehouse.execute("SELECT crime_key FROM stg_crimes WHERE crime_key LIKE 'h:%'").fetchall()
    )
    duplicates = warehouse.execute(
        "SELECT source_row, reason FROM quarantine WHERE source_file = ? AND reason LIKE '%duplicate%'", [path.name]
    ).fetchall()
    assert {r for r, _ in duplicates} == copies and {reason for _, reason in duplicates} == {"duplicate_crime_id"}
    quarantined_ids = warehouse.execute(
        "SELECT DISTINCT raw_row->>'Crime ID' FROM quarantine WHERE source_file = ? AND reason = 'duplicate_crime_id'",
        [path.name],
    ).fetchall()
    assert {r[0] for r in quarantined_ids} == set(kept.index)


def test_street_file_of_several_row_groups_keeps_every_crime_at_its_own_point(
    shared_data, warehouse, settings, tmp_path
):
    """300,000 rows (more than two DuckDB row groups of 122,880) from a real month: its crimes with coordinates
    inside Bedfordshire, repeated with new Crime IDs and coordinates shifted by a known step, plus planted bad rows.
    Every stored crime has, joined by Crime ID, the easting/northing pyproj gives for its own coordinates and the
    LSOA geopandas finds for them; the quarantine holds exactly the planted rows."""
    load_areas(warehouse, force="bedfordshire", path=shared_data / "lsoa-2011", settings=settings)
    lsoas = _bedfordshire_lsoas(shared_data)
    real = pd.read_csv(shared_data / "police-uk" / "2024-02-bedfordshire-street.csv", dtype=str, keep_default_na=False)
    real = real[(real["Crime ID"] != "") & (real["Longitude"] != "")].reset_index(drop=True)
    points = gpd.GeoDataFrame(
        real, geometry=gpd.points_from_xy(real["Longitude"].astype(float), real["Latitude"].astype(float)), crs=4326
    ).to_crs(27700)
    inside = gpd.sjoin(points, lsoas[["LSOA11CD", "geometry"]], predicate="within", how="inner").index.unique()
    base = real.loc[np.sort(inside)].reset_index(drop=True)
    n = 300_000
    take = np.arange(n) % len(base)
    step = np.arange(n) // len(base)  # copy k is shifted by k * 2e-5 degrees east and north (about 1.4 m and 2.2 m)
    frame = base.iloc[take].reset_index(drop=True)
    lon = frame["Longitude"].astype(float).to_numpy() + step * 2e-5
    lat = frame["Latitude"].astype(float).to_numpy() + step * 2e-5
    frame["Crime ID"] = [f"{i:08d}{cid[8:]}" for i, cid in enumerate(frame["Crime ID"])]
    frame["Longitude"], frame["Latitude"] = [f"{v:.6f}" for v in lon], [f"{v:.6f}" for v in lat]
    i = np.arange(n)
    missing = i % 211 == 5
    swapped = (i % 503 == 7) & ~missing
    far = (i % 701 == 9) & ~missing & ~swapped
    frame.loc[missing, ["Longitude", "Latitude"]] = ""
    frame.loc[swapped, ["Longitude", "Latitude"]] = frame.loc[swapped, ["Latitude", "Longitude"]].to_numpy()
    frame.loc[far, ["Longitude", "Latitude"]] = ["-0.127800", "51.507400"]  # London, 30 km south of the county
    repeat = np.flatnonzero((i % 397 == 11) & ~missing & ~swapped & ~far)
    copies = frame.iloc[repeat].copy()
    frame = pd.concat([frame, copies], ignore_index=True)  # the later copy is kept, the first one quarantined
    path = tmp_path / "2024-02-bedfordshire-street.csv"
    frame.to_csv(path, index=False)

    counts = ingest_crime_file(warehouse, force="bedfordshire", path=path, settings=settings)
    bad = {"missing_coordinates": missing, "lat_lon_swapped": swapped, "outside_force_area": far}
    expected_reasons = {reason: int(mask.sum()) for reason, mask in bad.items()} | {"duplicate_crime_id": len(repeat)}
    assert counts["rows_read"] == len(frame) and counts["quarantined_by_reason"] == expected_reasons
    quarantined = pd.DataFrame(
        warehouse.execute("SELECT source_row, reason FROM quarantine").fetchall(), columns=["source_row", "reason"]
    )
    expected_rows = {(int(r) + 1, reason) for reason, mask in bad.items() for r in np.flatnonzero(mask)}
    expected_rows |= {(int(r) + 1, "duplicate_crime_id") for r in repeat}
    assert set(zip(quarantined["source_row"], quarantined["reason"])) == expected_rows

    good = frame.iloc[:n][~(missing | swapped | far)]
    truth = gpd.GeoDataFrame(
        good[["Crime ID"]],
        geometry=gpd.points_from_xy(good["Longitude"].astype(float), good["Latitude"].astype(float)),
        crs=4326,
    ).to_crs(27700)
    truth["easting"], truth["northing"] = truth.geometry.x, truth.geometry.y
    placed = gpd.sjoin(truth, lsoas[["LSOA11CD", "geometry"]], predicate="within", how="left")
    placed = placed[~placed.index.duplicated()].set_index("Crime ID")
    stored = pd.DataFrame(
        warehouse.execute("SELECT crime_key, source_row, easting, northing, area_code FROM stg_crimes").fetchall(),
        columns=["crime_key", "source_row", "easting", "northing", "area_code"],
    ).set_index("crime_key")
    assert len(stored) == len(good) and stored.index.is_unique and set(stored.index) == set(placed.index)
    stored = stored.loc[placed.index]
    assert np.abs(stored["easting"].to_numpy() - placed["easting"].to_numpy()).max() < 0.01
    assert np.abs(stored["northing"].to_numpy() - placed["northing"].to_numpy()).max() < 0.01
    assert (stored["area_code"].fillna("-").to_numpy() == placed["LSOA11CD"].fillna("-").to_numpy()).all()
    later = {n + k + 1 for k in range(len(repeat))}
    assert set(stored.loc[frame.iloc[repeat]["Crime ID"], "source_row"]) == later
