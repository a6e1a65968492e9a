"""Ping files several DuckDB row groups long (300,000 rows), with ground truth by construction: each device
walks a straight line at constant speed over the 4 x 4 km test squares, so the true easting/northing of every
ping follows from its device and time. Faults are planted at known rows. Stored pings must sit on their line
(within PROJ's round trip), carry their own speed, and exactly the planted rows must be quarantined."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest
from avl_helpers import DAY, FORCE, load_square_areas
from sources_fixtures import SIZE, TO_WGS84, X0, Y0

from hotspots.pseudonym import device_key, pseudonym_key
from hotspots.sources.avl import ingest_ping_file

DEVICES, PINGS, STEP_S = 100, 3000, 10  # 300,000 rows; a device pings every 10 s from 06:00 UTC
T0 = int(datetime.fromisoformat(f"{DAY}T06:00:00").replace(tzinfo=timezone.utc).timestamp())
# planted rows: 1-based row in the file -> reason (spread over the row groups, never a device's first or last ping)
PLANTED = {
    1_503: "invalid_device_id",
    130_007: "invalid_device_id",
    2_611: "bad_timestamp",
    140_215: "bad_timestamp",
    3_702: "timestamp_outside_window",
    250_418: "timestamp_outside_window",
    4_805: "missing_coordinates",
    123_001: "missing_coordinates",
    5_909: "outside_force_area",
    260_123: "outside_force_area",
    7_013: "invalid_speed",
    200_517: "invalid_speed",
    8_117: "invalid_unit_type",
    245_763: "invalid_unit_type",
    9_221: "impossible_jump",
    170_335: "impossible_jump",
    290_001: "impossible_jump",
}
DUPLICATES = (150_000, 280_000)  # a copy of the row before each is inserted here: duplicate_ping


def lines() -> pd.DataFrame:
    """Every ping in time order (row k = ping k // DEVICES of device k % DEVICES) with its true position."""
    rng = np.random.default_rng(12)
    start = rng.uniform(0.1, 0.9, (DEVICES, 2)) * 4 * SIZE + (X0, Y0)
    heading = rng.uniform(0, 2 * np.pi, DEVICES)
    speed = rng.uniform(0.02, 0.1, DEVICES)  # m/s: at most 3 km over the 8.3 hours, inside the 4 km squares' box
    k = np.arange(DEVICES * PINGS)
    dev, step = k % DEVICES, k // DEVICES
    dist = speed[dev] * step * STEP_S
    x = start[dev, 0] + np.cos(heading[dev]) * dist
    y = start[dev, 1] + np.sin(heading[dev]) * dist
    return pd.DataFrame(
        {
            "device": [f"AVL-{d:03d}" for d in dev],
            "t": T0 + step * STEP_S,
            "x": x,
            "y": y,
            "speed": (dev % 50).astype(float),
        }
    )


def text_rows(truth: pd.DataFrame) -> pd.DataFrame:
    """The pings as a CSV drop would carry them (9 decimals: 0.1 mm), faults planted, duplicates inserted."""
    lon, lat = TO_WGS84.transform(truth["x"].to_numpy(), truth["y"].to_numpy())
    rows = pd.DataFrame(
        {
            "device_id": truth["device"],
            "timestamp": pd.to_datetime(truth["t"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lon": [f"{v:.9f}" for v in lon],
            "lat": [f"{v:.9f}" for v in lat],
            "speed_kmh": truth["speed"].map("{:.1f}".format),
            "unit_type": "vehicle",
        }
    )
    rows = rows.astype(object)
    for row in sorted(DUPLICATES):  # in file order, so each number counts the copies before it
        rows = pd.concat(
            [rows.iloc[: row - 1], rows.iloc[[row - 1 - DEVICES]], rows.iloc[row - 1 :]], ignore_index=True
        )
    for row, reason in PLANTED.items():
        i = row - 1
        if reason == "invalid_device_id":
            rows.at[i, "device_id"] = "AVL 7"
        elif reason == "bad_timestamp":
            rows.at[i, "timestamp"] = f"{DAY}T25:61:00Z"
        elif reason == "timestamp_outside_window":
            rows.at[i, "timestamp"] = "2024-04-20T10:00:00Z"
        elif reason == "missing_coordinates":
            rows.at[i, "lon"] = ""
        elif reason == "outside_force_area":
            rows.at[i, "lon"], rows.at[i, "lat"] = rows.at[i, "lat"], rows.at[i, "lon"]
        elif reason == "invalid_speed":
            rows.at[i, "speed_kmh"] = "-5"
        elif reason == "invalid_unit_type":
            rows.at[i, "unit_type"] = "bicycle"
        elif reason == "impossible_jump":
            rows.at[i, "lon"] = f"{float(rows.at[i, 'lon']) + 0.05:.9f}"  # 3.4 km away for one ping, 10 s each way
    return rows


def planted_with_duplicates() -> dict[int, str]:
    """PLANTED rows (numbered after the duplicates were inserted) and the duplicates themselves."""
    return {**PLANTED, **{row: "duplicate_ping" for row in DUPLICATES}}


def test_planted_rows_and_positions_in_a_file_of_several_row_groups(warehouse, settings, tmp_path):
    assert not set(PLANTED) & set(DUPLICATES)
    load_square_areas(warehouse)
    truth = lines()
    rows = text_rows(truth)
    path = tmp_path / "avl" / DAY / "pings-big.csv"
    path.parent.mkdir(parents=True)
    rows.to_csv(path, index=False)
    counts = ingest_ping_file(warehouse, force=FORCE, path=path, settings=settings)

    expected = planted_with_duplicates()
    got = dict(warehouse.execute("SELECT source_row, reason FROM quarantine WHERE source = 'avl'").fetchall())
    assert got == expected
    by_reason = pd.Series(expected).value_counts().sort_index().to_dict()
    assert counts["quarantined_by_reason"] == by_reason
    assert (counts["rows_read"], counts["rows_loaded"]) == (len(rows), len(rows) - len(expected))

    key = pseudonym_key(settings)
    truth["device_key"] = [device_key(d, key) for d in truth["device"]]
    stored = warehouse.execute(
        "SELECT device_key, CAST(epoch(ts_utc) AS BIGINT) AS t, easting, northing, speed_kmh, local_date FROM stg_pings"
    ).df()
    merged = stored.merge(truth, on=["device_key", "t"], how="left", validate="one_to_one")
    assert merged["x"].notna().all() and len(merged) == counts["rows_loaded"]
    # no stored ping moved off its line (PROJ's WGS84 -> BNG -> WGS84 round trip alone differs by ~1 mm; one row
    # out of place would move a ping by a metre along its line, or by kilometres to another device's)
    moved = np.hypot(merged["easting"] - merged["x"], merged["northing"] - merged["y"])
    assert moved.max() < 0.003, merged.loc[moved.idxmax()]
    assert (merged["speed_kmh"] == merged["speed"]).all()
    assert set(merged["local_date"].astype(str)) == {DAY}
    # and each agrees within a millimetre with DuckDB's ST_Transform of its own lon/lat text (the method used
    # before), joined on device and time
    text = rows.drop(index=[r - 1 for r in expected]).assign(
        device_key=lambda f: [device_key(d, key) for d in f["device_id"]],
        t=lambda f: (pd.to_datetime(f["timestamp"]) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1),
        lon=lambda f: f["lon"].astype(float),
        lat=lambda f: f["lat"].astype(float),
    )[["device_key", "t", "lon", "lat"]]
    warehouse.register("written", text)
    worst = warehouse.execute(
        """SELECT max(greatest(abs(s.easting - ST_X(p)), abs(s.northing - ST_Y(p)))), count(*) FROM (
               SELECT device_key, t, ST_Transform(ST_Point(lon, lat), 'EPSG:4326', 'EPSG:27700', always_xy := true) AS p
               FROM written) w
           JOIN stg_pings s ON s.device_key = w.device_key AND CAST(epoch(s.ts_utc) AS BIGINT) = w.t"""
    ).fetchone()
    assert worst[1] == counts["rows_loaded"] and worst[0] < 0.001


def test_pq_drop_of_several_row_groups_through_the_dag_step(settings, tmp_path):
    """A typed Parquet drop named .pq in the landing folder is ingested by pipeline.ingest_avl (it was skipped)."""
    from hotspots.pipeline import ingest_avl
    from hotspots.warehouse import apply_schema, connect

    con = connect(settings=settings)
    apply_schema(con, settings)
    load_square_areas(con)
    con.close()
    truth = lines()
    lon, lat = TO_WGS84.transform(truth["x"].to_numpy(), truth["y"].to_numpy())
    frame = pd.DataFrame(
        {
            "device_id": truth["device"],
            "timestamp": pd.to_datetime(truth["t"], unit="s", utc=True),
            "lon": lon,
            "lat": lat,
            "speed_kmh": truth["speed"],
        }
    )
    missing, swapped = 140_001, 250_001
    frame.loc[missing - 1, "lon"] = np.nan
    frame.loc[swapped - 1, ["lon", "lat"]] = frame.loc[swapped - 1, ["lat", "lon"]].to_numpy()
    folder = settings.force_landing(FORCE) / "avl" / DAY
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "pings.pq", row_group_size=50_000)

    result = ingest_avl(FORCE, date.fromisoformat(DAY), settings)
    assert result["rows_read"] == len(frame) and result["rows_loaded"] == len(frame) - 2
    assert result["quarantined_by_reason"] == {"missing_coordinates": 1, "outside_force_area": 1}
    con = connect(settings=settings)
    try:
        assert dict(con.execute("SELECT source_row, reason FROM quarantine").fetchall()) == {
            missing: "missing_coordinates",
            swapped: "outside_force_area",
        }
        stored = con.execute(
            "SELECT device_key, CAST(epoch(ts_utc) AS BIGINT) AS t, easting, northing FROM stg_pings"
        ).df()
    finally:
        con.close()
    key = pseudonym_key(settings)
    truth["device_key"] = [device_key(d, key) for d in truth["device"]]
    merged = stored.merge(truth, on=["device_key", "t"], validate="one_to_one")
    assert len(merged) == len(stored) == len(frame) - 2
    assert np.hypot(merged["easting"] - merged["x"], merged["northing"] - merged["y"]).max() < 0.003
    assert result["dates"] == [DAY]


@pytest.mark.parametrize("suffix", [".pq", ".parquet", ".csv"])
def test_the_dag_step_lists_every_ping_suffix(settings, suffix):
    from hotspots.pipeline import ping_files_for_day

    folder = settings.force_landing(FORCE) / "avl" / DAY
    folder.mkdir(parents=True)
    (folder / f"pings{suffix}").write_bytes(b"")
    (folder / "notes.txt").write_text("not a drop")
    assert [p.name for p in ping_files_for_day(FORCE, date.fromisoformat(DAY), settings)] == [f"pings{suffix}"]
