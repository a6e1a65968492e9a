"""Operation Rowan end to end (`hotspots demo --scenario rowan`): 21 hot spots, 7 drawn a day, through real Airflow
with daily_plan and intraday_check, checked against the generator's truth (truth/<force>/plan.csv and the
plan-mode compliance and alerts)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest

from hotspots.demo import SCENARIOS, demo_plan, run_demo
from hotspots.local_airflow import run_plan
from hotspots.plan import draw
from hotspots.report import report_path
from hotspots.settings import Settings
from hotspots.warehouse import connect

pytestmark = pytest.mark.slow

ROWAN = SCENARIOS["rowan"]


@pytest.fixture(scope="module")
def rowan(tmp_path_factory):
    result = run_demo(tmp_path_factory.mktemp("rowan") / "data", scenario="rowan")
    sample = result.sample
    settings = Settings(**{k.removeprefix("HOTSPOTS_").lower(): v for k, v in sample.settings_env.items()})
    return result, sample, settings


def _query(settings, sql, params=(), path=None):
    con = connect(path or settings.snapshot_path, read_only=True, settings=settings)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_every_dag_ran_in_plan_mode(rowan):
    result, sample, settings = rowan
    assert settings.plan_k == ROWAN["plan_k"] == 7 and settings.hotspot_count == ROWAN["hotspot_count"] == 21
    assert settings.target_minutes == 15 and (settings.patrol_window_start, settings.patrol_window_end) == (
        time(14),
        time(0),
    )
    assert all(r["state"] == "success" for r in result.runs)
    dag_ids = [r["run"].split()[0] for r in result.runs]
    assert set(dag_ids) == {
        "ingest_areas",
        "ingest_crime",
        "select_hotspots",
        "ingest_avl",
        "patrol_compliance",
        "daily_plan",
        "intraday_check",
        "weekly_plan",
    }
    assert dag_ids.count("weekly_plan") == 2  # Fridays 26 April and 3 May, for the weeks of 29 April and 6 May
    days = len(sample.avl_dates)
    assert dag_ids.count("daily_plan") == dag_ids.count("intraday_check") == dag_ids.count("patrol_compliance") == days


def test_exactly_k_of_n_planned_every_day_and_the_draw_is_the_truths(rowan):
    _, sample, settings = rowan
    rows = _query(
        settings, "SELECT date, area_code, planned, draw_order, k, n, plan_seed, day_seed, selection_id FROM daily_plan"
    )
    hotspots = sample.truth("hotspots")["area_code"].tolist()
    by_day: dict[date, list] = {}
    for row in rows:
        by_day.setdefault(row[0], []).append(row)
    # The weeks published ahead: every day from the list's first day (1 May) to the Sunday after the last patrol day.
    assert sorted(by_day) == [date(2024, 5, 1) + timedelta(days=i) for i in range(12)]
    for day, day_rows in by_day.items():
        assert sorted(r[1] for r in day_rows) == sorted(hotspots), day
        drawn = sorted((r for r in day_rows if r[2]), key=lambda r: r[3])
        assert len(drawn) == 7 and {r[4] for r in day_rows} == {7} and {r[5] for r in day_rows} == {21}
        assert [r[3] for r in drawn] == list(range(1, 8))
        # The stored seed re-derives the draw (an evaluator's randomisation inference needs it).
        assert {r[6] for r in day_rows} == {ROWAN["plan_seed"]}
        assert draw(hotspots, 7, day_rows[0][7]) == [r[1] for r in drawn]
    truth = sample.truth("plan")
    expected = {
        (r.date, r.area_code, bool(r.planned), None if r.draw_order != r.draw_order else int(r.draw_order))
        for r in truth.itertuples()
    }
    assert {(d.isoformat(), a, p, o) for d, a, p, o, *_ in rows} == expected
    schedules = _query(settings, "SELECT week_start, revision, k, plan_seed, inputs FROM plan_schedules ORDER BY 1")
    assert [(w, r, k, p) for w, r, k, p, _ in schedules] == [
        (date(2024, 4, 29), 0, 7, ROWAN["plan_seed"]),
        (date(2024, 5, 6), 0, 7, ROWAN["plan_seed"]),
    ]
    for *_, inputs in schedules:  # the stored inputs re-derive every published draw
        for item in json.loads(inputs).values():
            assert draw(item["hotspots"], 7, item["day_seed"]) == item["drawn"]
    # Draws differ between days: the plan is randomised, not a fixed rota.
    assert len({tuple(sorted(r[1] for r in v if r[2])) for v in by_day.values()}) > 1


def test_compliance_in_plan_mode_is_the_truth(rowan):
    _, sample, settings = rowan
    got = {
        (a, d.isoformat()): rest
        for a, d, *rest in _query(
            settings,
            "SELECT area_code, date, planned, status, target_minutes, days_without_patrol, delivered_minutes "
            "FROM daily_compliance",
        )
    }
    truth = sample.truth("compliance")
    patrol = sample.truth("patrol").set_index(["area_code", "date"])
    assert set(got) == {(r.area_code, r.date) for r in truth.itertuples()}
    for r in truth.itertuples():
        planned, status, target, streak, delivered = got[(r.area_code, r.date)]
        assert (planned, status, target, streak) == (r.planned, r.status, r.target_minutes, r.days_without_patrol)
        tolerance = patrol.loc[(r.area_code, r.date), "tolerance_minutes"] if delivered else 0.0
        assert abs(delivered - r.delivered_minutes) <= tolerance + 1e-9
    assert {r.status for r in truth.itertuples() if not r.planned} == {"not_planned"}
    assert (~truth["planned"] & (truth["delivered_minutes"] > 0)).any(), "the sample has contamination"


def test_alerts_are_the_truth_and_under_target_only_for_planned(rowan):
    _, sample, settings = rowan
    got = {(rule, a, d.isoformat()) for rule, a, d in _query(settings, "SELECT rule, area_code, date FROM alerts")}
    truth = {(r.rule, r.area_code, r.date) for r in sample.truth("alerts").itertuples()}
    assert got == truth
    days = {d.isoformat() for d in sample.avl_dates}  # daily_plan, intraday and compliance ran on these
    planned = {(r.area_code, r.date) for r in sample.truth("plan").itertuples() if r.planned and r.date in days}
    for rule in ("under_target", "no_visit_yet", "planned", "recovered"):
        fired = {(a, d) for x, a, d in got if x == rule}
        assert fired and fired <= planned, rule
    assert {(a, d) for x, a, d in got if x == "planned"} == planned
    stray = {(a, d) for x, a, d in got if x == "contamination"}
    assert stray and not stray & planned


def test_contamination_figure_is_the_truths(rowan):
    _, sample, settings = rowan
    truth = sample.truth("compliance")
    got = {
        d.isoformat(): rest
        for d, *rest in _query(
            settings,
            "SELECT date, unplanned_hotspots, contaminated_hotspots, contamination_minutes FROM daily_contamination",
        )
    }
    patrol = sample.truth("patrol").set_index(["area_code", "date"])["tolerance_minutes"]
    for day, group in truth.groupby("date"):
        stray = group[~group["planned"]]
        hit = stray[stray["delivered_minutes"] > 0]
        tolerance = sum(patrol[(r.area_code, day)] for r in hit.itertuples())
        unplanned, contaminated, minutes = got[day]
        assert (unplanned, contaminated) == (14, len(hit)), day
        assert abs(minutes - hit["delivered_minutes"].sum()) <= tolerance + 1e-9, day
        text = report_path(settings, sample.force, date.fromisoformat(day)).read_text()
        assert f"on {len(hit)} of the 14 hot spots not drawn today" in text, day
    assert sum(v[1] for v in got.values()) > 0
    # The digest: one contamination line per hot spot patrolled though not drawn, in the outbox files.
    files = [f.read_text() for f in settings.outbox_dir.rglob("*.json")]
    assert sum('"rule": "contamination"' in f for f in files) == sum(v[1] for v in got.values())


def test_a_report_for_every_evaluated_day(rowan):
    _, sample, settings = rowan
    truth = sample.truth("compliance")
    for day in sample.avl_dates:
        path = report_path(settings, sample.force, day)
        assert path.exists(), path
        found = dict(re.findall(r'<g class="hotspot" data-area="([^"]+)" data-status="([^"]+)"', path.read_text()))
        expected = {r.area_code: r.status for r in truth.itertuples() if r.date == day.isoformat()}
        assert found == expected, day


def test_every_mart_reads_in_plan_mode(rowan):
    _, sample, settings = rowan
    relations = _query(
        settings,
        "SELECT table_name FROM duckdb_tables() WHERE NOT internal UNION "
        "SELECT view_name FROM duckdb_views() WHERE NOT internal",
    )
    counts = {name: _query(settings, f'SELECT count(*) FROM "{name}"')[0][0] for (name,) in relations}
    assert counts["daily_plan"] == 21 * 12 and counts["current_hotspots"] == 21  # the published weeks, 1-12 May
    assert counts["plan_schedules"] == 2 and counts["daily_contamination"] == len(sample.avl_dates)
    status = dict(_query(settings, "SELECT rule, count(*) FROM alerts_status GROUP BY rule"))
    assert status == sample.truth("alerts")["rule"].value_counts().to_dict()


def test_rerun_keeps_the_plan_and_raises_nothing(rowan):
    result, sample, settings = rowan
    schedules_before = _query(
        settings, "SELECT * FROM plan_schedules ORDER BY week_start", path=settings.warehouse_path
    )
    plan_before = _query(settings, "SELECT * FROM daily_plan ORDER BY ALL", path=settings.warehouse_path)
    alerts_before = _query(
        settings, "SELECT alert_key, created_at FROM alerts ORDER BY 1", path=settings.warehouse_path
    )
    day = sample.avl_dates[-1]
    plan = [
        s
        for s in demo_plan(sample.crime_months, [day], [day], plan_mode=True)
        if s.dag_id in ("weekly_plan", "daily_plan", "intraday_check", "ingest_avl", "patrol_compliance")
    ]
    assert [s.dag_id for s in plan] == [
        "weekly_plan",
        "daily_plan",
        "intraday_check",
        "ingest_avl",
        "patrol_compliance",
    ]
    assert datetime.fromisoformat(plan[0].logical_date) == datetime(2024, 5, 3, 11, tzinfo=timezone.utc)
    assert datetime.fromisoformat(plan[1].logical_date) == datetime(2024, 5, 7, 7, tzinfo=timezone.utc)
    runs = run_plan(plan, result.airflow_home, sample.settings_env)
    assert all(r["state"] == "success" for r in runs)
    assert _query(settings, "SELECT * FROM daily_plan ORDER BY ALL", path=settings.warehouse_path) == plan_before
    assert (
        _query(settings, "SELECT alert_key, created_at FROM alerts ORDER BY 1", path=settings.warehouse_path)
        == alerts_before
    )
    assert _query(settings, "SELECT * FROM plan_schedules ORDER BY week_start", path=settings.warehouse_path) == (
        schedules_before
    )
