"""Schema migration is an explicit step (`hotspots migrate`, pipeline.migrate_warehouse): a warehouse made when
stg_crimes was one table is moved into stg_crime_files/points/records by it; writers refuse a warehouse behind
the checkout's sql/ models; read-only inspection never takes the writer's lock."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import datetime

import duckdb
import pytest
from typer.testing import CliRunner
from warehouse_rows import CRIME_COLUMNS

from hotspots.cli import app
from hotspots.pipeline import migrate_warehouse
from hotspots.settings import PROJECT_ROOT, reload_settings
from hotspots.warehouse import WarehouseBehind, connect, migrate, models_hash, open_snapshot, open_warehouse

ROWS = """
SELECT force, 'police_uk', CASE WHEN id = '' THEN 'h:' || md5(file || ':' || row::VARCHAR) ELSE id END,
    DATE '2024-01-01',
       NULL, kind, NULL, NULL, lon, lat, e, n, loc, lsoa, area, file, row, TIMESTAMP '2024-02-03 04:05:06'
FROM (VALUES
    ('north', 'a1', 'Robbery', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000001', 'A', 'f1.csv', 1),
    ('north', '', 'Anti-social behaviour', -0.1, 51.5, 530000.0, 180000.0,
        'On or near High Street', 'E01000001', 'A', 'f1.csv', 2),
    ('north', 'a3', 'Robbery', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'f1.csv', 3),
    ('north', 'a4', 'Robbery', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000009', 'A', 'f2.csv', 1),
    ('north', 'a5', 'Burglary', -0.2, 51.6, 520000.0, 190000.0, NULL, NULL, NULL, 'f2.csv', 2),
    ('south', 'b1', 'Robbery', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000001', 'S', 'f1.csv', 1)
) t(force, id, kind, lon, lat, e, n, loc, lsoa, area, file, row)
"""


@pytest.mark.duckdb_file
def test_old_stg_crimes_table_is_migrated_once_with_every_row(settings):
    con = connect(settings=settings)
    con.execute(f"CREATE TABLE stg_crimes ({CRIME_COLUMNS})")
    con.execute("INSERT INTO stg_crimes " + ROWS)
    before = con.execute("SELECT * FROM stg_crimes ORDER BY force, source_file, source_row").fetchall()
    con.close()

    with pytest.raises(WarehouseBehind, match=r"never migrated.*Run `hotspots migrate`"):
        with open_warehouse(settings):
            pass
    first = migrate_warehouse(settings)
    second = migrate(settings)  # the second run finds the version and does nothing more
    assert first == {
        "warehouse": str(settings.warehouse_path),
        "schema_version": models_hash(settings),
        "previous": None,
        "migrated": True,
    }
    assert second["migrated"] is False and second["previous"] == models_hash(settings)

    con = connect(settings=settings)
    kinds = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_name LIKE 'stg_crime%'"
        ).fetchall()
    )
    assert kinds == {
        "stg_crimes": "VIEW",
        "stg_crime_files": "BASE TABLE",
        "stg_crime_points": "BASE TABLE",
        "stg_crime_records": "BASE TABLE",
    }
    after = con.execute("SELECT * FROM stg_crimes ORDER BY force, source_file, source_row").fetchall()
    assert after == before and len(after) == 6
    assert after[0][-1] == datetime(2024, 2, 3, 4, 5, 6)
    # Three files (north f1, f2; south f1); points are shared within a force only, and an LSOA code that
    # differs makes another point: north has 4 (High St twice, no location, Burglary's point), south 1.
    assert con.execute("SELECT count(*) FROM stg_crime_files").fetchone()[0] == 3
    assert dict(con.execute("SELECT force, count(*) FROM stg_crime_points GROUP BY 1").fetchall()) == {
        "north": 4,
        "south": 1,
    }
    assert con.execute("SELECT count(*) FILTER (WHERE crime_id IS NULL) FROM stg_crime_records").fetchone()[0] == 1
    con.close()


def test_a_new_warehouse_is_migrated_by_its_first_writer(settings):
    with open_warehouse(settings) as con:
        assert con.execute("SELECT models_hash FROM schema_version").fetchall() == [(models_hash(settings),)]
        assert con.execute("SELECT count(*) FROM daily_compliance").fetchone()[0] == 0
    assert migrate(settings)["migrated"] is False


@pytest.mark.duckdb_file
def test_changed_models_stop_writers_until_hotspots_migrate(settings, monkeypatch, tmp_path):
    shutil.copytree(PROJECT_ROOT / "sql", tmp_path / "sql")
    monkeypatch.setenv("HOTSPOTS_SQL_DIR", str(tmp_path / "sql"))
    settings = reload_settings()
    old = migrate(settings)["schema_version"]
    model = tmp_path / "sql" / "marts" / "30_daily_compliance.sql"
    model.write_text(model.read_text() + "\nCOMMENT ON TABLE daily_compliance IS 'Changed by the test.';\n")
    new = models_hash(settings)
    assert new != old

    with pytest.raises(WarehouseBehind, match=rf"\({old}\) is not this checkout's sql/ models \({new}\)"):
        with open_warehouse(settings):
            pass
    runner = CliRunner()
    refused = runner.invoke(app, ["snapshot"])
    assert refused.exit_code == 2 and "Run `hotspots migrate`" in refused.output

    done = runner.invoke(app, ["migrate"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {
        "warehouse": str(settings.warehouse_path),
        "schema_version": new,
        "previous": old,
        "migrated": True,
    }
    with open_warehouse(settings) as con:
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'daily_compliance'").fetchone()
    assert comment == ("Changed by the test.",)
    assert runner.invoke(app, ["snapshot"]).exit_code == 0


WRITER = """
import sys, time
from pathlib import Path
from hotspots.warehouse import open_warehouse

with open_warehouse() as con:
    con.execute("INSERT INTO area_teams VALUES ('north', ?, 'team-' || ?, NULL)", [sys.argv[1], sys.argv[1]])
    print("written", flush=True)
    deadline = time.monotonic() + 60
    while len(sys.argv) > 2 and not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # holding the writer's lock
"""


def _writer(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.duckdb_file
def test_live_read_never_takes_the_writers_lock(settings, tmp_path):
    migrate(settings)

    # A reader on the writer's own file (the old `alerts --dry-run`) makes a writer step fail on the lock.
    with connect(settings.warehouse_path, read_only=True, settings=settings):
        blocked = _writer("blocked")
        _, err = blocked.communicate(timeout=120)
    assert blocked.returncode != 0 and "lock" in err.lower()

    # The live door reads a private copy: a writer in another process opens and commits while it is open ...
    with open_snapshot(settings, live=True) as con:
        writer = _writer("one")
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert con.execute("SELECT count(*) FROM area_teams").fetchone()[0] == 0  # the copy as it was
    # ... and it reads what a writer committed while that writer still holds the file.
    release = tmp_path / "release"
    holder = _writer("two", str(release))
    try:
        assert holder.stdout.readline().strip() == "written"
        time.sleep(0.2)
        with open_snapshot(settings, live=True) as con:
            teams = sorted(r[0] for r in con.execute("SELECT team FROM area_teams").fetchall())
        assert teams == ["team-one", "team-two"]
    finally:
        release.touch()
        holder.communicate(timeout=120)
    assert holder.returncode == 0
    with pytest.raises(duckdb.Error):  # the copy is read-only too
        with open_snapshot(settings, live=True) as con:
            con.execute("DELETE FROM area_teams")


@pytest.mark.duckdb_file
def test_alerts_dry_run_reads_while_a_writer_holds_the_warehouse(settings, monkeypatch, tmp_path):
    """Issue 15: `hotspots alerts --dry-run` on the writer's own file failed on (or caused) the lock."""
    monkeypatch.setenv("HOTSPOTS_FORCES", "north")
    reload_settings()
    migrate(settings)
    release = tmp_path / "release"
    holder = _writer("held", str(release))
    try:
        assert holder.stdout.readline().strip() == "written"
        dry = CliRunner().invoke(app, ["alerts", "--date", "2024-05-01", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "No new alerts." in dry.output
    finally:
        release.touch()
        holder.communicate(timeout=120)
    assert holder.returncode == 0


@pytest.mark.duckdb_file
def test_a_warehouse_from_before_the_dose_rule_gets_its_columns(settings):
    """daily_patrol and daily_compliance made without longest_visit_minutes / dose_rule / dose_met: migrate adds
    them (NULL on the old rows) and the macro dose_met, and keeps every row."""
    con = connect(settings=settings)
    con.execute(
        "CREATE TABLE daily_patrol (force VARCHAR NOT NULL, area_code VARCHAR NOT NULL, date DATE NOT NULL, "
        "patrol_minutes DOUBLE NOT NULL, officer_minutes DOUBLE NOT NULL, visits INTEGER NOT NULL, "
        "koper_visits INTEGER NOT NULL, devices INTEGER NOT NULL, window_minutes DOUBLE NOT NULL, "
        "computed_at TIMESTAMP, PRIMARY KEY (force, area_code, date))"
    )
    con.execute("INSERT INTO daily_patrol VALUES ('f', 'A', DATE '2024-05-01', 20, 20, 1, 1, 1, 20, NULL)")
    con.close()
    migrate_warehouse(settings)
    con = connect(settings=settings)
    try:
        row = con.execute("SELECT window_minutes, longest_visit_minutes FROM daily_patrol").fetchall()
        assert row == [(20.0, None)]
        columns = {
            c
            for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'daily_compliance'"
            ).fetchall()
        }
        assert {"longest_visit_minutes", "dose_rule", "dose_met"} <= columns
        assert con.execute("SELECT dose_met('total', 20, NULL, 15, 15)").fetchone()[0] is True
    finally:
        con.close()
