"""`hotspots run DAG_ID`: every DAG has a runner with its tasks in DAG order, and running the DAGs' steps from
the command over the generated sample gives the marts the generator's truth says (as test_end_to_end does
through Airflow)."""

from __future__ import annotations

import json
import shutil

import pytest
from settings_env import use_only_env
from typer.testing import CliRunner
from warehouse_query import rows_of

from hotspots.cli import app
from hotspots.runner import RUNNERS
from hotspots.validation.avl import MOSTLY

runner = CliRunner()


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    from hotspots.settings import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def test_every_dag_has_a_runner_with_its_tasks_in_order(dagbag):
    assert set(RUNNERS) == set(dagbag.dag_ids), "add a hotspots.runner.RUNNERS entry for each new DAG"
    for dag_id, dag_runner in RUNNERS.items():
        dag = dagbag.dags[dag_id]
        assert set(dag_runner.tasks) == {t.task_id for t in dag.tasks}, dag_id
        for task in dag.tasks:  # every upstream task runs before its downstream tasks
            for upstream in task.upstream_task_ids:
                assert dag_runner.tasks.index(upstream) < dag_runner.tasks.index(task.task_id), (dag_id, task.task_id)
        params = {name for name in dag.params} if dag.params else set()
        assert params <= {dag_runner.takes}, (dag_id, params)


@pytest.fixture(scope="module")
def ran(sample, tmp_path_factory):
    """Every DAG of the demo plan through `hotspots run ... --json`, on a copy of the sample."""
    from hotspots.demo import avl_folder_days, demo_plan
    from hotspots.settings import reload_settings

    data_dir = tmp_path_factory.mktemp("run") / "data"
    shutil.copytree(sample.out_dir, data_dir)
    env = sample.settings_env | {"HOTSPOTS_DATA_DIR": str(data_dir)}
    plan = demo_plan(sample.crime_months, avl_folder_days(data_dir / "landing", sample.force), sample.avl_dates)
    outputs = []
    with pytest.MonkeyPatch.context() as mp:
        settings = use_only_env(mp, env)
        for spec in plan:
            args = ["run", spec.dag_id, "--json"]
            for option, value in spec.conf.items():
                args += [f"--{option}", ",".join(value) if isinstance(value, list) else value]
            result = runner.invoke(app, args)
            assert result.exit_code == 0, (args, result.output[-3000:])
            outputs.append(json.loads(result.stdout[result.stdout.index('{\n  "dag_id"') :]))
        # the supervision DAGs run too (plan_k unset: no plan), and the weekly evaluation (before/after design)
        for dag_id in ("daily_plan", "intraday_check", "evaluate_patrol", "weekly_plan"):
            result = runner.invoke(app, ["run", dag_id, "--day", sample.avl_dates[-1].isoformat(), "--json"])
            assert result.exit_code == 0, result.output[-3000:]
            outputs.append(json.loads(result.stdout[result.stdout.index('{\n  "dag_id"') :]))
        # Retention as of the first GPS day: nothing is past its limit yet, the marts checked below stay whole.
        result = runner.invoke(app, ["run", "retention", "--day", sample.avl_dates[0].isoformat(), "--json"])
        assert result.exit_code == 0, result.output[-3000:]
        outputs.append(json.loads(result.stdout[result.stdout.index('{\n  "dag_id"') :]))
        # The landing sweep: every day was loaded as landed, nothing is late, nothing changes.
        result = runner.invoke(app, ["run", "sweep_landing", "--json"])
        assert result.exit_code == 0, result.output[-3000:]
        outputs.append(json.loads(result.stdout[result.stdout.index('{\n  "dag_id"') :]))
        sweep = next(s["result"] for s in outputs[-1]["steps"] if s["task"] == "reload_late_files")
        assert sweep["late_days"] == [] and sweep["alerts_raised"] == []
    reload_settings()
    return outputs, sample, settings


def test_run_prints_each_step_with_its_seconds(ran):
    outputs, sample, _ = ran
    assert {o["dag_id"] for o in outputs} == set(RUNNERS)
    for output in outputs:
        tasks = [s["task"] for s in output["steps"]]
        assert set(tasks) <= set(RUNNERS[output["dag_id"]].tasks)
        assert all(s["seconds"] >= 0 for s in output["steps"])
    avl = next(o for o in outputs if o["dag_id"] == "ingest_avl")
    load = next(s for s in avl["steps"] if s["task"] == "load_pings_and_patrol")
    assert (
        load["force"] == sample.force
        and load["result"]["rows_read"] == (load["result"]["rows_loaded"] + load["result"]["rows_quarantined"]) > 0
    )
    assert set(load["result"]["quarantined_by_reason"]) <= set(MOSTLY)


def test_run_gives_the_truth_hotspots_patrol_and_compliance(ran):
    _, sample, settings = ran
    truth = sample.truth("hotspots").sort_values("rank")["area_code"].tolist()
    assert [r[0] for r in rows_of(settings, "SELECT area_code FROM current_hotspots ORDER BY rank")] == truth
    patrol = sample.truth("patrol")
    got = {
        (a, d.isoformat()): (p, w, v, k, n)
        for a, d, p, w, v, k, n in rows_of(
            settings,
            "SELECT area_code, date, patrol_minutes, window_minutes, visits, koper_visits, devices FROM daily_patrol",
        )
    }
    assert set(got) == {(r.area_code, str(r.date)) for r in patrol.itertuples()}
    for r in patrol.itertuples():
        p, w, v, k, n = got[(r.area_code, str(r.date))]
        assert abs(p - r.patrol_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date)
        assert abs(w - r.window_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date)
        assert (v, k, n) == (r.visits, r.koper_visits, r.devices), (r.area_code, r.date)
    rows = rows_of(settings, "SELECT area_code, date, status FROM daily_compliance")
    compliance = {(a, d.isoformat()): s for a, d, s in rows}
    expected = {(r.area_code, str(r.date)): r.status for r in sample.truth("compliance").itertuples()}
    assert compliance == expected
    # the evening check's 'no_visit_yet' alerts are not in the truth (the demo runs no supervision DAG)
    alerts = {
        (rule, a, d.isoformat())
        for rule, a, d in rows_of(
            settings, "SELECT rule, area_code, date FROM alerts WHERE rule NOT IN ('no_visit_yet', 'planned')"
        )
    }
    assert alerts == {(r.rule, r.area_code, str(r.date)) for r in sample.truth("alerts").itertuples()}


def test_run_refuses_options_the_dag_does_not_take(settings):
    result = runner.invoke(app, ["run", "ingest_avl", "--month", "2024-02"])
    assert result.exit_code == 2 and "ingest_avl takes --day, not --month" in result.output
    result = runner.invoke(app, ["run", "patrol_compliance"])
    assert result.exit_code == 2 and "needs --dates" in result.output
    result = runner.invoke(app, ["run", "ingest_areas", "--force", "elsewhere"])
    assert result.exit_code == 2 and "elsewhere not in HOTSPOTS_FORCES" in result.output


def test_patrol_compliance_publishes_the_report_after_a_failed_delivery_then_fails(warehouse, slack_api, monkeypatch):
    """As the DAG: the report and snapshot are written after delivery, also when it gave up (the report shows it),
    and the run fails after them; the command exits 1."""
    from datetime import date

    from compliance_helpers import FORCE, add_patrol, add_selection

    from hotspots.report import report_path
    from hotspots.settings import reload_settings

    day = date(2024, 5, 1)
    add_selection(warehouse, ["A", "B"], day)
    add_patrol(warehouse, "A", day, 20, koper=1)  # B has no patrol: an under_target alert
    warehouse.close()
    monkeypatch.setenv("HOTSPOTS_FORCES", FORCE)
    monkeypatch.setenv("HOTSPOTS_ALERT_MAX_ATTEMPTS", "1")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_API_DEFAULT",
        json.dumps({"conn_type": "slack", "password": slack_api.token, "extra": {"base_url": slack_api.base_url}}),
    )
    slack_api.fail(*[("error", "channel_not_found")] * 20)
    settings = reload_settings()
    result = runner.invoke(app, ["run", "patrol_compliance", "--dates", day.isoformat()])
    assert result.exit_code == 1 and "Delivery failed" in result.output, result.output[-3000:]
    report = report_path(settings, FORCE, day).read_text()
    assert "<td>dead</td>" in report and "<td>pending</td>" not in report
    assert settings.snapshot_path.exists()
