"""The analyst snapshot holds aggregates, no per-device tracks (not even in the file's bytes); the tracks are
reached only by `hotspots tracks`, for configured OS users with a purpose; every export and tracks query (and
every refused attempt) is in the export log with the OS user, what and when."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import warehouse_rows as rows
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.privacy import os_user, read_export_log
from hotspots.settings import reload_settings
from hotspots.warehouse import connect, open_warehouse, publish_snapshot

DEVICE_KEY = "d3v1c3k3y0000042"  # a pseudonym as stg_pings holds it (16 hex-like characters)
runner = CliRunner()


@pytest.fixture
def published(tmp_path, monkeypatch):
    settings = rows.isolated_settings(monkeypatch, tmp_path / "data")
    rows.build_warehouse(settings)
    with open_warehouse(settings) as con:
        for n in range(3):
            con.execute(
                "INSERT INTO stg_pings VALUES (?, ?, TIMESTAMP '2024-05-31 15:00:00' + INTERVAL (?) MINUTE, "
                "DATE '2024-05-31', 501000, 201000, 4.0, 'foot', 'f.csv', NULL)",
                [rows.FORCE, DEVICE_KEY, n],
            )
        con.execute(
            "INSERT INTO quarantine VALUES (?, 'avl', 'f.csv', 9, 'bad_speed', ?, now())",
            [rows.FORCE, json.dumps({"device_id": DEVICE_KEY, "easting": "501000"})],
        )
        con.execute(
            "INSERT INTO quarantine VALUES (?, 'police_uk', 'c.csv', 3, 'missing_coordinates', '{}', now())",
            [rows.FORCE],
        )
    publish_snapshot(settings)
    yield settings
    reload_settings()


def test_snapshot_has_no_device_keys_and_keeps_the_aggregates(published):
    con = connect(published.snapshot_path, read_only=True, settings=published)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND "
            "(column_name ILIKE '%device_key%' OR column_name ILIKE '%device_id%')"
        ).fetchall()
        assert columns == [], "no table or view of the snapshot has a device key column"
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "stg_pings" not in tables and {"daily_patrol", "daily_compliance", "selections"} <= tables
        assert con.execute("SELECT DISTINCT source FROM quarantine").fetchall() == [("police_uk",)]
        assert con.execute("SELECT count(*) FROM daily_compliance").fetchone()[0] > 0
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'daily_patrol'").fetchone()[0]
        assert comment and "per local day" in comment, "the COMMENT ON documentation travels with the snapshot"
    finally:
        con.close()
    assert DEVICE_KEY.encode() not in published.snapshot_path.read_bytes(), "no track left in the file's pages"
    assert DEVICE_KEY.encode() in published.warehouse_path.read_bytes(), "the warehouse itself keeps them"


def test_analyst_query_cannot_reach_the_tracks(published):
    result = runner.invoke(app, ["query", "SELECT count(*) FROM stg_pings"])
    assert result.exit_code != 0 and "stg_pings" in result.output


def test_tracks_are_refused_to_a_user_not_configured_and_the_attempt_logged(published):
    result = runner.invoke(app, ["tracks", "SELECT * FROM stg_pings", "--purpose", "complaint 123"])
    assert result.exit_code == 2 and "HOTSPOTS_TRACKS_READERS" in result.output and DEVICE_KEY not in result.output
    (entry,) = read_export_log(published)
    assert entry["action"] == "tracks_refused" and entry["user"] == os_user()
    assert entry["sql"] == "SELECT * FROM stg_pings" and entry["purpose"] == "complaint 123"


def test_a_configured_reader_gets_the_tracks_with_the_query_logged(published, monkeypatch):
    monkeypatch.setenv("HOTSPOTS_TRACKS_READERS", f"someone-else,{os_user()}")
    settings = reload_settings()
    blank = runner.invoke(app, ["tracks", "SELECT 1", "--purpose", "  "])
    assert blank.exit_code == 2 and "--purpose" in blank.output
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    sql = "SELECT device_key, count(*) AS n FROM stg_pings GROUP BY ALL"
    result = runner.invoke(app, ["tracks", sql, "--purpose", "complaint 123", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["device_key,n", f"{DEVICE_KEY},3"]
    entries = read_export_log(settings)
    assert [e["action"] for e in entries] == ["tracks_refused", "tracks_query"]
    last = entries[-1]
    assert last["user"] == os_user() and last["sql"] == sql and last["purpose"] == "complaint 123"
    assert before <= datetime.fromisoformat(last["at"]) <= datetime.now(timezone.utc)


def test_every_cli_export_is_logged(published, tmp_path):
    out = tmp_path / "spots.csv"
    result = runner.invoke(app, ["export", "hotspots", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (entry,) = read_export_log(published)
    assert entry["action"] == "export" and entry["what"] == "hotspots" and entry["format"] == "csv"
    assert entry["out"] == str(out) and entry["user"] == os_user()
    assert (published.data_dir / "audit" / "exports.jsonl").stat().st_mode & 0o077 == 0, "owner-only file"
    shown = runner.invoke(app, ["export-log"])
    assert shown.exit_code == 0 and f"{os_user()}@" in shown.output and str(out) in shown.output
