"""Alert rules against hand-built compliance histories: exactly the expected alarms, escalations, recoveries."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from compliance_helpers import FORCE, add_feed, add_patrol, add_selection, days

D1 = date(2024, 5, 1)
DAYS = days(D1, 7)


def key(rule, code, day):
    return f"{rule}|{FORCE}|{code}|{day.isoformat()}"


@pytest.fixture
def history(warehouse):
    """A: met except an under day on D2 (recovers D3). B: never patrolled. C: met D1, dark D2-D4, met D5, dark after."""
    add_selection(warehouse, ["A", "B", "C"], D1)
    for day in DAYS:
        add_patrol(warehouse, "A", day, 16, koper=1)
    add_patrol(warehouse, "A", DAYS[1], 8, window=4)
    add_patrol(warehouse, "C", DAYS[0], 15)
    add_patrol(warehouse, "C", DAYS[4], 30, window=25, koper=2)
    return warehouse


def run_days(con, settings, which=DAYS):
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    raised = []
    for day in which:
        build_compliance(con, force=FORCE, date=day, settings=settings)
        raised += raise_alerts(con, force=FORCE, date=day, settings=settings)
    return raised


def test_exact_alarms_escalations_and_recoveries(history, settings):
    raised = run_days(history, settings)
    expected = (
        [key("under_target", "A", DAYS[1]), key("recovered", "A", DAYS[2])]
        + [key("under_target", "B", d) for d in DAYS]
        + [key("no_patrol", "B", DAYS[2])]
        + [key("under_target", "C", d) for d in (DAYS[1], DAYS[2], DAYS[3], DAYS[5], DAYS[6])]
        + [key("no_patrol", "C", DAYS[3]), key("recovered", "C", DAYS[4])]
    )
    assert sorted(raised) == sorted(expected)
    assert len(raised) == len(set(raised))
    rows = history.execute(
        "SELECT alert_key, severity, audience, team, slack_status, email_status, file_status FROM alerts"
    ).fetchall()
    by_key = {r[0]: r[1:] for r in rows}
    assert by_key[key("no_patrol", "C", DAYS[3])] == ("critical", "escalation", "default", "pending", "pending", "sent")
    assert by_key[key("recovered", "A", DAYS[2])][:2] == ("info", "supervisors")
    assert by_key[key("under_target", "B", DAYS[0])][:2] == ("warning", "supervisors")

    details = json.loads(
        history.execute("SELECT details FROM alerts WHERE alert_key = ?", [key("no_patrol", "C", DAYS[3])]).fetchone()[
            0
        ]
    )
    assert details["days_without_patrol"] == 3 and details["report_url"] is None
    assert (
        details["delivered_minutes"],
        details["target_minutes"],
        details["last_patrol_date"],
        details["days_since_last_patrol"],
        details["area_name"],
        details["rank"],
    ) == (0.0, 15.0, "2024-05-01", 3, "Area C", 3)


def test_rerun_raises_nothing_new(history, settings):
    first = run_days(history, settings)
    files = sorted((settings.outbox_dir / FORCE).rglob("*.json"))
    assert len(files) == len(first)
    assert run_days(history, settings) == []
    assert history.execute("SELECT count(*) FROM alerts").fetchone()[0] == len(first)
    assert sorted((settings.outbox_dir / FORCE).rglob("*.json")) == files
    saved = json.loads(files[0].read_text())
    assert saved["alert_key"] in first and saved["details"]["area_code"] == saved["area_code"]


def test_alarm_days_and_rule_switches(history, monkeypatch):
    from hotspots.settings import reload_settings

    monkeypatch.setenv("HOTSPOTS_ALARM_DAYS", "2")
    monkeypatch.setenv("HOTSPOTS_ALERT_RULES", "no_patrol")
    raised = run_days(history, reload_settings())
    assert sorted(raised) == sorted(
        [key("no_patrol", "B", DAYS[1]), key("no_patrol", "C", DAYS[2]), key("no_patrol", "C", DAYS[6])]
    )


def test_recovered_needs_the_day_before_under(history, settings):
    """Evaluating days out of order still finds D-1's under status from its compliance row."""
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    for day in DAYS[:3]:
        build_compliance(history, force=FORCE, date=day, settings=settings)
    assert key("recovered", "A", DAYS[2]) in raise_alerts(history, force=FORCE, date=DAYS[2], settings=settings)


def test_routing_table_sets_team_and_audience(history, tmp_path, monkeypatch):
    from hotspots.settings import reload_settings

    table = tmp_path / "routing.csv"
    table.write_text(
        "area_code,team,slack_channel,email_to,escalation_slack_channel,escalation_email_to\n"
        "A,north,#north,sgt.north@example.org,#north-esc,insp@example.org\n"
        "C,north,#north,sgt.north@example.org,#north-esc,insp@example.org\n"
        "*,rest,#rest,rest@example.org,,\n"
    )
    monkeypatch.setenv("HOTSPOTS_ROUTING_PATH", str(table))
    run_days(history, reload_settings())
    teams = dict(history.execute("SELECT area_code, any_value(team) FROM alerts GROUP BY ALL").fetchall())
    assert teams == {"A": "north", "B": "rest", "C": "north"}


def test_not_planned_hot_spots_raise_no_under_target(warehouse, monkeypatch):
    from hotspots.alerts.rules import raise_plan_alerts
    from hotspots.plan import make_plan
    from hotspots.settings import reload_settings

    monkeypatch.setenv("HOTSPOTS_PLAN_K", "1")
    monkeypatch.setenv("HOTSPOTS_ALARM_DAYS", "5")
    settings = reload_settings()
    add_selection(warehouse, ["A", "B", "C"], D1)
    for day in DAYS[:2]:
        add_feed(warehouse, day)  # GPS data, nobody in a hot spot
    raised = run_days(warehouse, settings, DAYS[:2])
    planned = {day: make_plan(warehouse, force=FORCE, date=day, settings=settings) for day in DAYS[:2]}
    assert sorted(raised) == sorted(key("under_target", code, day) for day, codes in planned.items() for code in codes)
    assert raise_plan_alerts(warehouse, force=FORCE, date=DAYS[0], settings=settings) == [
        key("planned", planned[DAYS[0]][0], DAYS[0])
    ]


def test_checkpoint_no_visit_yet_and_under_dose(warehouse, settings):
    """Each checkpoint (18:00, 21:00, 23:00) names the hot spots not visited in the window or under dose so far, once
    per checkpoint; before the first one, or about another day, nothing."""
    from hotspots.alerts.rules import raise_checkpoint_alerts

    add_selection(warehouse, ["A", "B", "C", "D"], D1)
    add_patrol(warehouse, "A", D1, 12, window=12)  # visited in the window so far, 12 of 15 min: under dose
    add_patrol(warehouse, "B", D1, 20, window=0)  # only this morning, outside the window
    add_patrol(warehouse, "D", D1, 16, window=16, koper=1)  # dose delivered
    london = ZoneInfo("Europe/London")

    def check(hour, minute=0, day=D1):
        now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=london)
        return raise_checkpoint_alerts(warehouse, force=FORCE, date=D1, now_local=now, settings=settings)

    assert check(17, 59) == []
    at_18 = [f"{key('no_visit_yet', code, D1)}|18:00" for code in "ABC"]
    assert check(18) == at_18
    assert check(18) == []  # a rerun of the checkpoint sends nothing twice
    assert check(21) == [k.replace("18:00", "21:00") for k in at_18]
    assert check(21, day=date(2024, 5, 2)) == []
    details = {
        code: json.loads(d)
        for code, d in warehouse.execute(
            "SELECT area_code, details FROM alerts WHERE alert_key LIKE '%|18:00'"
        ).fetchall()
    }
    got = {c: (d["as_of"], d["status"], d["delivered_minutes"], d["patrol_minutes"]) for c, d in details.items()}
    assert got == {
        "A": ("18:00", "under", 12.0, 12.0),
        "B": ("18:00", "under", 0.0, 20.0),  # the compliance rule's status: patrolled, none of it in the window
        "C": ("18:00", "none", 0.0, 0.0),
    }
    assert {d["target_minutes"] for d in details.values()} == {15.0}


def test_checkpoint_dose_delivered_notice(warehouse, monkeypatch):
    """With HOTSPOTS_CHECKPOINT_DOSE_NOTICE the checkpoint also names the hot spots that have had their dose (the
    status 'met' of the compliance rule); without it, never. In plan mode only the planned ones count."""
    from hotspots.alerts.messages import Digest, plain_text
    from hotspots.alerts.outbox import open_alerts
    from hotspots.alerts.rules import evaluate_checkpoint, raise_checkpoint_alerts
    from hotspots.settings import reload_settings

    add_selection(warehouse, ["A", "B"], D1)
    add_patrol(warehouse, "A", D1, 16, window=16, koper=1)
    add_patrol(warehouse, "B", D1, 3, window=3)
    now = datetime(2024, 5, 1, 21, 0, tzinfo=ZoneInfo("Europe/London"))
    quiet = evaluate_checkpoint(warehouse, force=FORCE, date=D1, now_local=now, settings=reload_settings())
    assert [(a.rule, a.area_code) for a in quiet] == [("no_visit_yet", "B")]
    monkeypatch.setenv("HOTSPOTS_CHECKPOINT_DOSE_NOTICE", "true")
    settings = reload_settings()
    raised = raise_checkpoint_alerts(warehouse, force=FORCE, date=D1, now_local=now, settings=settings)
    assert sorted(raised) == [f"{key('dose_delivered', 'A', D1)}|21:00", f"{key('no_visit_yet', 'B', D1)}|21:00"]
    text = plain_text(Digest("email", "default", "x@example.org", tuple(open_alerts(warehouse, "email"))))
    assert "Dose delivered today (2024-05-01, as of 21:00): move on" in text and "16 of 15 min target" in text
    assert "Under dose so far today (2024-05-01, as of 21:00)" in text


ROUTING_CSV = (
    "area_code,team,slack_channel,email_to,escalation_slack_channel,escalation_email_to\n"
    "A,north,#north,sgt.north@example.org,,\n*,rest,#rest,rest@example.org,,\n"
)


def test_rules_take_the_team_from_area_teams(history, tmp_path, monkeypatch):
    """area_teams owns the team at rule time: a recorded team wins over the file; areas it lacks are routed and kept."""
    from hotspots.settings import reload_settings

    (tmp_path / "routing.csv").write_text(ROUTING_CSV)
    monkeypatch.setenv("HOTSPOTS_ROUTING_PATH", str(tmp_path / "routing.csv"))
    history.execute("INSERT INTO area_teams VALUES (?, 'A', 'east', now())", [FORCE])
    run_days(history, reload_settings(), DAYS[:2])
    teams = dict(history.execute("SELECT area_code, any_value(team) FROM alerts GROUP BY ALL").fetchall())
    assert teams == {"A": "east", "B": "rest", "C": "rest"}
    assert dict(history.execute("SELECT area_code, team FROM area_teams WHERE force = ?", [FORCE]).fetchall()) == teams


def test_routing_file_parsed_once_per_run(history, tmp_path, monkeypatch):
    """A compliance run (sync_area_teams, then each day's rules) reads the routing file once."""
    import hotspots.alerts.routing as routing
    from hotspots.settings import reload_settings

    (tmp_path / "routing.csv").write_text(ROUTING_CSV)
    monkeypatch.setenv("HOTSPOTS_ROUTING_PATH", str(tmp_path / "routing.csv"))
    settings = reload_settings()
    for code in "ABC":
        history.execute(
            "INSERT INTO stg_areas (force, area_code, area_name, geom) "
            "VALUES (?, ?, ?, 'POLYGON((0 0, 1 0, 1 1, 0 0))'::GEOMETRY)",
            [FORCE, code, f"Area {code}"],
        )
    parsed = []
    real = routing.load_routing
    monkeypatch.setattr(routing, "load_routing", lambda s: parsed.append(s.routing_path) or real(s))
    assert routing.sync_area_teams(history, force=FORCE, settings=settings) == 3
    raised = run_days(history, settings)
    assert len(parsed) == 1 and len(raised) == 17
    teams = dict(history.execute("SELECT area_code, any_value(team) FROM alerts GROUP BY ALL").fetchall())
    assert teams == {"A": "north", "B": "rest", "C": "rest"}


def test_one_target_rule_for_compliance_and_alerts(warehouse, tmp_path, monkeypatch):
    """An override sets the same target in daily_compliance, the plan notice and the checkpoint alert."""
    from hotspots.alerts.rules import evaluate_checkpoint, evaluate_plan
    from hotspots.compliance import build_compliance
    from hotspots.settings import reload_settings

    (tmp_path / "targets.csv").write_text("area_code,target_minutes\nB,30\n")
    monkeypatch.setenv("HOTSPOTS_TARGET_OVERRIDES_PATH", str(tmp_path / "targets.csv"))
    monkeypatch.setenv("HOTSPOTS_PLAN_K", "3")
    settings = reload_settings()
    add_selection(warehouse, ["A", "B", "C"], D1)
    add_feed(warehouse, D1)
    build_compliance(warehouse, force=FORCE, date=D1, settings=settings)
    compliance = dict(warehouse.execute("SELECT area_code, target_minutes FROM daily_compliance").fetchall())
    assert compliance == {"A": 15.0, "B": 30.0, "C": 15.0}
    now = datetime(2024, 5, 1, 20, 0, tzinfo=ZoneInfo("Europe/London"))
    for alerts in (
        evaluate_plan(warehouse, force=FORCE, date=D1, settings=settings),
        evaluate_checkpoint(warehouse, force=FORCE, date=D1, now_local=now, settings=settings),
    ):
        assert {a.area_code: a.details["target_minutes"] for a in alerts} == compliance
