"""Delivery of the outbox to a local Slack Web API and a real SMTP server: digests, faults, exactly once."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from compliance_helpers import FORCE, add_patrol, add_selection, days
from smtp_server import SmtpSink

D1 = date(2024, 5, 1)
DEVICE_IDS = ["RADIO-0017", "AVL-PC-4411"]
ROUTING = """
default_team: default
teams:
  north:
    slack_channel: "#north"
    email_to: [sgt.north@example.org, duty.north@example.org]
    escalation_slack_channel: "#north-escalation"
    escalation_email_to: [inspector.north@example.org]
    areas: [A, C]
"""


@pytest.fixture
def raised(warehouse, tmp_path, monkeypatch):
    """8 alerts: A under D1, recovered D2; B (unmapped) under D1-D3 + no_patrol D3; C under D2, D3."""
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance
    from hotspots.pseudonym import device_key, pseudonym_key
    from hotspots.settings import reload_settings

    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    monkeypatch.setenv("HOTSPOTS_ROUTING_PATH", str(routing))
    monkeypatch.setenv("HOTSPOTS_ALERT_EMAIL_TO", "duty@example.org")
    monkeypatch.setenv("HOTSPOTS_REPORT_BASE_URL", "https://reports.example.org/hotspots")
    settings = reload_settings()
    add_selection(warehouse, ["A", "B", "C"], D1)
    add_patrol(warehouse, "A", D1, 10, window=5)
    add_patrol(warehouse, "A", days(D1, 2)[1], 20, koper=1)
    add_patrol(warehouse, "A", days(D1, 3)[2], 20, koper=1)
    add_patrol(warehouse, "C", D1, 15, koper=1)
    keys = [device_key(d, pseudonym_key(settings)) for d in DEVICE_IDS]
    for key in keys:  # the devices behind the patrol minutes are in the warehouse, never in a message
        warehouse.execute(
            "INSERT INTO stg_pings VALUES (?, ?, '2024-05-01 15:00', '2024-05-01', 1, 2, 3, 'foot', 'f', NULL)",
            [FORCE, key],
        )
    new = []
    for day in days(D1, 3):
        build_compliance(warehouse, force=FORCE, date=day, settings=settings)
        new += raise_alerts(warehouse, force=FORCE, date=day, settings=settings)
    assert len(new) == 8
    return warehouse, settings, keys


def slack_connection(api) -> str:
    """AIRFLOW_CONN_<ID> JSON for the local Slack Web API."""
    return json.dumps({"conn_type": "slack", "password": api.token, "extra": {"base_url": api.base_url}})


def smtp_connection(sink: SmtpSink, **extra) -> str:
    """AIRFLOW_CONN_<ID> JSON for the local SMTP server (plain SMTP: no SSL, no STARTTLS)."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": sink.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 2} | extra,
        }
    )


@pytest.fixture
def slack_target(monkeypatch):
    """slack_target(api): the Airflow connection slack_api_default pointed at api, and a target using it."""
    from hotspots.alerts.targets import SlackTarget

    def make(api, **overrides):
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", slack_connection(api))
        values = {"timeout": 0.5, "retries": 2, "backoff_s": 0.01, "min_interval_s": 0.0}
        return SlackTarget(**(values | overrides))

    return make


@pytest.fixture
def smtp_target(monkeypatch):
    """smtp_target(sink): the Airflow connection smtp_default pointed at sink, and a target using it."""
    from hotspots.alerts.targets import SmtpTarget

    def make(sink: SmtpSink):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(sink))
        return SmtpTarget(from_addr="hotspots@example.org")

    return make


def statuses(con):
    return con.execute(
        "SELECT alert_key, slack_status, email_status, slack_attempts, email_attempts FROM alerts ORDER BY alert_key"
    ).fetchall()


def part(message, subtype):
    return next(p for p in message.walk() if p.get_content_type() == f"text/{subtype}").get_content()


def test_one_digest_per_team_with_figures(raised, slack_api, smtp_server, slack_target, smtp_target):
    from hotspots.alerts.outbox import deliver_pending

    con, settings, device_keys = raised
    summary = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server))
    assert summary["slack"] == {
        "sent": 8,
        "failed": 0,
        "skipped": 0,
        "dead": 0,
        "uncertain": 0,
        "edited": 0,
        "messages": 2,
    }
    assert summary["email"] == {
        "sent": 8,
        "failed": 0,
        "skipped": 0,
        "dead": 0,
        "uncertain": 0,
        "edited": 0,
        "messages": 2,
    }
    assert {row[1:3] for row in statuses(con)} == {("sent", "sent")}

    messages = {m["channel"]: m for m in slack_api.delivered()}
    assert set(messages) == {"C0NORTH", "C0HOTSPOTS"}  # B is unmapped: the default route; names posted as IDs
    north = messages["C0NORTH"]
    header = "Hot-spot patrol · north · 2024-05-01 to 2024-05-03"
    assert north["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": header}}
    sections = {b["block_id"]: b["text"]["text"] for b in north["blocks"] if b["type"] == "section"}
    assert set(sections) == {
        f"under_target|{FORCE}|A|2024-05-01",
        f"recovered|{FORCE}|A|2024-05-02",
        f"under_target|{FORCE}|C|2024-05-02",
        f"under_target|{FORCE}|C|2024-05-03",
    }
    a_under = sections[f"under_target|{FORCE}|A|2024-05-01"]
    assert "*#1 Area A (A)* — Under target on 2024-05-01: under target" in a_under
    assert "5 of 15 min target · 0 Koper visits · 0 days since last patrol (2024-05-01)" in a_under
    assert "<https://reports.example.org/hotspots/testforce/2024-05-01.html#A|Map and report>" in a_under
    assert "20 of 15 min target · 1 Koper visits" in sections[f"recovered|{FORCE}|A|2024-05-02"]
    assert (
        "0 of 15 min target · 0 Koper visits · 2 days since last patrol (2024-05-01)"
        in sections[f"under_target|{FORCE}|C|2024-05-03"]
    )
    default = [b for b in messages["C0HOTSPOTS"]["blocks"] if b["type"] == "section"]
    assert default[0]["block_id"] == f"no_patrol|{FORCE}|B|2024-05-03"  # critical first
    assert "No patrol for 3 days (escalation)" in default[0]["text"]["text"]
    assert "no patrol on record" in default[0]["text"]["text"]
    assert north["metadata"]["event_payload"]["alerts"] == 4

    mails = {tuple(sorted(rcpt)): msg for rcpt, msg in smtp_server.received}
    assert set(mails) == {("duty.north@example.org", "sgt.north@example.org"), ("duty@example.org",)}
    mail = mails[("duty.north@example.org", "sgt.north@example.org")]
    assert mail["Subject"] == "Hot-spot patrol, north: 1 recovered, 3 under target (2024-05-01 to 2024-05-03)"
    assert mail["From"] == "hotspots@example.org"
    assert "[warning] #1 Area A (A): Under target on 2024-05-01: under target" in part(mail, "plain")
    assert "5 of 15 min target · 0 Koper visits" in part(mail, "plain")
    assert "<b>#3 Area C (C)</b>" in part(mail, "html") and "2 days since last patrol" in part(mail, "html")

    sent = json.dumps([r["body"] for r in slack_api.requests]) + "".join(m.as_string() for _, m in smtp_server.received)
    assert not [k for k in device_keys + DEVICE_IDS if k in sent]

    # a rerun sends nothing
    posts = len(slack_api.posts())
    again = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server))
    assert (
        again["slack"]
        == again["email"]
        == {"sent": 0, "failed": 0, "skipped": 0, "dead": 0, "uncertain": 0, "edited": 0, "messages": 0}
    )
    assert len(slack_api.posts()) == posts and len(smtp_server.received) == 2


def test_faults_then_exactly_once(raised, slack_api, slack_target, smtp_target):
    from hotspots.alerts.outbox import deliver_pending

    con, settings, _ = raised
    sink = SmtpSink()  # down: nothing listens on its port yet
    slack_api.fail(("status", 429, {"Retry-After": "1"}), ("status", 500), ("delay", 1.0))
    first = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(sink))
    # 429: retried by the client after Retry-After; 500 and the timeout: the channel checked, then posted again
    assert first["slack"]["failed"] == 0 and first["slack"]["sent"] == 8
    assert first["email"]["failed"] == 8
    posts = slack_api.posts()
    assert len(posts) == 5 and len(slack_api.delivered()) == 2  # 429, 500, timeout, posted; the second digest
    rate_limited, retried = [r["at"] for r in slack_api.requests if r["method"] == "chat.postMessage"][:2]
    assert retried - rate_limited >= 1.0  # waited for Retry-After

    sink.start()
    try:
        second = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(sink))
        third = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(sink))
    finally:
        sink.stop()
    assert (second["slack"]["sent"], second["email"]["sent"]) == (0, 8)
    assert third["slack"]["sent"] == third["email"]["sent"] == 0
    assert {row[1:3] for row in statuses(con)} == {("sent", "sent")}

    delivered = [b["block_id"] for m in slack_api.delivered() for b in m["blocks"] if b["type"] == "section"]
    assert sorted(delivered) == sorted(k for (k,) in con.execute("SELECT alert_key FROM alerts").fetchall())
    assert len(sink.received) == 2
    assert sorted(part(m, "plain").count("\n[") for _, m in sink.received) == [4, 4]


def test_dead_after_max_attempts_fails_loudly_without_blocking_email(
    raised, slack_api, smtp_server, monkeypatch, slack_target, smtp_target
):
    from hotspots.alerts.outbox import AlertDeliveryError, deliver_pending
    from hotspots.settings import reload_settings

    con, _, _ = raised
    monkeypatch.setenv("HOTSPOTS_ALERT_MAX_ATTEMPTS", "2")
    settings = reload_settings()
    slack_api.fail(*[("error", "channel_not_found")] * 4)
    first = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server))
    assert first["slack"]["failed"] == 8 and first["email"]["sent"] == 8
    with pytest.raises(AlertDeliveryError, match=r"8 alert deliveries gave up after 2 attempts.*channel_not_found"):
        deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server))
    assert {row[1:4] for row in statuses(con)} == {("dead", "sent", 2)}
    # dead alerts are not retried, and raise no second failure
    assert (
        deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server))["slack"][
            "messages"
        ]
        == 0
    )
    assert len(slack_api.delivered()) == 0 and len(smtp_server.received) == 2


def test_crash_between_send_and_record(raised, slack_api, smtp_server, monkeypatch, slack_target, smtp_target):
    """Slack: the digest is found by its metadata and not posted again. Email: resent (at-least-once), same alerts."""
    import hotspots.alerts.outbox as outbox

    con, settings, _ = raised
    real_update = outbox._update

    def crash_on_sent(con_, channel, keys, **values):
        if values.get("status") == "sent":
            raise SystemExit("killed after send")
        return real_update(con_, channel, keys, **values)

    monkeypatch.setattr(outbox, "_update", crash_on_sent)
    with pytest.raises(SystemExit):
        outbox.deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server))
    monkeypatch.setattr(outbox, "_update", real_update)
    assert {row[1] for row in statuses(con)} == {"sending", "pending"}
    assert len(slack_api.delivered()) == 1

    summary = outbox.deliver_pending(
        con, settings=settings, slack=slack_target(slack_api), smtp=smtp_target(smtp_server)
    )
    assert summary["slack"]["messages"] == 1  # only the digest that had not been posted
    delivered = [b["block_id"] for m in slack_api.delivered() for b in m["blocks"] if b["type"] == "section"]
    assert len(delivered) == len(set(delivered)) == 8
    assert {row[1:3] for row in statuses(con)} == {("sent", "sent")}


def test_unconfigured_channel_is_skipped_and_alerts_stay_in_outbox(raised, smtp_server, smtp_target):
    from hotspots.alerts.outbox import deliver_pending

    con, settings, _ = raised
    summary = deliver_pending(con, settings=settings, slack=None, smtp=smtp_target(smtp_server))
    assert summary["slack"]["skipped"] == 8 and summary["email"]["sent"] == 8
    assert {row[1] for row in statuses(con)} == {"skipped"}
    assert len(list((settings.outbox_dir / FORCE).rglob("*.json"))) == 8


def test_targets_from_airflow_connections(settings, monkeypatch, tmp_path):
    """Targets name the connections; the providers' hooks read token, base_url, timeout and the sender from them."""
    from hotspots.alerts.targets import SlackTarget, SmtpTarget, targets_from_airflow

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_API_DEFAULT",
        json.dumps(
            {
                "conn_type": "slack",
                "password": "xoxb-1",
                "extra": {"base_url": "http://127.0.0.1:9/api", "timeout": 5, "channel": "#ops"},
            }
        ),
    )
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    slack, smtp = targets_from_airflow(settings)
    assert slack == SlackTarget(conn_id="slack_api_default", default_channel="#ops") and smtp is None
    client = slack.client()
    assert (client.token, client.base_url, client.timeout) == ("xoxb-1", "http://127.0.0.1:9/api/", 5)
    assert [type(h).__name__ for h in client.retry_handlers] == [
        "RateLimitErrorRetryHandler",
        "RefusedConnectionRetryHandler",
    ]  # never a 5xx or a timeout: Slack may have posted it (the outbox checks the channel)
    assert "xoxb-1" not in repr(slack)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "mail.example.org",
                "port": 2525,
                "login": "u",
                "password": "p",
                "extra": {"disable_ssl": True, "from_email": "alerts@example.org"},
            }
        ),
    )
    _, smtp = targets_from_airflow(settings)
    assert smtp == SmtpTarget(conn_id="smtp_default", from_addr="alerts@example.org")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({"conn_type": "smtp", "host": "mail.example.org"}))
    assert targets_from_airflow(settings)[1] == SmtpTarget(conn_id="smtp_default", from_addr="hotspots@localhost")


def test_smtp_connection_ssl_default_is_the_providers(raised, smtp_server, monkeypatch):
    """Without disable_ssl the SmtpHook speaks SSL from the start: a plain server fails it, and the outbox retries."""
    from hotspots.alerts.outbox import deliver_pending
    from hotspots.alerts.targets import SmtpTarget

    con, settings, _ = raised
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "extra": {"timeout": 2}}),
    )
    first = deliver_pending(con, settings=settings, slack=None, smtp=SmtpTarget())
    assert first["email"]["failed"] == 8 and smtp_server.received == []
    errors = {e for (e,) in con.execute("SELECT email_error FROM alerts").fetchall()}
    assert len(errors) == 1 and "SSL" in errors.pop()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp_server))
    second = deliver_pending(con, settings=settings, slack=None, smtp=SmtpTarget())
    assert second["email"] == {
        "sent": 8,
        "failed": 0,
        "skipped": 0,
        "dead": 0,
        "uncertain": 0,
        "edited": 0,
        "messages": 2,
    }
    assert {m["Message-ID"] for _, m in smtp_server.received} == {
        f"<{d}@hotspots>" for (d,) in con.execute("SELECT DISTINCT email_digest FROM alerts").fetchall()
    }


def test_failure_mail_goes_the_alerts_email_path(settings, smtp_server, monkeypatch):
    """A failed task leaves its JSON record and, with HOTSPOTS_FAILURE_EMAIL, mails it through the SmtpHook."""
    from types import SimpleNamespace

    from hotspots.dag_support import DEFAULT_ARGS, FailureRecord
    from hotspots.settings import reload_settings

    ti = SimpleNamespace(dag_id="patrol_compliance", task_id="build", map_index=0, run_id="manual__1", try_number=3)
    FailureRecord().notify({"ti": ti, "exception": ValueError("boom")})  # no failure_email: record only
    assert [p.name for p in (settings.data_dir / "failures").iterdir()] == ["patrol_compliance.build.0.manual__1.json"]
    assert smtp_server.received == []

    monkeypatch.setenv("HOTSPOTS_FAILURE_EMAIL", "oncall@example.org")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp_server, from_email="airflow@example.org"))
    reload_settings()
    (notifier,) = DEFAULT_ARGS["on_failure_callback"]
    notifier.notify({"ti": ti, "exception": ValueError("boom")})
    [(rcpt, mail)] = smtp_server.received
    assert rcpt == ["oncall@example.org"] and mail["From"] == "airflow@example.org"
    assert mail["Subject"] == "[hotspots] patrol_compliance.build failed"
    assert "error: boom" in mail.get_content() and "try_number: 3" in mail.get_content()

    smtp_server.stop()  # the mail server down: the callback logs, never raises
    notifier.notify({"ti": ti, "exception": ValueError("boom")})


def test_no_hand_built_slack_or_smtp_clients_in_include():
    """Slack and email go through the providers' hooks only."""
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\b(WebClient|SMTP|SMTP_SSL)\(")
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in sorted((root / "include").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def test_cli_dry_run_changes_nothing_then_delivers(warehouse, settings, slack_api, smtp_server, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app
    from hotspots.compliance import build_compliance

    add_selection(warehouse, ["A", "B"], D1)
    add_patrol(warehouse, "A", D1, 30)
    build_compliance(warehouse, force=FORCE, date=D1, settings=settings)
    warehouse.close()
    monkeypatch.setenv("HOTSPOTS_FORCES", FORCE)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
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
                "extra": {"disable_ssl": True, "disable_tls": True},
            }
        ),
    )
    from hotspots.settings import reload_settings

    reload_settings()
    runner = CliRunner()
    dry = runner.invoke(app, ["alerts", "--date", "2024-05-01", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"1 new alert(s): under_target|{FORCE}|B|2024-05-01" in dry.output
    assert '"channel": "#hotspots"' in dry.output and "Hot-spot patrol · default" in dry.output
    assert "0 of 15 min target" in dry.output
    assert slack_api.posts() == [] and smtp_server.received == []
    assert not (settings.outbox_dir).exists()

    real = runner.invoke(app, ["alerts", "--date", "2024-05-01"])
    assert real.exit_code == 0, real.output
    assert len(slack_api.delivered()) == 1 and [r for r, _ in smtp_server.received] == [["hotspots@localhost"]]
    assert runner.invoke(app, ["alerts", "--date", "2024-05-01"]).exit_code == 0
    assert len(slack_api.delivered()) == 1 and len(smtp_server.received) == 1
