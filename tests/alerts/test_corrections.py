"""Alerts that stay true: a day recomputed after late GPS corrects (or withdraws) the alerts it raised, once, in one
follow-up message; a late file inside a no-patrol streak does not escalate it twice."""

from __future__ import annotations

import json
from datetime import date

from compliance_helpers import FORCE, add_feed, add_patrol, add_selection, days

D = days(date(2024, 5, 1), 4)


def evaluate(con, settings, which):
    from hotspots.alerts.corrections import raise_corrections
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    raised = []
    for day in which:
        build_compliance(con, force=FORCE, date=day, settings=settings)
        raised += raise_corrections(con, force=FORCE, date=day, settings=settings)
        raised += raise_alerts(con, force=FORCE, date=day, settings=settings)
    return raised


def test_late_gps_withdraws_the_under_target_alert_once(warehouse, settings):
    add_selection(warehouse, ["A", "B"], D[0])
    for day in D:
        add_feed(warehouse, day)
    first = evaluate(warehouse, settings, D)
    assert f"under_target|{FORCE}|A|2024-05-02" in first and f"no_patrol|{FORCE}|B|2024-05-03" in first

    add_patrol(warehouse, "A", D[1], 23.5, koper=1)  # late GPS: A had 23.5 min on 2 May
    add_patrol(warehouse, "B", D[1], 0.0, window=0)  # late pings near B, no patrol: the streak stands
    again = evaluate(warehouse, settings, D[1:])
    corrections = sorted(k for k in again if k.startswith("correction|"))
    assert [k.rsplit("|", 1)[0] for k in corrections] == [f"correction|{FORCE}|A|{d.isoformat()}" for d in D[1:]]
    assert not [k for k in again if k.startswith("no_patrol|")]  # B's streak is not escalated twice

    def details(key):
        return json.loads(warehouse.execute("SELECT details FROM alerts WHERE alert_key = ?", [key]).fetchone()[0])

    may2, may3, may4 = (details(k) for k in corrections)
    assert may2["withdrawn"] == [f"under_target|{FORCE}|A|2024-05-02"] and may2["status"] == "met"
    assert may2["delivered_minutes"] == 23.5 and may2["updated"] == []
    # A's 3 May escalation (3 days without patrol) no longer holds: 1 day since the late patrol.
    assert may3["withdrawn"] == [f"no_patrol|{FORCE}|A|2024-05-03"]
    assert may3["updated"] == [f"under_target|{FORCE}|A|2024-05-03"] and may3["now"]["days_without_patrol"] == 1
    assert may4["withdrawn"] == [] and may4["now"]["days_without_patrol"] == 2
    assert evaluate(warehouse, settings, D[1:]) == []  # once

    from hotspots.alerts.messages import Digest, plain_text
    from hotspots.alerts.outbox import open_alerts

    rows = [r for r in open_alerts(warehouse, "slack") if r["alert_key"] == corrections[0]]
    text = plain_text(Digest("slack", "default", "#hotspots", tuple(rows)))
    assert "Correction for 2024-05-02: the earlier alert is withdrawn" in text
    assert "23.5 min after late GPS, target met · withdrawn: under target" in text


def test_the_correction_is_one_follow_up_and_the_original_is_edited(warehouse, settings, slack_api, monkeypatch):
    from test_delivery import slack_connection

    from hotspots.alerts.outbox import deliver_pending
    from hotspots.alerts.targets import SlackTarget

    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", slack_connection(slack_api))
    slack = SlackTarget(timeout=2, retries=1, backoff_s=0.01, min_interval_s=0.0)
    add_selection(warehouse, ["A", "B"], D[0])
    add_feed(warehouse, D[0])
    add_patrol(warehouse, "B", D[0], 20)
    evaluate(warehouse, settings, D[:1])
    deliver_pending(warehouse, settings=settings, slack=slack, smtp=None)
    assert len(slack_api.delivered()) == 1  # A under target on 1 May

    add_patrol(warehouse, "A", D[0], 23.5)  # late GPS
    assert [k.rsplit("|", 1)[0] for k in evaluate(warehouse, settings, D[:1])] == [f"correction|{FORCE}|A|2024-05-01"]
    summary = deliver_pending(warehouse, settings=settings, slack=slack, smtp=None)
    assert summary["slack"]["messages"] == 1 and summary["slack"]["edited"] == 1
    original, follow_up = slack_api.delivered()
    assert "Correction for 2024-05-01: the earlier alert is withdrawn" in json.dumps(follow_up["blocks"])
    section = next(b for b in original["blocks"] if b.get("block_id") == f"under_target|{FORCE}|A|2024-05-01")
    assert original.get("edited") and section["text"]["text"].startswith("*Withdrawn after late GPS")
    assert "~" in section["text"]["text"]
    again = deliver_pending(warehouse, settings=settings, slack=slack, smtp=None)
    assert again["slack"]["messages"] == 0 and len(slack_api.delivered()) == 2  # sent once
