"""A day without any GPS data: status no_data, no under-target or no_patrol alert that day, and the escalation
fires once when a streak crosses its threshold across that day."""

from __future__ import annotations

import json
from datetime import date

from compliance_helpers import FORCE, add_feed, add_patrol, add_selection, days

D1 = date(2024, 5, 1)
D = days(D1, 7)
DARK = D[3]  # 4 May: no ping files at all


def key(rule, code, day):
    return f"{rule}|{FORCE}|{code}|{day.isoformat()}"


def run(con, settings, which):
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    raised = []
    for day in which:
        build_compliance(con, force=FORCE, date=day, settings=settings)
        raised += raise_alerts(con, force=FORCE, date=day, settings=settings)
    return raised


def statuses(con, code):
    return con.execute(
        "SELECT date, status, days_without_patrol FROM daily_compliance WHERE area_code = ? ORDER BY date", [code]
    ).fetchall()


def test_four_day_streak_with_a_no_data_day_escalates_once(warehouse, settings):
    """A is patrolled on 1 May, then not from 2 to 5 May (4 days), with 4 May dark; B is patrolled on every day
    that has data. The escalation (alarm_days 3) is due on 4 May, which has no data: it fires on 5 May, and not
    again on 6 and 7 May in the same streak."""
    add_selection(warehouse, ["A", "B"], D1)
    add_patrol(warehouse, "A", D[0], 20, koper=1)
    for day in D:
        if day != DARK:
            add_feed(warehouse, day)
            add_patrol(warehouse, "B", day, 20, koper=1)
    raised = run(warehouse, settings, D)

    assert statuses(warehouse, "A") == [
        (D[0], "met", 0),
        (D[1], "none", 1),
        (D[2], "none", 2),
        (DARK, "no_data", 3),
        (D[4], "none", 4),
        (D[5], "none", 5),
        (D[6], "none", 6),
    ]
    assert [s for _, s, _ in statuses(warehouse, "B")] == ["met", "met", "met", "no_data", "met", "met", "met"]
    assert sorted(raised) == sorted(
        [key("under_target", "A", d) for d in (D[1], D[2], D[4], D[5], D[6])]
        + [key("no_data", "A", DARK), key("no_data", "B", DARK), key("no_patrol", "A", D[4])]
    )
    escalation = json.loads(
        warehouse.execute("SELECT details FROM alerts WHERE alert_key = ?", [key("no_patrol", "A", D[4])]).fetchone()[0]
    )
    assert escalation["days_without_patrol"] == 4 and escalation["last_patrol_date"] == "2024-05-01"
    # The dark day neither counts as target missed nor as met in the 7-day ratio: B delivered 20 of 15 on 6 days.
    ratio = warehouse.execute(
        "SELECT ratio_7d FROM daily_compliance WHERE area_code = 'B' AND date = ?", [D[6]]
    ).fetchone()[0]
    assert ratio == 120 / 90
    assert run(warehouse, settings, D) == []  # a rerun raises nothing new


def test_a_new_streak_escalates_again(warehouse, settings):
    """Once per streak, not once ever: a patrol ends the streak and the next one escalates on its own day 3."""
    add_selection(warehouse, ["A"], D1)
    for day in D:
        add_feed(warehouse, day)
    add_patrol(warehouse, "A", D[3], 20)
    raised = run(warehouse, settings, D)
    escalations = [k for k in raised if k.startswith("no_patrol")]
    assert escalations == [key("no_patrol", "A", D[2]), key("no_patrol", "A", D[6])]


def test_digest_says_no_gps_data(warehouse, settings):
    from hotspots.alerts.messages import Digest, plain_text, slack_message
    from hotspots.alerts.outbox import open_alerts

    add_selection(warehouse, ["A"], D1)
    run(warehouse, settings, [D1])
    rows = open_alerts(warehouse, "slack")
    assert [r["rule"] for r in rows] == ["no_data"]
    digest = Digest("slack", "default", "#hotspots", tuple(rows))
    text = plain_text(digest)
    assert "No GPS data on 2024-05-01" in text and "1 no GPS data" in text and "under target" not in text
    assert "no GPS data" in slack_message(digest)[0]
