"""DAG integrity (Astro-style): every DAG file imports cleanly, cheaply, and follows the project's rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py"))
HEAVY = ("great_expectations", "geopandas", "pandas", "duckdb", "shapely", "matplotlib", "pyproj")
EXPECTED_DAGS = {
    "evaluate_patrol",
    "ingest_areas",
    "ingest_crime",
    "select_hotspots",
    "ingest_avl",
    "patrol_compliance",
    "daily_plan",
    "intraday_check",
    "retention",
    "sweep_landing",
    "weekly_plan",
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
    """Every task that opens the warehouse for writing runs in the duckdb_writer pool; every DAG migrates first."""
    writers = {
        "ingest_areas": {"load_areas"},
        "ingest_crime": {"load_crime_months", "load_force_records", "deliver_alerts"},
        "select_hotspots": {"rank_and_select"},
        "ingest_avl": {"load_pings_and_patrol", "deliver_alerts"},
        "sweep_landing": {"reload_late_files", "deliver_alerts"},
        "patrol_compliance": {"evaluate_compliance", "deliver_alerts", "publish_report_and_snapshot"},
        "daily_plan": {"draw_daily_plan", "deliver_alerts"},
        "intraday_check": {"check_no_visit_yet", "deliver_alerts"},
        "retention": {"apply_retention"},
    }
    for dag_id, task_ids in writers.items():
        dag = dagbag.dags[dag_id]
        for task_id in task_ids | {"migrate_warehouse"}:
            assert dag.get_task(task_id).pool == "duckdb_writer", f"{dag_id}.{task_id}"
        roots = {t.task_id for t in dag.tasks if not t.upstream_task_ids}
        assert roots == {"migrate_warehouse"}, (dag_id, roots)  # the schema step runs before anything else


def test_dags_are_linked_by_assets(dagbag):
    """select_hotspots runs on new crime or areas; patrol_compliance runs on new daily patrol."""
    produced = {asset.name for dag_id in dagbag.dag_ids for task in dagbag.dags[dag_id].tasks for asset in task.outlets}
    assert {"stg_areas", "stg_crimes", "selections", "daily_patrol", "alerts"} <= produced
    assert "daily_patrol" in str(dagbag.dags["patrol_compliance"].timetable.asset_condition)
    assert "stg_crimes" in str(dagbag.dags["select_hotspots"].timetable.asset_condition)


def test_each_dag_states_its_purpose_once(dagbag):
    """doc_md is not a text of its own: it is the file's docstring (doc_md=__doc__) or the DAG function's."""
    import ast

    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        tree = ast.parse(Path(dag.fileloc).read_text())
        function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == dag_id)
        decorator = next(d for d in function.decorator_list if isinstance(d, ast.Call) and d.func.id == "dag")
        doc_md = next((k.value for k in decorator.keywords if k.arg == "doc_md"), None)
        if doc_md is None:
            assert dag.doc_md == ast.get_docstring(function, clean=False), dag_id
        else:
            assert isinstance(doc_md, ast.Name) and doc_md.id == "__doc__", f"{dag_id}: doc_md=__doc__"
            assert ast.get_docstring(function) is None, f"{dag_id}: documented twice"
            assert dag.doc_md == ast.get_docstring(tree, clean=False), dag_id


def _trigger_rule(dag, task_id: str) -> str:
    return str(getattr(dag.get_task(task_id).trigger_rule, "value", dag.get_task(task_id).trigger_rule))


def test_patrol_compliance_publishes_after_delivery_even_when_it_failed(dagbag):
    """publish_report_and_snapshot runs after deliver_alerts (the report shows each alert's delivery), also when
    delivery failed, never when an evaluation failed; a failed delivery still fails the run."""
    dag = dagbag.dags["patrol_compliance"]
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "migrate_warehouse": set(),
        "dates_to_evaluate": {"migrate_warehouse"},
        "evaluate_compliance": {"dates_to_evaluate"},
        "evaluated_dates": {"evaluate_compliance"},
        "deliver_alerts": {"evaluated_dates"},
        "publish_report_and_snapshot": {"evaluated_dates", "deliver_alerts"},
        "fail_run_if_delivery_failed": {"deliver_alerts"},
    }
    # evaluated_dates (one task instance, all_success over every force's evaluation) is the gate: with it
    # failed or upstream_failed, publish has no successful upstream and is upstream_failed; with it a success,
    # publish runs whatever deliver_alerts' outcome.
    assert _trigger_rule(dag, "evaluated_dates") == "all_success"
    assert _trigger_rule(dag, "deliver_alerts") == "all_success"
    assert _trigger_rule(dag, "publish_report_and_snapshot") == "all_done_min_one_success"
    # publish is then a leaf that may succeed: the watcher fails the run when delivery did not succeed
    assert _trigger_rule(dag, "fail_run_if_delivery_failed") == "one_failed"
    leaves = {t.task_id for t in dag.tasks if not t.downstream_task_ids}
    assert leaves == {"publish_report_and_snapshot", "fail_run_if_delivery_failed"}
