"""feed_missing against hand-built pings: which hours, how many devices and files were expected and seen, where the
alert goes, and what the data engineers read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from compliance_helpers import FORCE

D1 = date(2024, 5, 1)  # BST: local = UTC + 1
NORM_DAYS = [D1 + timedelta(days=i) for i in range(4)]
DAY = D1 + timedelta(days=4)


def utc(day: date, local_hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, local_hour, minute) - timedelta(hours=1)


def add_hour(con, day: date, local_hour: int, devices: int, minutes=(5, 25, 45)) -> None:
    """`devices` devices pinging at the given minutes of the local hour, from that UTC hour's file."""
    rows = []
    for n in range(devices):
        for minute in minutes:
            ts = utc(day, local_hour, minute)
            rows.append([FORCE, f"dev{n}", ts, day, f"pings-{ts.hour:02d}.csv"])
    con.executemany("INSERT INTO stg_pings VALUES (?, ?, ?, ?, 0, 0, NULL, NULL, ?, now())", rows)


def feed(con, settings, day, now_utc=None):
    from hotspots.feed import compute_feed_hours, feed_alerts

    compute_feed_hours(con, force=FORCE, dates=NORM_DAYS + [DAY], settings=settings)
    return {a.area_code: a for a in feed_alerts(con, force=FORCE, day=day, settings=settings, now_utc=now_utc)}


def test_few_devices_in_an_hour_against_its_norm(warehouse, settings):
    for day in NORM_DAYS:
        for hour in range(14, 24):
            add_hour(warehouse, day, hour, 10)
    for hour in range(14, 24):
        add_hour(warehouse, DAY, hour, {19: 4, 20: 5}.get(hour, 10))  # 4 < 0.5 x 10; 5 is not below
    alerts = feed(warehouse, settings, DAY)
    assert set(alerts) == {"feed:low_devices"}
    d = alerts["feed:low_devices"].details
    assert (d["hours"], d["seen_devices"], d["expected_devices"], d["seen_files"], d["expected_files"]) == (
        "19:00-20:00",
        4,
        10.0,
        1,
        1.0,
    )
    assert alerts["feed:low_devices"].team == "data_engineers" and alerts["feed:low_devices"].severity == "critical"
    rows = warehouse.execute(
        "SELECT local_hour, pings, devices, files FROM feed_hours WHERE date = ? AND local_hour IN (19, 20) ORDER BY 1",
        [DAY],
    ).fetchall()
    assert rows == [(19, 12, 4, 1), (20, 15, 5, 1)]


def test_gap_in_the_window_at_the_close_and_during_the_shift(warehouse, settings):
    for hour in range(14, 24):
        if hour not in (18, 19):
            add_hour(warehouse, DAY, hour, 3)
    add_hour(warehouse, DAY, 19, 3, minutes=(40, 50))  # silent from 17:45 to 19:40 local
    alerts = feed(warehouse, settings, DAY)
    assert set(alerts) == {"feed:gap"}  # no norm yet: no device check
    d = alerts["feed:gap"].details
    assert (d["hours"], d["longest_gap_minutes"], d["as_of"]) == ("17:45-19:40", 115.0, None)
    assert d["expected_files"] is None and d["seen_files"] == 2  # hours 17-19 touched: 17 and 19 have a file
    # During the shift, at 18:30 local: the stretch since 17:45 counts up to now.
    during = feed(warehouse, settings, DAY, now_utc=utc(DAY, 18, 30).replace(tzinfo=timezone.utc))
    assert during["feed:gap"].details["hours"] == "17:45-18:30" and during["feed:gap"].details["as_of"] == "18:30"
    assert feed(warehouse, settings, DAY, now_utc=utc(DAY, 18, 10).replace(tzinfo=timezone.utc)) == {}


def test_a_day_without_pings_and_where_feed_alerts_go(warehouse, settings, tmp_path, monkeypatch):
    from hotspots.alerts.messages import Digest, plain_text
    from hotspots.alerts.outbox import group_digests, open_alerts
    from hotspots.alerts.routing import load_routing
    from hotspots.feed import raise_feed_alerts
    from hotspots.settings import reload_settings

    for day in NORM_DAYS:
        for hour in range(14, 24):
            add_hour(warehouse, day, hour, 6)
    feed(warehouse, settings, DAY)
    keys = raise_feed_alerts(warehouse, force=FORCE, day=DAY, settings=settings)
    assert keys == [f"feed_missing|{FORCE}|feed:no_files|2024-05-05"]
    assert raise_feed_alerts(warehouse, force=FORCE, day=DAY, settings=settings) == []  # once
    rows = open_alerts(warehouse, "slack")
    text = plain_text(Digest("slack", "data_engineers", "#hotspots-data", tuple(rows)))
    assert "GPS feed missing on 2024-05-05: no ping files for the day" in text
    assert "files 0 seen, 10 expected" in text and "devices (busiest hour) 0 seen, 6 expected" in text

    # Default route: its own channel; the emails fall back to the failure address.
    monkeypatch.setenv("HOTSPOTS_FAILURE_EMAIL", "data@force.example")
    digests, _ = group_digests(rows, "slack", load_routing(reload_settings()), reload_settings(), None)
    assert [d.destination for d in digests] == ["#hotspots-data"]
    digests, _ = group_digests(rows, "email", load_routing(reload_settings()), reload_settings(), None)
    assert [d.destination for d in digests] == ["data@force.example"]
    # A routing table names the data engineers' team with '@feed' (CSV) or feed_team (YAML).
    table = tmp_path / "routing.csv"
    table.write_text(
        "area_code,team,slack_channel,email_to,escalation_slack_channel,escalation_email_to\n"
        "@feed,avl_ops,C0FEED,avl@force.example,,\n*,county,#hotspots,duty@force.example,,\n"
    )
    monkeypatch.setenv("HOTSPOTS_ROUTING_PATH", str(table))
    routing = load_routing(reload_settings())
    assert routing.feed_team == "avl_ops" and routing.team_of("E01") == "county"
    yaml_table = tmp_path / "routing.yaml"
    yaml_table.write_text(
        "feed_team: ops\nteams:\n  ops:\n    slack_channel: C0OPS\n    email_to: [ops@force.example]\n"
    )
    monkeypatch.setenv("HOTSPOTS_ROUTING_PATH", str(yaml_table))
    routing = load_routing(reload_settings())
    assert routing.team(routing.feed_team).slack_channel == "C0OPS"
