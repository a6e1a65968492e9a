"""Exactly once on Slack, against the local Slack Web API: a timeout after Slack accepted, a 503 answered once, a
crash mid-send, with and without the history scope; channel names resolved to IDs once."""

from __future__ import annotations

import pytest
from compliance_helpers import FORCE, add_feed, add_selection
from test_delivery import D1, slack_connection


@pytest.fixture
def slack_target(monkeypatch):
    """slack_target(api): the connection slack_api_default pointed at api, with a 0.5 s timeout."""
    from hotspots.alerts.targets import SlackTarget

    def make(api):
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", slack_connection(api))
        return SlackTarget(timeout=0.5, retries=2, backoff_s=0.01, min_interval_s=0.0)

    return make


@pytest.fixture
def one_alert(warehouse, settings):
    """One under_target alert (hot spot A, no patrol) on the default route #hotspots."""
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    add_selection(warehouse, ["A"], D1)
    add_feed(warehouse, D1)
    build_compliance(warehouse, force=FORCE, date=D1, settings=settings)
    assert raise_alerts(warehouse, force=FORCE, date=D1, settings=settings) == [f"under_target|{FORCE}|A|2024-05-01"]
    return warehouse, settings


def slack_row(con):
    return con.execute("SELECT slack_status, slack_attempts, slack_target, slack_ts FROM alerts").fetchone()


def test_timeout_after_slack_accepted_posts_once(one_alert, slack_api, slack_target):
    from hotspots.alerts.outbox import deliver_pending

    con, settings = one_alert
    slack_api.fail(("accept_then_delay", 1.5))  # accepted, answered after the client's 0.5 s timeout
    summary = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
    assert summary["slack"]["sent"] == 1 and summary["slack"]["messages"] == 1
    assert len(slack_api.posts()) == 1 and len(slack_api.delivered()) == 1
    status, attempts, target, ts = slack_row(con)
    assert (status, attempts, target, ts) == ("sent", 1, "C0HOTSPOTS", slack_api.delivered()[0]["ts"])
    assert deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)["slack"]["messages"] == 0
    assert len(slack_api.posts()) == 1


def test_503_answered_once_posts_once(one_alert, slack_api, slack_target):
    from hotspots.alerts.outbox import deliver_pending

    con, settings = one_alert
    slack_api.fail(("status", 503))  # not posted; the client does not retry it by itself
    summary = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
    assert summary["slack"]["sent"] == 1
    assert len(slack_api.posts()) == 2 and len(slack_api.delivered()) == 1  # checked the channel, then posted
    history = [r for r in slack_api.requests if r["method"] == "conversations.history"]
    assert len(history) == 1 and history[0]["body"]["channel"] == "C0HOTSPOTS"
    assert slack_row(con)[0] == "sent"


def test_without_history_scope_an_uncertain_post_is_never_repeated(one_alert, slack_api, slack_target):
    from typer.testing import CliRunner

    from hotspots.alerts.outbox import AlertDeliveryError, deliver_pending
    from hotspots.cli import app

    con, settings = one_alert
    slack_api.history_scope = False
    slack_api.fail(("accept_then_delay", 1.5))
    with pytest.raises(AlertDeliveryError, match=r"1 alerts may or may not be on Slack.*C0HOTSPOTS.*alerts-settle"):
        deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
    assert slack_row(con)[0] == "uncertain"
    again = deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
    assert again["slack"]["messages"] == 0 and len(slack_api.delivered()) == 1  # not posted twice
    con.close()
    result = CliRunner().invoke(app, ["alerts-settle", "--posted"])
    assert result.exit_code == 0 and f"1 alert(s) marked sent: under_target|{FORCE}|A|2024-05-01" in result.output


def test_not_posted_after_a_look_posts_once_more(one_alert, slack_api, slack_target):
    from hotspots.alerts.outbox import AlertDeliveryError, deliver_pending, settle_uncertain

    con, settings = one_alert
    slack_api.history_scope = False
    slack_api.fail(("status", 503))
    with pytest.raises(AlertDeliveryError):
        deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
    assert len(slack_api.delivered()) == 0
    assert settle_uncertain(con, posted=False) == [f"under_target|{FORCE}|A|2024-05-01"]
    assert deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)["slack"]["sent"] == 1
    assert len(slack_api.delivered()) == 1


@pytest.mark.parametrize("history_scope", [True, False])
def test_crash_after_slack_accepted_on_the_default_route(
    one_alert, slack_api, slack_target, monkeypatch, history_scope
):
    """The default route names '#hotspots': resolved to its ID once, so the crash check can read the channel; without
    the history scope the digest is uncertain, and still posted only once."""
    import hotspots.alerts.outbox as outbox

    con, settings = one_alert
    slack_api.history_scope = history_scope
    real_update = outbox._update

    def crash_on_sent(con_, channel, keys, **values):
        if values.get("status") == "sent":
            raise SystemExit("killed after send")
        return real_update(con_, channel, keys, **values)

    monkeypatch.setattr(outbox, "_update", crash_on_sent)
    with pytest.raises(SystemExit):
        outbox.deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
    monkeypatch.setattr(outbox, "_update", real_update)
    assert slack_row(con)[0] == "sending"
    if history_scope:
        summary = outbox.deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
        assert summary["slack"]["messages"] == 0 and slack_row(con)[0] == "sent"
    else:
        with pytest.raises(outbox.AlertDeliveryError):
            outbox.deliver_pending(con, settings=settings, slack=slack_target(slack_api), smtp=None)
        assert slack_row(con)[0] == "uncertain"
    assert len(slack_api.posts()) == 1
    # The name was resolved once and stored.
    assert con.execute("SELECT channel_id FROM slack_channels WHERE name = 'hotspots'").fetchone() == ("C0HOTSPOTS",)
    assert len([r for r in slack_api.requests if r["method"] == "conversations.list"]) == 1
