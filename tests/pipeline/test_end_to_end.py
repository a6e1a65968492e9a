"""The main job end to end through real Airflow (dag.test on SQLite), checked against the generator's truth."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest
from settings_env import LAKE_VARIABLES, settings_of

from hotspots.demo import demo_plan, run_demo
from hotspots.local_airflow import run_plan
from hotspots.warehouse import connect, open_snapshot

pytestmark = pytest.mark.slow

MARTS = ("hotspot_ranking", "selections", "daily_patrol", "daily_compliance", "stg_crimes", "stg_pings", "quarantine")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    result = run_demo(data_dir)
    sample = result.sample
    lake = {k: os.environ[k] for k in LAKE_VARIABLES if k in os.environ}  # a room run on a DuckLake
    settings = settings_of(sample.settings_env | lake)
    return result, sample, settings


def _query(settings, sql, params=()):
    with open_snapshot(settings) as con:  # the analysts' door: the snapshot file, or the lake read in place
        return con.execute(sql, list(params)).fetchall()


def _table_digest(settings) -> dict[str, list]:
    """Content of every mart, minus load timestamps, for comparing runs."""
    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        out = {}
        for table in MARTS:
            columns = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND column_name NOT IN "
                    "('loaded_at', 'computed_at', 'created_at', 'quarantined_at', 'geom')",
                    [table],
                ).fetchall()
            ]
            cols = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def test_every_dag_run_succeeded(demo):
    result, sample, _ = demo
    assert result.runs and all(r["state"] == "success" for r in result.runs)
    assert {r["run"].split()[0] for r in result.runs} == {
        "ingest_areas",
        "ingest_crime",
        "select_hotspots",
        "ingest_avl",
        "patrol_compliance",
    }


def test_selected_hotspots_equal_ground_truth(demo):
    result, sample, settings = demo
    truth = sample.truth("hotspots").sort_values("rank")["area_code"].tolist()
    chosen = [r[0] for r in _query(settings, "SELECT area_code FROM current_hotspots ORDER BY rank")]
    assert chosen == truth
    assert result.summary["hotspots"] == truth


def test_patrol_minutes_match_ground_truth(demo):
    _, sample, settings = demo
    truth = sample.truth("patrol")
    rows = _query(
        settings,
        "SELECT area_code, date, patrol_minutes, officer_minutes, visits, koper_visits, devices, "
        "window_minutes, longest_visit_minutes FROM daily_patrol",
    )
    got = {(a, d.isoformat()): (p, o, v, k, n, w, lv) for a, d, p, o, v, k, n, w, lv in rows}
    expected_keys = {(r.area_code, str(r.date)) for r in truth.itertuples()}
    assert set(got) == expected_keys
    for r in truth.itertuples():
        p, o, v, k, n, w, lv = got[(r.area_code, str(r.date))]
        assert abs(p - r.patrol_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date, p, r.patrol_minutes)
        assert abs(w - r.window_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date, w, r.window_minutes)
        longest = r.longest_visit_minutes
        assert abs(lv - longest) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date, lv, longest)
        assert (v, k, n) == (r.visits, r.koper_visits, r.devices), (r.area_code, r.date)


def test_alerts_are_exactly_the_truth_and_one_file_each(demo):
    _, sample, settings = demo
    truth = {(r.rule, r.area_code, str(r.date)) for r in sample.truth("alerts").itertuples()}
    got = {
        (rule, area, d.isoformat()) for rule, area, d in _query(settings, "SELECT rule, area_code, date FROM alerts")
    }
    assert got == truth
    under = {(a, d) for rule, a, d in truth if rule == "under_target"}
    expected_under = {
        (r.area_code, str(r.date)) for r in sample.truth("compliance").itertuples() if r.status in ("under", "none")
    }
    assert under == expected_under
    files = sorted(settings.outbox_dir.rglob("*.json"))
    assert len(files) == len(truth)
    for f in files:
        body = json.loads(f.read_text())
        assert "device" not in json.dumps(body).lower()


def test_rerun_of_the_same_interval_changes_nothing_and_raises_nothing(demo):
    result, sample, settings = demo
    before = _table_digest(settings)
    alerts_before = _query(settings, "SELECT alert_key, created_at FROM alerts ORDER BY 1")
    day: date = sample.avl_dates[-1]
    plan = [spec for spec in demo_plan(sample.crime_months, [day], [day])]
    plan = [s for s in plan if s.dag_id in ("ingest_avl", "patrol_compliance", "select_hotspots", "ingest_crime")]
    runs = run_plan(plan, result.airflow_home, sample.settings_env)
    assert all(r["state"] == "success" for r in runs)
    assert _table_digest(settings) == before
    assert _query(settings, "SELECT alert_key, created_at FROM alerts ORDER BY 1") == alerts_before


def test_demo_runs_have_real_start_and_end_times(demo):
    """dag.test() starts a run at its logical date (2024); the demo records when each run really ran."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    result, _, _ = demo
    con = sqlite3.connect(result.airflow_home / "airflow.db")
    try:
        times = con.execute("SELECT start_date, end_date FROM dag_run").fetchall()
    finally:
        con.close()
    assert len(times) >= len(result.runs)
    now = datetime.now(timezone.utc)
    for start, end in times:
        began, ended = (datetime.fromisoformat(t).replace(tzinfo=timezone.utc) for t in (start, end))
        assert now - timedelta(hours=3) < began <= ended <= now, (start, end)
        assert ended - began < timedelta(minutes=30)
