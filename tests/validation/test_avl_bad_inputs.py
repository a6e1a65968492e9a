"""Bad ping files and their expected outcome: rejected whole (InputFileError naming file, column and fix) or
the bad rows quarantined with their reason; never silently dropped (rows read = loaded + quarantined)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from avl_helpers import DAY, FORCE, STRUCTURAL_FAULTS, load_square_areas, ping_rows, write_pings

from hotspots.pseudonym import MissingPseudonymKey
from hotspots.sources.avl import ingest_ping_file, parse_columns
from hotspots.validation.core import InputFileError


@pytest.fixture
def con(warehouse):
    load_square_areas(warehouse)
    return warehouse


def good(n: int = 60, device: str = "AVL-1") -> list[dict]:
    return ping_rows(device, f"{DAY}T10:00:00", n, 30)


def ingest(con, settings, path, **kw) -> dict:
    counts = ingest_ping_file(con, force=FORCE, path=path, settings=settings, **kw)
    assert counts["rows_read"] == counts["rows_loaded"] + counts["rows_quarantined"]
    assert (
        con.execute("SELECT count(*) FROM stg_pings WHERE source_file = ?", [counts["source_file"]]).fetchone()[0]
        == counts["rows_loaded"]
    )
    return counts


def quarantined(con) -> list[tuple[int, str]]:
    return con.execute("SELECT source_row, reason FROM quarantine WHERE source = 'avl' ORDER BY source_row").fetchall()


def nothing_loaded(con) -> bool:
    return con.execute("SELECT count(*) FROM stg_pings").fetchone()[0] == 0


@pytest.mark.parametrize("name,text,match", STRUCTURAL_FAULTS)
def test_structural_faults_reject_the_file(con, settings, tmp_path, name, text, match):
    path = tmp_path / "avl" / DAY / name
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(InputFileError, match=match) as info:
        ingest_ping_file(con, force=FORCE, path=path, settings=settings)
    assert str(path) in str(info.value)
    assert nothing_loaded(con)


def test_corrupt_parquet_is_rejected(con, settings, tmp_path):
    path = tmp_path / "avl" / DAY / "pings.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputFileError, match="Parquet"):
        ingest_ping_file(con, force=FORCE, path=path, settings=settings)


def test_unknown_column_mapping_name():
    with pytest.raises(ValueError, match="unknown names"):
        parse_columns("device=vehicle,clock=ts")
    with pytest.raises(ValueError, match="name=column"):
        parse_columns("device")


def test_missing_pseudonym_key_loads_nothing(con, settings, tmp_path, monkeypatch):
    from hotspots.settings import reload_settings

    monkeypatch.delenv("HOTSPOTS_PSEUDONYM_KEY")
    with pytest.raises(MissingPseudonymKey):
        ingest_ping_file(con, force=FORCE, path=write_pings(tmp_path, good()), settings=reload_settings())
    assert nothing_loaded(con)


def test_no_areas_loaded_for_the_force(warehouse, settings, tmp_path):
    with pytest.raises(RuntimeError, match="No areas loaded"):
        ingest_ping_file(warehouse, force=FORCE, path=write_pings(tmp_path, good()), settings=settings)


def test_row_faults_are_quarantined_with_their_reason(con, settings, tmp_path):
    rows = good(100)
    rows[3]["timestamp"] = "2024-05-01T25:61:00Z"  # row 4
    rows[10]["timestamp"] = "2024-04-20T10:00:00Z"  # row 11: before the late-arrival window
    rows[20]["lon"], rows[20]["lat"] = "", ""  # row 21
    rows[30]["lon"], rows[30]["lat"] = rows[30]["lat"], rows[30]["lon"]  # row 31: lat/lon swapped -> far away
    rows[40]["speed_kmh"] = "-5"  # row 41
    rows[50]["unit_type"] = "bicycle"  # row 51
    rows[60]["device_id"] = " "  # row 61
    lon = float(rows[70]["lon"])
    rows[70]["lon"] = f"{lon + 0.05:.7f}"  # row 71: 3.4 km in 30 s and back: a spike
    rows.insert(80, dict(rows[79]))  # row 81: exact duplicate of row 80
    counts = ingest(con, settings, write_pings(tmp_path, rows))
    expected = [
        (4, "bad_timestamp"),
        (11, "timestamp_outside_window"),
        (21, "missing_coordinates"),
        (31, "outside_force_area"),
        (41, "invalid_speed"),
        (51, "invalid_unit_type"),
        (61, "invalid_device_id"),
        (71, "impossible_jump"),
        (81, "duplicate_ping"),
    ]
    assert quarantined(con) == expected
    assert counts["rows_loaded"] == 101 - len(expected)
    raw = json.loads(con.execute("SELECT raw_row FROM quarantine WHERE source_row = 81").fetchone()[0])
    assert raw["device_key"] != "AVL-1" and len(raw["device_key"]) == 16 and raw["time"] == rows[80]["timestamp"]


def test_too_many_bad_timestamps_reject_the_file(con, settings, tmp_path):
    rows = good(20)
    for r in rows[:5]:
        r["timestamp"] = "yesterday"
    with pytest.raises(InputFileError, match="bad_timestamp.*timestamp"):
        ingest_ping_file(con, force=FORCE, path=write_pings(tmp_path, rows), settings=settings)
    assert nothing_loaded(con) and quarantined(con) == []


def test_file_in_the_wrong_day_folder_is_rejected(con, settings, tmp_path):
    path = write_pings(tmp_path, good(), day="2024-06-30")
    with pytest.raises(InputFileError, match="timestamp_outside_window"):
        ingest_ping_file(con, force=FORCE, path=path, settings=settings)


def test_late_pings_inside_the_window_are_loaded(con, settings, tmp_path):
    rows = ping_rows("AVL-9", "2024-04-29T10:00:00", 10, 30)  # two days before the folder's day: settings.late_days = 2
    counts = ingest(con, settings, write_pings(tmp_path, rows))
    assert counts["rows_loaded"] == 10 and counts["local_dates"] == ["2024-04-29"]


def test_a_teleporting_device_is_kept_after_the_jump_when_consistent(con, settings, tmp_path):
    rows = good(20)
    for r in rows[10:]:  # signal regained 3 km away and stays there: one relocation, not twenty glitches
        r["lon"] = f"{float(r['lon']) + 0.045:.7f}"
    counts = ingest(con, settings, write_pings(tmp_path, rows))
    assert counts["rows_quarantined"] == 0


def test_duplicates_beyond_tolerance_reject_the_file(con, settings, tmp_path):
    rows = good(20)
    with pytest.raises(InputFileError, match="duplicate_ping"):
        ingest_ping_file(con, force=FORCE, path=write_pings(tmp_path, rows + rows[:5]), settings=settings)


def test_epoch_milliseconds_are_a_bad_timestamp_not_year_56302(con, settings, tmp_path):
    rows = good(40)
    rows[0]["timestamp"] = str(int(pd.Timestamp(f"{DAY}T10:00:00Z").timestamp() * 1000))
    ingest(con, settings, write_pings(tmp_path, rows))
    assert quarantined(con) == [(1, "bad_timestamp")]


def test_sensor_speed_limit_is_the_setting(con, settings, tmp_path):
    """A speed of 120 km/h loads under the default limit (300) and is quarantined with ping_max_speed_kmh=100."""
    rows = good(60)
    rows[10]["speed_kmh"] = "120"
    assert ingest(con, settings, write_pings(tmp_path, rows))["rows_quarantined"] == 0
    strict = settings.model_copy(update={"ping_max_speed_kmh": 100.0})
    ingest(con, strict, write_pings(tmp_path, rows, name="pings-11.csv"))
    assert [reason for _, reason in quarantined(con)] == ["invalid_speed"]
