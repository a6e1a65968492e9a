"""The DuckLake warehouse: the same sql/ models as the DuckDB file, analysts reading committed snapshots in place
(--as-of), one force's writers serialised while two forces write at once, the outbox's exactly once without a
key, and the move of a DuckDB warehouse into the lake checked equal."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
import warehouse_rows as rows
from typer.testing import CliRunner


@pytest.fixture
def lake(settings, monkeypatch):
    """Settings of a local DuckLake (catalog file and Parquet under the test's data folder), for the CLI too."""
    from hotspots.settings import reload_settings

    monkeypatch.setenv("HOTSPOTS_WAREHOUSE_CATALOG", "ducklake")
    monkeypatch.delenv("HOTSPOTS_LAKE_CATALOG", raising=False)
    monkeypatch.delenv("HOTSPOTS_LAKE_DATA_PATH", raising=False)
    yield reload_settings()
    reload_settings()


def _catalogue(con) -> dict[str, list[tuple[str, str]]]:
    """Table and view name -> (column, type), of the current database."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall():
        found.setdefault(table, []).append((column, data_type))
    return found


def test_the_lake_holds_every_table_and_view_of_the_duckdb_file(lake):
    from hotspots.warehouse import connect, migrate, open_warehouse

    file_settings = lake.model_copy(update={"warehouse_catalog": "duckdb"})
    migrate(file_settings)
    migrate(lake)
    with connect(settings=file_settings) as con:
        expected = _catalogue(con)
    with open_warehouse(lake) as con:
        assert con.execute("SELECT current_database()").fetchone()[0] == "lake"
        assert _catalogue(con) == expected
        # spatial GEOMETRY round-trips through Parquet, views and macros run on the lake
        rows.populate(con)
        areas = con.execute("SELECT count(*), sum(ST_Area(geom)) FROM stg_areas").fetchone()
        assert areas == (len(rows.area_codes()), pytest.approx(len(rows.area_codes()) * rows.CELL_M**2))
        hotspots = con.execute("SELECT area_code FROM current_hotspots ORDER BY area_code").fetchall()
        assert [h for (h,) in hotspots] == ["T03", "T07", "T08", "T12", "T16"]
        assert con.execute("SELECT crime_file_key('f', 's', 'x') = crime_file_key('f', 's', 'x')").fetchone()[0]


def test_analysts_read_a_committed_snapshot_in_place_and_as_of_a_time(lake):
    from hotspots.cli import app
    from hotspots.warehouse import LAKE, open_warehouse

    with open_warehouse(lake) as con:
        con.execute("INSERT INTO area_teams VALUES ('testforce', 'T01', 'north', now())")
        first = con.execute(f"SELECT max(snapshot_time) FROM {LAKE}.snapshots()").fetchone()[0]
        con.execute("INSERT INTO area_teams VALUES ('testforce', 'T02', 'south', now())")

    def teams(*options: str) -> list[str]:
        result = CliRunner().invoke(
            app, ["query", *options, "--format", "json", "SELECT area_code FROM area_teams ORDER BY area_code"]
        )
        assert result.exit_code == 0, result.output
        return [r["area_code"] for r in json.loads(result.output)]

    assert teams() == ["T01", "T02"]
    assert teams("--as-of", first.isoformat()) == ["T01"]  # the snapshot committed then, nothing copied
    assert not list(lake.snapshot_path.parent.glob("*_read.duckdb"))


def test_as_of_on_a_duckdb_file_is_one_message_and_exit_2(settings, monkeypatch):
    from hotspots.cli import app
    from hotspots.settings import reload_settings
    from hotspots.warehouse import migrate, publish_snapshot

    monkeypatch.setenv("HOTSPOTS_WAREHOUSE_CATALOG", "duckdb")
    settings = reload_settings()
    migrate(settings)
    publish_snapshot(settings)
    result = CliRunner().invoke(app, ["query", "--as-of", "2025-01-01T00:00:00", "SELECT 1"])
    assert result.exit_code == 2
    assert "DuckLake" in result.output and "Traceback" not in result.output


def test_the_analyst_door_on_the_lake_leaves_per_device_data_out(lake):
    from hotspots.warehouse import open_snapshot, open_warehouse

    with open_warehouse(lake) as con:
        con.execute(
            "INSERT INTO quarantine (force, source, source_file, source_row, reason, raw_row, quarantined_at) "
            "VALUES ('testforce', 'avl', 'p.csv', 1, 'bad', '{\"device\": 7}', now()), "
            "('testforce', 'police_uk', 'c.csv', 1, 'bad', '{\"crime\": 1}', now())"
        )
    with open_snapshot(lake) as con:
        assert con.execute("SELECT source FROM quarantine").fetchall() == [("police_uk",)]
        with pytest.raises(Exception, match="stg_pings"):
            con.execute("SELECT * FROM stg_pings")


def test_one_force_writes_at_a_time_and_two_forces_at_once(lake):
    from hotspots.warehouse import writer_lock

    held, second_of_a, other_force = threading.Event(), threading.Event(), threading.Event()
    release = threading.Event()

    def hold_a():
        with writer_lock("force-a", lake):
            held.set()
            release.wait(30)

    def take(key, entered):
        with writer_lock(key, lake):
            entered.set()

    holder = threading.Thread(target=hold_a)
    holder.start()
    assert held.wait(30)
    waiting = threading.Thread(target=take, args=("force-a", second_of_a))
    waiting.start()
    threading.Thread(target=take, args=("force-b", other_force)).start()
    assert other_force.wait(30), "force-b must not wait for force-a"
    assert not second_of_a.is_set(), "a second writer of force-a entered while the first held the lock"
    release.set()
    assert second_of_a.wait(30)
    holder.join()
    waiting.join()


def test_two_writers_raising_the_same_alerts_store_each_once(lake):
    from hotspots.alerts.rules import Alert
    from hotspots.warehouse import migrate, open_warehouse

    migrate(lake)
    alerts = [Alert("no_patrol", "testforce", f"T{i:02d}", date(2024, 5, 31), "north") for i in range(1, 6)]
    stored = rows.store_alerts_twice_at_once(lake, alerts)
    assert sorted(len(keys) for keys in stored) == [0, 5]
    with open_warehouse(lake) as con:
        assert con.execute("SELECT count(*), count(DISTINCT alert_key) FROM alerts").fetchone() == (5, 5)


def test_migrate_to_lake_moves_every_row_and_refuses_a_lake_with_rows(lake):
    from hotspots.cli import app
    from hotspots.lake import rows_differ
    from hotspots.warehouse import connect, open_warehouse

    file_settings = lake.model_copy(update={"warehouse_catalog": "duckdb"})
    with open_warehouse(file_settings) as con:
        rows.populate(con)
        expected = {t: n for t, n in con.execute("SELECT table_name, estimated_size FROM duckdb_tables()").fetchall()}
    result = CliRunner().invoke(app, ["migrate-to-lake"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["equal"] and report["tables"]["stg_areas"] == len(rows.area_codes())
    assert {t for t, n in report["tables"].items() if n} == {t for t, n in expected.items() if n} - {"schema_version"}
    with connect(settings=lake) as con:
        con.execute(f"ATTACH '{file_settings.warehouse_path}' AS file_copy (READ_ONLY)")
        for table in ("alerts", "daily_compliance", "stg_areas", "selections"):
            columns = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()]
            assert rows_differ(con, f"file_copy.main.{table}", f"lake.main.{table}", columns) == (0, 0)
    again = CliRunner().invoke(app, ["migrate-to-lake"])
    assert again.exit_code == 2 and "already holds rows" in again.output
