"""The weekly schedule of the randomised plan: published ahead, immutable, re-derivable, redrawn only with a reason,
sent to supervisors on Slack and by email, exported as CSV."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from datetime import date, timedelta

import pytest
import warehouse_rows as rows
from typer.testing import CliRunner
from warehouse_query import rows_of

from hotspots.cli import app

WEEK = date(2024, 6, 3)  # a Monday; the hand-built list sel-1 is in force, no day of the week is evaluated yet
DAYS = [WEEK + timedelta(days=i) for i in range(7)]
K = 2
SEED = 11


@pytest.fixture
def plan_settings(tmp_path, monkeypatch):
    from hotspots.settings import reload_settings

    rows.isolated_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("HOTSPOTS_PLAN_K", str(K))
    monkeypatch.setenv("HOTSPOTS_PLAN_SEED", str(SEED))
    settings = reload_settings()
    rows.build_warehouse(settings)
    return settings


def _publish(settings, **kwargs):
    from hotspots.schedule import publish_week
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        return publish_week(con, force=rows.FORCE, week_start=WEEK, settings=settings, **kwargs)


def _seed(day: date, suffix: str = "") -> int:
    """docs/alerts.md: first 63 bits of sha256('plan_seed|force|date[|r<revision>]')."""
    digest = hashlib.sha256(f"{SEED}|{rows.FORCE}|{day.isoformat()}{suffix}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _plan(settings):
    return rows_of(
        settings,
        "SELECT date, area_code, planned, draw_order, day_seed, created_at FROM daily_plan WHERE date >= ? "
        "ORDER BY ALL",
        [WEEK],
    )


def test_the_week_is_published_once_with_what_re_derives_it(plan_settings):
    from hotspots.schedule import week_covered

    assert week_covered(date(2024, 5, 31)) == WEEK  # published on the Friday before
    first = _publish(plan_settings)
    assert first["published"] and first["revision"] == 0
    plan = _plan(plan_settings)
    assert len(plan) == 7 * len(rows.HOTSPOTS)
    for day in DAYS:
        drawn = [r[1] for r in sorted((r for r in plan if r[0] == day and r[2]), key=lambda r: r[3])]
        assert drawn == random.Random(_seed(day)).sample(sorted(rows.HOTSPOTS), K), day
    ((revision, k, seed, method, inputs, reason, superseded),) = rows_of(
        plan_settings, "SELECT revision, k, plan_seed, method, inputs, reason, superseded_at FROM plan_schedules"
    )
    assert (revision, k, seed, reason, superseded) == (0, K, SEED, None, None)
    assert "sha256" in method and "random.Random" in method
    inputs = json.loads(inputs)
    assert sorted(inputs) == [d.isoformat() for d in DAYS]
    for day, item in inputs.items():
        assert item["selection_id"] == "sel-1" and item["hotspots"] == sorted(rows.HOTSPOTS)
        assert random.Random(item["day_seed"]).sample(item["hotspots"], K) == item["drawn"]
    # Rerun: nothing changes, nothing is sent again.
    alerts = rows_of(plan_settings, "SELECT alert_key, created_at FROM alerts WHERE rule = 'weekly_plan' ORDER BY 1")
    drawn_codes = {code for item in inputs.values() for code in item["drawn"]}
    assert {key.split("|")[2] for key, _ in alerts} == drawn_codes
    again = _publish(plan_settings)
    assert not again["published"] and again["alerts_raised"] == []
    assert _plan(plan_settings) == plan
    assert rows_of(plan_settings, "SELECT alert_key, created_at FROM alerts WHERE rule = 'weekly_plan' ORDER BY 1") == (
        alerts
    )


def test_a_published_day_keeps_its_plan_when_the_list_changes(plan_settings):
    from hotspots.plan import make_plan
    from hotspots.warehouse import open_warehouse

    _publish(plan_settings)
    before = _plan(plan_settings)
    with open_warehouse(plan_settings) as con:
        con.execute("UPDATE selections SET effective_to = DATE '2024-06-04' WHERE selection_id = 'sel-1'")
        con.execute(
            "INSERT INTO selections (force, selection_id, effective_from, effective_to, params, hotspots, added, "
            "removed, created_at) VALUES (?, 'sel-2', DATE '2024-06-05', NULL, '{}', ?, [], [], now())",
            [rows.FORCE, ["T01", "T02", "T03", "T04", "T05"]],
        )
        planned = make_plan(con, force=rows.FORCE, date=date(2024, 6, 6), settings=plan_settings)
    assert planned == [r[1] for r in sorted(before, key=lambda r: r[3] or 0) if r[0] == date(2024, 6, 6) and r[2]]
    assert _plan(plan_settings) == before


def test_a_redraw_needs_a_reason_and_is_recorded(plan_settings):
    from hotspots.schedule import ScheduleError

    _publish(plan_settings)
    with pytest.raises(ScheduleError, match="reason"):
        _publish(plan_settings, redraw=True)
    result = _publish(plan_settings, redraw=True, reason="selection corrected after a data fix")
    assert result["published"] and result["revision"] == 1
    history = rows_of(plan_settings, "SELECT revision, reason, superseded_at IS NULL FROM plan_schedules ORDER BY 1")
    assert history == [(0, None, False), (1, "selection corrected after a data fix", True)]
    plan = _plan(plan_settings)
    assert {r[4] for r in plan if r[0] == DAYS[0]} == {_seed(DAYS[0], "|r1")}
    for day in DAYS:
        drawn = [r[1] for r in sorted((r for r in plan if r[0] == day and r[2]), key=lambda r: r[3])]
        assert drawn == random.Random(_seed(day, "|r1")).sample(sorted(rows.HOTSPOTS), K), day
    keys = [k for (k,) in rows_of(plan_settings, "SELECT alert_key FROM alerts WHERE rule = 'weekly_plan'")]
    assert any(k.endswith("|r1") for k in keys) and any(k.endswith("|r0") for k in keys)


def test_an_evaluated_week_cannot_be_redrawn(plan_settings, monkeypatch):
    from hotspots.schedule import ScheduleError, publish_week
    from hotspots.warehouse import open_warehouse

    with open_warehouse(plan_settings) as con:  # May: the hand-built warehouse has compliance for every day
        publish_week(con, force=rows.FORCE, week_start=date(2024, 5, 27), settings=plan_settings)
        with pytest.raises(ScheduleError, match="already evaluated"):
            publish_week(
                con, force=rows.FORCE, week_start=date(2024, 5, 27), settings=plan_settings, redraw=True, reason="x"
            )


def test_supervisors_get_the_week_on_slack_and_by_email(plan_settings, slack_api, smtp_server, monkeypatch):
    from hotspots.alerts.targets import SlackTarget, SmtpTarget
    from hotspots.pipeline import deliver_alerts

    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_API_DEFAULT",
        json.dumps({"conn_type": "slack", "password": slack_api.token, "extra": {"base_url": slack_api.base_url}}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp_server.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 2},
            }
        ),
    )
    _publish(plan_settings)
    from hotspots.warehouse import open_warehouse

    with open_warehouse(plan_settings) as con:  # only the week's lines: the hand-built May alerts count as sent
        con.execute("UPDATE alerts SET slack_status = 'sent', email_status = 'sent' WHERE rule <> 'weekly_plan'")
    slack = SlackTarget(timeout=0.5, retries=2, backoff_s=0.01, min_interval_s=0.0)
    deliver_alerts(plan_settings, slack=slack, smtp=SmtpTarget(from_addr="hotspots@example.org"))
    inputs = json.loads(rows_of(plan_settings, "SELECT inputs FROM plan_schedules")[0][0])
    drawn = {code for item in inputs.values() for code in item["drawn"]}
    sections = [b for m in slack_api.delivered() for b in m["blocks"] if b["type"] == "section"]
    weekly = [b for b in sections if b["block_id"].startswith("weekly_plan|")]
    assert {b["block_id"].split("|")[2] for b in weekly} == drawn
    code = sorted(drawn)[0]
    days = [d for d, item in sorted(inputs.items()) if code in item["drawn"]]
    text = next(b["text"]["text"] for b in weekly if b["block_id"].split("|")[2] == code)
    assert f"Plan for the week {WEEK} to {DAYS[-1]}: {len(days)} days" in text
    assert ", ".join(date.fromisoformat(d).strftime("%a %d %b") for d in days) in text
    mail = "".join(message.as_string() for _, message in smtp_server.received)
    assert "in the week's plan" in mail and f"Plan for the week {WEEK}" in mail


def test_cli_publishes_exports_and_refuses_bad_requests(plan_settings, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["plan-week", "--week", "2024-06-04"])
    assert bad.exit_code == 2 and "Error: 2024-06-04 is a Tuesday" in bad.output
    done = runner.invoke(app, ["plan-week", "--week", WEEK.isoformat()])
    assert done.exit_code == 0, done.output
    no_reason = runner.invoke(app, ["plan-week", "--week", WEEK.isoformat(), "--redraw"])
    assert no_reason.exit_code == 2 and "needs its reason" in no_reason.output
    out = tmp_path / "plan.csv"
    exported = runner.invoke(app, ["export", "plan", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    with out.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["date", "area_code", "planned"]
    stored = rows_of(plan_settings, "SELECT date::VARCHAR, area_code, planned FROM daily_plan")
    assert {(r["date"], r["area_code"], r["planned"] == "True") for r in table} == set(stored)
    assert sum(r["planned"] == "True" for r in table if r["date"] == WEEK.isoformat()) == K


def test_weekly_plan_dag_runner_publishes_the_next_week(plan_settings):
    result = CliRunner().invoke(app, ["run", "weekly_plan", "--day", "2024-05-31", "--json"])
    assert result.exit_code == 0, result.output
    assert rows_of(plan_settings, "SELECT week_start, revision FROM plan_schedules") == [(WEEK, 0)]
