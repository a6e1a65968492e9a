"""Retention on hand-made files and rows of known ages: what is older than its limit goes, nothing younger is
touched, the daily aggregates stay, and every rule leaves its retention_runs row. Run through `hotspots run
retention` (the DAG's steps)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.settings import reload_settings
from hotspots.warehouse import connect, open_warehouse

TODAY = date(2024, 5, 20)
FORCE = "synthetic"


@pytest.fixture
def aged(settings, monkeypatch):
    """raw 7 days (cutoff 2024-05-13), pings 30 days (cutoff 2024-04-20), quarantine 10 days (cutoff 2024-05-10)."""
    monkeypatch.setenv("HOTSPOTS_FORCES", FORCE)
    monkeypatch.setenv("HOTSPOTS_RAW_PING_RETENTION_DAYS", "7")
    monkeypatch.setenv("HOTSPOTS_PING_RETENTION_DAYS", "30")
    monkeypatch.setenv("HOTSPOTS_QUARANTINE_RETENTION_DAYS", "10")
    settings = reload_settings()
    landing, raw = settings.force_landing(FORCE) / "avl", settings.force_raw(FORCE) / "avl"
    for day in ("2024-05-11", "2024-05-12", "2024-05-13", "2024-05-19"):
        for folder in (landing / day, raw / f"date={day}"):
            folder.mkdir(parents=True)
            (folder / "pings_00.csv").write_text("device_id,ts\nRAW-ID-1,2024\n")
            (folder / "pings_01.csv").write_text("device_id,ts\nRAW-ID-2,2024\n")
    (landing / "notes").mkdir()
    (landing / "notes" / "readme.txt").write_text("not a day folder")
    crime = settings.force_raw(FORCE) / "crime" / "month=2023-01"
    crime.mkdir(parents=True)
    (crime / "2023-01-synthetic-street.csv").write_text("old public crime data")
    pings = [  # (device, local date): 2024-04-19 is one day past the 30-day limit, 2024-04-20 is on it
        ("dev-a", "2024-04-18"),
        ("dev-a", "2024-04-19"),
        ("dev-b", "2024-04-19"),
        ("dev-b", "2024-04-19"),
        ("dev-a", "2024-04-20"),
        ("dev-c", "2024-05-19"),
    ]
    quarantined = ["2024-05-09 23:59:59", "2024-05-10 00:00:00", "2024-05-19 12:00:00"]
    with open_warehouse(settings) as con:
        for n, (device, day) in enumerate(pings):
            con.execute(
                "INSERT INTO stg_pings VALUES "
                "(?, ?, ?::TIMESTAMP + INTERVAL (?) SECOND, ?, 0, 0, NULL, NULL, 'f', NULL)",
                [FORCE, device, f"{day} 12:00:00", n, day],
            )
        con.execute(
            "INSERT INTO daily_patrol VALUES (?, 'E01', DATE '2024-04-19', 12.5, 20.0, 2, 1, 2, 12.5, 12.5, NULL)",
            [FORCE],
        )
        for n, at in enumerate(quarantined):
            con.execute("INSERT INTO quarantine VALUES (?, 'avl', 'f', ?, 'bad_speed', '{}', ?)", [FORCE, n + 1, at])
    return settings


def _rows(settings, sql):
    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _run(day: date = TODAY) -> dict:
    result = CliRunner().invoke(app, ["run", "retention", "--day", day.isoformat(), "--json"])
    assert result.exit_code == 0, result.output[-3000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_raw_ping_files_older_than_the_limit_are_deleted_younger_ones_untouched(aged):
    _run()
    landing, raw = aged.force_landing(FORCE) / "avl", aged.force_raw(FORCE) / "avl"
    assert sorted(p.name for p in landing.iterdir()) == ["2024-05-13", "2024-05-19", "notes"]
    assert sorted(p.name for p in raw.iterdir()) == ["date=2024-05-13", "date=2024-05-19"]
    assert all(len(list(folder.iterdir())) == 2 for folder in raw.iterdir()), "kept folders keep every file"
    assert (aged.force_raw(FORCE) / "crime" / "month=2023-01" / "2023-01-synthetic-street.csv").is_file()


def test_pings_past_the_limit_go_their_daily_aggregates_stay(aged):
    _run()
    kept = _rows(aged, "SELECT device_key, local_date FROM stg_pings ORDER BY ts_utc")
    assert [(d, str(day)) for d, day in kept] == [("dev-a", "2024-04-20"), ("dev-c", "2024-05-19")]
    retired = _rows(aged, "SELECT local_date, pings, devices FROM retired_ping_days ORDER BY local_date")
    assert [(str(d), p, n) for d, p, n in retired] == [("2024-04-18", 1, 1), ("2024-04-19", 3, 2)]
    assert _rows(aged, "SELECT patrol_minutes FROM daily_patrol") == [(12.5,)], "daily aggregates are kept"


def test_quarantined_rows_have_their_own_limit(aged):
    _run()
    kept = _rows(aged, "SELECT quarantined_at FROM quarantine ORDER BY 1")
    assert kept == [(datetime(2024, 5, 10),), (datetime(2024, 5, 19, 12),)]


def test_every_rule_is_logged_and_a_rerun_removes_nothing_more(aged):
    first = _run()
    step = next(s for s in first["steps"] if s["task"] == "apply_retention")["result"]
    assert step["raw_ping_files"] == {"cutoff": "2024-05-13", "folders": 4, "files": 8}
    assert step["pings"] == {"cutoff": "2024-04-20", "rows": 4, "dates": ["2024-04-18", "2024-04-19"]}
    assert step["quarantine"] == {"cutoff": "2024-05-10", "rows": 1}
    _run()
    runs = _rows(aged, "SELECT kind, cutoff, removed FROM retention_runs ORDER BY ran_at, kind")
    assert [(k, str(c), n) for k, c, n in runs] == [
        ("pings", "2024-04-20", 4),
        ("quarantine", "2024-05-10", 1),
        ("raw_ping_files", "2024-05-13", 8),
        ("pings", "2024-04-20", 0),
        ("quarantine", "2024-05-10", 0),
        ("raw_ping_files", "2024-05-13", 0),
    ]
    assert len(_rows(aged, "SELECT * FROM stg_pings")) == 2


def test_the_snapshot_is_republished_with_the_retired_days(aged):
    from hotspots.warehouse import publish_snapshot

    publish_snapshot(aged)
    _run()
    con = connect(aged.snapshot_path, read_only=True, settings=aged)
    try:
        assert con.execute("SELECT count(*) FROM retired_ping_days").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0, "GPS quarantine rows never in it"
    finally:
        con.close()
