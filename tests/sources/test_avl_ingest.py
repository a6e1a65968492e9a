"""AVL ingest and the daily_patrol mart: the generated sample against its ground truth, pseudonyms,
idempotence, late pings, column mappings and Parquet."""

from __future__ import annotations

import json
import os
from datetime import date

import pandas as pd
import pytest
from avl_helpers import DAY, FORCE, centre, code, load_square_areas, ping_rows, write_pings

from hotspots.patrol import compute_daily_patrol
from hotspots.sources.avl import ingest_ping_file
from hotspots.validation.core import InputFileError


@pytest.fixture(scope="module")
def sample_warehouse(sample, tmp_path_factory):
    """The sample's areas and every AVL file ingested, daily_patrol computed for every touched date."""
    from hotspots.settings import reload_settings
    from hotspots.sources.areas import load_areas
    from hotspots.warehouse import apply_schema, connect

    with pytest.MonkeyPatch.context() as mp:
        for name in [
            n
            for n in os.environ
            if n.startswith("HOTSPOTS_") and n not in ("HOTSPOTS_FAIL_ON_SKIP", "HOTSPOTS_SHARED_DATA")
        ]:
            mp.delenv(name)
        mp.setenv("HOTSPOTS_DATA_DIR", str(tmp_path_factory.mktemp("avl_sample")))
        mp.setenv("HOTSPOTS_PSEUDONYM_KEY", "test-pseudonym-key-not-for-production")
        settings = reload_settings()
        con = connect(settings=settings)
        apply_schema(con, settings)
        load_areas(con, force=sample.force, path=sample.landing_dir / sample.force / "areas", settings=settings)
        counts, dates = [], set()
        for path in sorted((sample.landing_dir / sample.force / "avl").glob("*/*.csv")):
            result = ingest_ping_file(con, force=sample.force, path=path, settings=settings)
            counts.append(result)
            dates.update(date.fromisoformat(d) for d in result["local_dates"])
        compute_daily_patrol(con, force=sample.force, dates=sorted(dates), settings=settings)
        yield con, counts, settings
        con.close()
    reload_settings()


def test_sample_daily_patrol_matches_ground_truth(sample, sample_warehouse):
    con, _, _ = sample_warehouse
    got = con.execute(
        "SELECT area_code, strftime(date, '%Y-%m-%d') AS date, patrol_minutes, officer_minutes, visits, koper_visits, "
        "devices, window_minutes FROM daily_patrol WHERE force = ?",
        [sample.force],
    ).df()
    truth = sample.truth("patrol")
    merged = truth.merge(got, on=["area_code", "date"], how="outer", suffixes=("_truth", "_got"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for column in ("patrol_minutes", "officer_minutes", "window_minutes"):
        off = (merged[f"{column}_truth"] - merged[f"{column}_got"]).abs() > merged["tolerance_minutes"]
        assert not off.any(), merged.loc[off, ["area_code", "date", f"{column}_truth", f"{column}_got"]]
    for column in ("visits", "koper_visits", "devices"):
        assert (merged[f"{column}_truth"] == merged[f"{column}_got"]).all(), column
    assert len(merged) == len(truth) > 50


def test_sample_quarantine_matches_the_manifest(sample, sample_warehouse):
    con, counts, _ = sample_warehouse
    avl = sample.manifest["avl"]
    for result in counts:
        assert result["rows_read"] == result["rows_loaded"] + result["rows_quarantined"]
    assert sum(r["rows_read"] for r in counts) == avl["rows"]
    reasons = dict(
        con.execute("SELECT reason, count(*) FROM quarantine WHERE source = 'avl' GROUP BY reason").fetchall()
    )
    expected = {"duplicate_ping": avl["duplicates"]}
    for item in avl["invalid"]:
        expected[item["reason"]] = expected.get(item["reason"], 0) + 1
    assert reasons == expected
    located = {
        (r[0], r[1])
        for r in con.execute(
            "SELECT source_file, source_row FROM quarantine WHERE reason <> 'duplicate_ping'"
        ).fetchall()
    }
    assert located == {(item["file"].split("/", 1)[1], item["row"]) for item in avl["invalid"]}


def test_raw_device_ids_never_enter_the_warehouse(sample, sample_warehouse):
    con, _, settings = sample_warehouse
    from hotspots.pseudonym import device_key, pseudonym_key

    devices = sample.manifest["avl"]["devices"]
    keys = {r[0] for r in con.execute("SELECT DISTINCT device_key FROM stg_pings").fetchall()}
    assert keys == {device_key(d, pseudonym_key(settings)) for d in devices}
    raw_rows = " ".join(r[0] for r in con.execute("SELECT raw_row FROM quarantine WHERE source = 'avl'").fetchall())
    results = " ".join(r[0] for r in con.execute("SELECT results FROM validation_runs WHERE source = 'avl'").fetchall())
    for device in devices:
        assert device not in raw_rows and device not in results


def test_reingest_is_idempotent_and_a_late_file_recomputes_its_day_only(warehouse, settings, tmp_path):
    load_square_areas(warehouse)
    day1 = write_pings(tmp_path, ping_rows("AVL-1", f"{DAY}T13:00:00", 21, 60))  # 14:00-14:20 BST
    first = ingest_ping_file(warehouse, force=FORCE, path=day1, settings=settings)
    again = ingest_ping_file(warehouse, force=FORCE, path=day1, settings=settings)
    assert first == again and first["rows_loaded"] == 21 and first["local_dates"] == [DAY]
    assert warehouse.execute("SELECT count(*) FROM stg_pings").fetchone()[0] == 21
    assert warehouse.execute("SELECT count(*) FROM validation_runs").fetchone()[0] == 1
    day2 = write_pings(tmp_path, ping_rows("AVL-2", "2024-05-02T13:00:00", 11, 60, col=2), day="2024-05-02")
    ingest_ping_file(warehouse, force=FORCE, path=day2, settings=settings)
    compute_daily_patrol(warehouse, force=FORCE, dates=[date(2024, 5, 1), date(2024, 5, 2)], settings=settings)
    compute_daily_patrol(warehouse, force=FORCE, dates=[date(2024, 5, 1), date(2024, 5, 2)], settings=settings)
    table = warehouse.execute(
        "SELECT area_code, date, patrol_minutes, window_minutes, computed_at FROM daily_patrol ORDER BY date"
    ).fetchall()
    assert [(a, d.isoformat(), p, w) for a, d, p, w, _ in table] == [
        (code(1, 1), DAY, 20.0, 20.0),
        (code(2, 1), "2024-05-02", 10.0, 10.0),
    ]
    # a late file in day 2's folder with 10 more minutes for day 1 (within settings.late_days)
    late = write_pings(
        tmp_path, ping_rows("RAD-7", f"{DAY}T18:00:00", 11, 60, col=1, unit="foot"), name="late.csv", day="2024-05-02"
    )
    counts = ingest_ping_file(warehouse, force=FORCE, path=late, settings=settings)
    assert counts["local_dates"] == [DAY]
    compute_daily_patrol(
        warehouse, force=FORCE, dates=[date.fromisoformat(d) for d in counts["local_dates"]], settings=settings
    )
    after = warehouse.execute(
        "SELECT area_code, date, patrol_minutes, devices, computed_at FROM daily_patrol ORDER BY date"
    ).fetchall()
    assert (after[0][2], after[0][3]) == (30.0, 2)
    assert after[1] == (table[1][0], table[1][1], table[1][2], 1, table[1][4])  # day 2 untouched


def test_column_mapping_epoch_seconds_offsets_and_easting_northing(warehouse, settings, tmp_path):
    load_square_areas(warehouse)
    x, y = centre(0, 0)
    t0 = int(pd.Timestamp(f"{DAY}T09:00:00Z").timestamp())
    rows = [{"VehicleRef": "VAN 12", "when": str(t0 + 60 * k), "E": x, "N": y, "kmh": "3"} for k in range(6)]
    rows += [
        {"VehicleRef": "VAN 12", "when": f"{DAY}T10:{6 + k:02d}:00+01:00", "E": x, "N": y, "kmh": ""} for k in range(5)
    ]
    path = write_pings(tmp_path, rows, name="own-names.csv")
    mapping = {"device": "VehicleRef", "time": "when", "easting": "E", "northing": "N", "speed": "kmh"}
    with pytest.raises(InputFileError, match="invalid_device_id"):  # a space is not allowed in device ids
        ingest_ping_file(warehouse, force=FORCE, path=path, settings=settings, columns=mapping)
    good = [dict(r, VehicleRef="VAN-12") for r in rows]
    counts = ingest_ping_file(
        warehouse,
        force=FORCE,
        path=write_pings(tmp_path, good, name="own-names.csv"),
        settings=settings,
        columns=mapping,
    )
    assert counts["rows_loaded"] == 11
    stored = warehouse.execute(
        "SELECT min(ts_utc), max(ts_utc), count(speed_kmh), count(DISTINCT device_key) FROM stg_pings"
    ).fetchone()
    assert [str(v) for v in stored] == [f"{DAY} 09:00:00", f"{DAY} 09:10:00", "6", "1"]


def test_parquet_drop_with_typed_columns(warehouse, settings, tmp_path):
    load_square_areas(warehouse)
    frame = pd.DataFrame(ping_rows("AVL-3", f"{DAY}T08:00:00", 10, 30))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["lon"], frame["lat"] = frame["lon"].astype(float), frame["lat"].astype(float)
    path = tmp_path / "avl" / DAY / "pings.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path)
    counts = ingest_ping_file(warehouse, force=FORCE, path=path, settings=settings)
    assert (counts["rows_loaded"], counts["rows_quarantined"]) == (10, 0)
    east, north = warehouse.execute("SELECT avg(easting), avg(northing) FROM stg_pings").fetchone()
    assert (east, north) == pytest.approx(centre(1, 1), abs=0.01)
    assert (
        json.loads(warehouse.execute("SELECT results FROM validation_runs").fetchone()[0])[0]["reason"]
        == "invalid_device_id"
    )
