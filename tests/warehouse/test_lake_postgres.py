"""The lake catalogued on PostgreSQL (the national deployment's catalog): the models, two forces' writers in two
processes at once, advisory writer locks, alerts stored once, and a snapshot read as of a time."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import date

import pytest
import warehouse_rows as rows

from hotspots.settings import PROJECT_ROOT, reload_settings

SERVER = "host=127.0.0.1 port=5432 user=postgres"
WRITER = """
import json, sys
from hotspots.settings import get_settings
from hotspots.warehouse import open_warehouse, transaction, writer_step

@writer_step
def load(force, settings=None):
    with open_warehouse(settings) as con, transaction(con):
        con.execute("DELETE FROM area_teams WHERE force = ?", [force])
        con.execute("INSERT INTO area_teams SELECT ?, 'A' || i::VARCHAR, 'team', now() FROM range(500) t(i)", [force])
    return force

print(json.dumps([load(sys.argv[1], get_settings()) for _ in range(3)]))
"""


@pytest.fixture
def pg_lake(settings, monkeypatch):
    """Settings of a lake whose catalog is a fresh PostgreSQL database of its own, so runs side by side never drop
    each other's catalog (skips without PostgreSQL)."""
    database = f"hotspots_lake_test_{uuid.uuid4().hex[:10]}"
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(f"dbname=postgres {SERVER}", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 as postgres ({exc}): the lake's catalog needs it")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{database}"')
    monkeypatch.setenv("HOTSPOTS_WAREHOUSE_CATALOG", "ducklake")
    monkeypatch.setenv("HOTSPOTS_LAKE_CATALOG", f"postgres:dbname={database} {SERVER}")
    try:
        yield reload_settings()
    finally:
        reload_settings()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def test_two_forces_write_at_once_from_two_processes(pg_lake, monkeypatch):
    import os

    from hotspots.warehouse import migrate, open_warehouse

    migrate(pg_lake)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "include"), os.environ.get("PYTHONPATH", "")]),
    }
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, force], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for force in ("alpha", "beta")
    ]
    outputs = [w.communicate(timeout=600) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    assert [json.loads(out) for out, _ in outputs] == [["alpha"] * 3, ["beta"] * 3]
    with open_warehouse(pg_lake) as con:
        counts = con.execute("SELECT force, count(*) FROM area_teams GROUP BY force ORDER BY force").fetchall()
        commits = con.execute("SELECT count(*) FROM lake.snapshots()").fetchone()[0]
    assert counts == [("alpha", 500), ("beta", 500)]  # each rerun replaced its partition: no duplicates
    assert commits >= 7  # the migration and the six partition replacements, each its own snapshot


KILLED = """
import sys, time
from hotspots.settings import get_settings
from hotspots.warehouse import open_warehouse, writer_lock

with writer_lock("alpha", get_settings()), open_warehouse(get_settings()) as con:
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM area_teams WHERE force = 'alpha'")
    con.execute("INSERT INTO area_teams SELECT 'alpha', 'B' || i::VARCHAR, 'half', now() FROM range(300) t(i)")
    print("mid-write", flush=True)
    time.sleep(600)
"""


def test_a_writer_killed_mid_write_leaves_no_partial_partition_and_frees_its_lock(pg_lake):
    import os
    import signal

    from hotspots.warehouse import migrate, open_warehouse, transaction, writer_lock

    migrate(pg_lake)
    with open_warehouse(pg_lake) as con, transaction(con):
        con.execute("INSERT INTO area_teams SELECT 'alpha', 'A' || i::VARCHAR, 'whole', now() FROM range(500) t(i)")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "include"), os.environ.get("PYTHONPATH", "")]),
    }
    writer = subprocess.Popen([sys.executable, "-c", KILLED], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "mid-write"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(60)
    with writer_lock("alpha", pg_lake), open_warehouse(pg_lake) as con:  # the dead writer's lock went with it
        teams = con.execute("SELECT team, count(*) FROM area_teams WHERE force = 'alpha' GROUP BY team").fetchall()
    assert teams == [("whole", 500)]


def test_alerts_stored_once_and_snapshots_read_on_the_postgres_catalog(pg_lake):
    from hotspots.alerts.rules import Alert
    from hotspots.analyst import run_query
    from hotspots.warehouse import LAKE, migrate, open_warehouse

    migrate(pg_lake)
    alerts = [Alert("no_patrol", "testforce", f"T{i:02d}", date(2024, 5, 31), "north") for i in range(1, 4)]
    stored = rows.store_alerts_twice_at_once(pg_lake, alerts)
    assert sorted(len(s) for s in stored) == [0, 3]
    with open_warehouse(pg_lake) as con:
        committed = con.execute(f"SELECT max(snapshot_time) FROM {LAKE}.snapshots()").fetchone()[0]
        rows.populate(con)
    import io

    now, then = io.StringIO(), io.StringIO()
    run_query("SELECT count(*) AS n FROM alerts", fmt="json", out=now, settings=pg_lake)
    run_query("SELECT count(*) AS n FROM alerts", fmt="json", out=then, settings=pg_lake, as_of=committed)
    assert json.loads(then.getvalue()) == [{"n": 3}]
    assert json.loads(now.getvalue())[0]["n"] > 3  # populate added the hand-built alerts after that snapshot
