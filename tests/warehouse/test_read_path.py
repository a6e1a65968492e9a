"""The analyst read path: query and shell on the read-only snapshot, concurrent with a writing pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import warehouse_rows as rows
from typer.testing import CliRunner

from hotspots.cli import app

ANALYSIS = Path(__file__).resolve().parents[2] / "sql" / "analysis"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from hotspots.warehouse import publish_snapshot

    with pytest.MonkeyPatch.context() as mp:
        settings = rows.isolated_settings(mp, tmp_path_factory.mktemp("read"))
        rows.build_warehouse(settings)
        publish_snapshot(settings)
        yield settings


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(app, list(args), **kwargs)


def test_query_formats(published):
    sql = (
        "SELECT area_code, status, delivered_minutes, date FROM daily_compliance WHERE date = "
        "'2024-05-31' ORDER BY area_code"
    )
    as_json = invoke("query", sql, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)[1] == {
        "area_code": "T07",
        "status": "under",
        "delivered_minutes": 5.0,
        "date": "2024-05-31",
    }
    as_csv = invoke("query", sql, "-f", "csv")
    assert as_csv.output.splitlines()[:2] == ["area_code,status,delivered_minutes,date", "T03,met,20.0,2024-05-31"]
    as_table = invoke("query", sql)
    assert "│ T08       │ none    │" in as_table.output
    geometry = invoke("query", "SELECT geom FROM current_hotspots WHERE area_code = 'T03'", "-f", "json")
    assert json.loads(geometry.output)[0]["geom"].startswith("POLYGON ((505800 220000")


def test_query_file_runs_an_analysis_query(published):
    result = invoke("query", "--file", str(ANALYSIS / "hotspots_unpatrolled_7d.sql"), "-f", "json")
    assert result.exit_code == 0, result.output
    assert [r["area_code"] for r in json.loads(result.output)] == ["T08"]


@pytest.mark.duckdb_file
def test_snapshot_is_read_only(published):
    result = invoke("query", "DELETE FROM alerts")
    assert result.exit_code == 1
    assert "read-only" in result.output
    assert json.loads(invoke("query", "SELECT count(*) AS n FROM alerts", "-f", "json").output) == [{"n": 3}]


@pytest.mark.duckdb_file
def test_shell(published):
    script = (
        "SELECT 6 * 7\n  AS answer;\n.mode csv\nSELECT count(*) AS hotspots FROM "
        "current_hotspots;\n.schema area_teams\nDROP TABLE alerts;\n.quit\n"
    )
    result = invoke("shell", input=script)
    assert result.exit_code == 0, result.output
    assert "│     42 │" in result.output
    assert "hotspots\n5\n" in result.output
    assert "team,VARCHAR,Team responsible for the area." in result.output
    assert "Error:" in result.output and "read-only" in result.output


WRITER = """
import sys, time
from pathlib import Path
from hotspots.settings import get_settings
from hotspots.warehouse import open_warehouse, publish_snapshot

settings = get_settings()
ready, done = Path(sys.argv[1]), Path(sys.argv[2])
deadline = time.monotonic() + 120
while not ready.exists() and time.monotonic() < deadline:  # the reader has a snapshot open
    time.sleep(0.1)
for run in range(1, {runs} + 1):
    with open_warehouse(settings=settings) as con:  # a pipeline run: one partition rewritten
        con.execute("DELETE FROM daily_patrol WHERE force = 'writer'")
        con.execute("INSERT INTO daily_patrol (force, area_code, date, patrol_minutes, officer_minutes, visits, "
                    "koper_visits, devices, window_minutes) SELECT 'writer', 'W', DATE '2024-06-01' + i::INT, "
                    "1, 1, 1, 0, 1, 1 FROM range(?) t(i)", [run * 10])
    publish_snapshot(settings)
    print(run * 10, flush=True)
done.touch()
"""

READER = """
import json, sys, time
from pathlib import Path
from hotspots.commands.warehouse import open_snapshot

ready, done = Path(sys.argv[1]), Path(sys.argv[2])
deadline = time.monotonic() + 150
while time.monotonic() < deadline:
    finished = done.exists()
    with open_snapshot() as con:  # each query opens the newest published snapshot
        count = con.execute("SELECT count(*) FROM daily_patrol WHERE force = 'writer'").fetchone()[0]
    print(json.dumps({"count": count, "writer_done": finished}), flush=True)
    if finished:
        break
    time.sleep(0.1)
"""

# DuckDB shares one database instance per file within a process, so the long session runs in its own process.
SESSION = """
import sys, time
from pathlib import Path
from hotspots.commands.warehouse import open_snapshot

ready, done = Path(sys.argv[1]), Path(sys.argv[2])
deadline = time.monotonic() + 150
with open_snapshot() as session:  # an analyst's shell left open while new snapshots are published
    ready.touch()
    while time.monotonic() < deadline:
        finished = done.exists()
        print(session.execute("SELECT count(*) FROM daily_patrol WHERE force = 'writer'").fetchone()[0], flush=True)
        if finished:
            break
        time.sleep(0.2)
"""


@pytest.mark.duckdb_file
def test_analysts_query_while_the_pipeline_writes(published, tmp_path):
    """Writer, analyst queries and an open analyst session are separate processes, as in production."""
    flags = [str(tmp_path / "ready"), str(tmp_path / "done")]
    processes = {}
    for name, script in (("session", SESSION), ("reader", READER), ("writer", WRITER.format(runs=2))):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(script))
        processes[name] = subprocess.Popen(
            [sys.executable, str(tmp_path / f"{name}.py"), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    outputs = {}
    try:
        for name, process in processes.items():
            outputs[name] = process.communicate(timeout=240)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    for name, process in processes.items():
        assert process.returncode == 0, f"{name}: {outputs[name][1][-3000:]}"
    assert [int(n) for n in outputs["writer"][0].split()] == [10, 20]
    seen = [json.loads(line) for line in outputs["reader"][0].splitlines()]
    counts = [s["count"] for s in seen]
    # Every answer is a whole published state, never a torn one, and time only moves forward.
    assert set(counts) <= {0, 10, 20} and counts == sorted(counts)
    assert any(not s["writer_done"] for s in seen), "the reader queried while the writer was running"
    assert seen[-1]["writer_done"] and counts[-1] == 20, "a query after the last publish sees it"
    # The open session kept reading the snapshot it opened, undisturbed by both publishes.
    session = [int(n) for n in outputs["session"][0].split()]
    assert len(session) >= 2 and set(session) == {0}
