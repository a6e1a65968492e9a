"""DAG integrity (Astro-style): every DAG file imports cleanly, cheaply, and follows the project's rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = sorted((Path(__file__).resolve().parents[1] / "dags").glob("*.py"))
HEAVY = ("great_expectations", "geopandas", "pandas", "duckdb", "shapely", "matplotlib", "pyproj")
EXPECTED_DAGS = {
    "ingest_areas", "ingest_crime", "select_hotspots", "ingest_avl", "patrol_compliance", "daily_plan", "intraday_check",
}


@pytest.mark.parametrize("dag_file", DAGS, ids=lambda p: p.name)
def test_dag_file_imports_without_heavy_modules(dag_file):
    """A fresh interpreter imports the DAG file; none of the heavy libraries may be loaded by it."""
    code = (
        "import json, runpy, sys\n"
        f"runpy.run_path({str(dag_file)!r})\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS[0].parent))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED_DAGS


def test_dags_are_tagged_retried_and_documented(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert "hotspots" in dag.tags, dag_id
        assert dag.doc_md, dag_id
        assert not dag.catchup, dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_warehouse_writers_share_the_one_slot_pool(dagbag):
    """Every task that opens the warehouse for writing runs in the duckdb_writer pool."""
    writers = {
        "ingest_areas": {"load"},
        "ingest_crime": {"load"},
        "select_hotspots": {"select"},
        "ingest_avl": {"load"},
        "patrol_compliance": {"evaluate", "deliver", "publish"},
        "daily_plan": {"plan", "deliver"},
        "intraday_check": {"check", "deliver"},
    }
    for dag_id, task_ids in writers.items():
        dag = dagbag.dags[dag_id]
        for task_id in task_ids:
            assert dag.get_task(task_id).pool == "duckdb_writer", f"{dag_id}.{task_id}"


def test_dags_are_linked_by_assets(dagbag):
    """select_hotspots runs on new crime or areas; patrol_compliance runs on new daily patrol."""
    produced = {
        asset.name
        for dag_id in dagbag.dag_ids
        for task in dagbag.dags[dag_id].tasks
        for asset in task.outlets
    }
    assert {"stg_areas", "stg_crimes", "selections", "daily_patrol", "alerts"} <= produced
    assert "daily_patrol" in str(dagbag.dags["patrol_compliance"].timetable.asset_condition)
    assert "stg_crimes" in str(dagbag.dags["select_hotspots"].timetable.asset_condition)
