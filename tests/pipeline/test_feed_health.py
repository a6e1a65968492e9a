"""Feed health on the generated sample: a UTC day without ping files and a gap mid-shift, through `hotspots run`
and through the ingest_avl DAG's own task functions. Truth: the files removed from a copy of the sample."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from settings_env import use_only_env
from typer.testing import CliRunner
from warehouse_query import rows_of

from hotspots.cli import app

runner = CliRunner()
DARK = date(2024, 5, 4)  # its landing folder is removed
GAPPED = date(2024, 5, 6)  # its files for 15:00-18:59 UTC (16:00-19:59 BST) are removed
GAP_HOURS = ("15", "16", "17", "18")


@pytest.fixture(scope="module")
def broken(sample, tmp_path_factory):
    """The demo plan through `hotspots run`, every AVL day of the sample, on a copy missing those files."""
    from hotspots.demo import demo_plan
    from hotspots.settings import reload_settings

    data_dir = tmp_path_factory.mktemp("feed") / "data"
    shutil.copytree(sample.out_dir, data_dir)
    avl = data_dir / "landing" / sample.force / "avl"
    shutil.rmtree(avl / DARK.isoformat())
    for hour in GAP_HOURS:
        (avl / GAPPED.isoformat() / f"pings-{hour}.csv").unlink(missing_ok=True)
    env = sample.settings_env | {"HOTSPOTS_DATA_DIR": str(data_dir)}
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        settings = use_only_env(mp, env)
        for spec in demo_plan(sample.crime_months, sample.avl_dates, sample.avl_dates):
            args = ["run", spec.dag_id]
            for option, value in spec.conf.items():
                args += [f"--{option}", ",".join(value) if isinstance(value, list) else value]
            result = runner.invoke(app, args)
            results[(spec.dag_id, json.dumps(spec.conf))] = result
        yield results, sample, settings
    reload_settings()


def _feed_alerts(settings):
    rows = rows_of(settings, "SELECT area_code, date, team, audience, details FROM alerts WHERE rule = 'feed_missing'")
    return {(code, day): (team, audience, json.loads(details)) for code, day, team, audience, details in rows}


def test_a_day_without_files_fails_its_run_and_alerts_the_data_engineers(broken):
    results, sample, settings = broken
    dark = results[("ingest_avl", json.dumps({"day": DARK.isoformat()}))]
    assert dark.exit_code == 1 and "Feed missing: No ping files for synthetic on 2024-05-04" in dark.output
    others = [r for (dag_id, conf), r in results.items() if DARK.isoformat() not in conf]
    assert all(r.exit_code == 0 for r in others), [r.output[-2000:] for r in others if r.exit_code]

    alerts = _feed_alerts(settings)
    team, audience, details = alerts[("feed:no_files", DARK)]
    assert (team, audience) == ("data_engineers", "data_engineers")
    # Local 4 May (BST) starts at 23:00 UTC on 3 May: only that hour's file, if any, reaches it.
    before = (sample.landing_dir / sample.force / "avl" / "2024-05-03" / "pings-23.csv").exists()
    assert details["force"] == "synthetic" and details["seen_files"] == int(before)
    assert details["hours"] == "00:00-00:00"  # the whole local day
    # Expected: per local hour, the median files over the days before that had that hour (one file per UTC hour,
    # BST = UTC + 1); an hour counts once at least feed_norm_min_days (3) days had it: 1 May to 3 May.
    had = {}
    for day in sample.avl_dates[:3]:
        for path in (sample.landing_dir / sample.force / "avl" / day.isoformat()).glob("pings-*.csv"):
            local = (day, int(path.stem[-2:]) + 1) if int(path.stem[-2:]) < 23 else (None, 0)
            had.setdefault(local[1], set()).add(local[0])
    assert details["expected_files"] == sum(1 for days in had.values() if len(days - {None}) >= 3)
    assert details["expected_devices"] >= 1
    assert ("feed:no_files", GAPPED) not in alerts


def test_the_dark_day_is_no_data_and_the_streak_escalates_once(broken):
    _, sample, settings = broken
    statuses = rows_of(settings, "SELECT DISTINCT status FROM daily_compliance WHERE date = ?", [DARK])
    assert statuses == [("no_data",)]
    assert rows_of(settings, "SELECT count(*) FROM daily_compliance")[0][0] == 10 * len(sample.avl_dates)
    rules = dict(rows_of(settings, "SELECT rule, count(*) FROM alerts WHERE date = ? GROUP BY rule", [DARK]))
    assert set(rules) == {"no_data", "feed_missing"} and rules["no_data"] == 10
    # The truth's escalation (unpatrolled 2 to 5 May, due on 4 May) comes on 5 May, once.
    truth = [(r.area_code, str(r.date)) for r in sample.truth("alerts").itertuples() if r.rule == "no_patrol"]
    assert truth == [("E01900075", DARK.isoformat())]
    got = rows_of(settings, "SELECT area_code, date, details FROM alerts WHERE rule = 'no_patrol'")
    assert [(a, d.isoformat()) for a, d, _ in got] == [("E01900075", "2024-05-05")]
    assert json.loads(got[0][2])["days_without_patrol"] == 4


def test_a_gap_mid_shift_is_reported_with_its_hours(broken):
    _, _, settings = broken
    team, _, details = _feed_alerts(settings)[("feed:gap", GAPPED)]
    assert team == "data_engineers" and details["kind"] == "gap"
    # The removed files leave no ping from 16:00 to 20:00 BST: one reported stretch covers them.
    spans = [tuple(part.split("-")) for part in details["hours"].split(", ")]
    assert any(lo <= "16:00" and hi >= "20:00" for lo, hi in spans), details["hours"]
    assert details["longest_gap_minutes"] >= 240
    assert not [k for k in _feed_alerts(settings) if k[1] not in (DARK, GAPPED)]  # the clean days stay quiet


def test_the_dag_task_fails_the_run_for_the_missing_day(broken):
    """The ingest_avl DAG's own task functions on the step's result: the check task raises, so the run fails."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import AirflowFailException

    from hotspots.pipeline import ingest_avl
    from hotspots.settings import PROJECT_ROOT

    _, sample, settings = broken
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "ingest_avl.py")).dags["ingest_avl"]
    check = dag.get_task("fail_run_if_feed_missing")
    assert set(check.upstream_task_ids) == {"deliver_alerts", "load_pings_and_patrol"}
    result = ingest_avl(sample.force, DARK, settings)
    assert result["files"] == [] and result["complete_dates"] == [DARK.isoformat()]
    assert result["feed_missing"] == []  # already raised by the first run: never twice
    with pytest.raises(AirflowFailException, match="No ping files for synthetic on 2024-05-04"):
        check.python_callable([result])
    assert check.python_callable([ingest_avl(sample.force, GAPPED, settings)]) is None
