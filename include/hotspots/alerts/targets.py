"""Delivery targets: Slack through the provider's SlackHook, email through its SmtpHook. Airflow imported lazily.

The hooks read the Airflow connections (token, base_url, timeout; host, port, login, SSL/STARTTLS, timeout)
themselves. Email goes out on the SmtpHook's connected client rather than SmtpHook.send_email_smtp: that method
builds its own HTML-only MIME message (no plain-text part, no Message-ID of ours) and re-sends on any exception,
which can duplicate a mail the server already accepted; the outbox does the retrying (docs/alerts.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

from hotspots.settings import Settings

log = logging.getLogger(__name__)

DIGEST_EVENT = "hotspots_alert_digest"


@dataclass(frozen=True)
class SlackTarget:
    """A Slack API connection; timeout=None takes the connection's extra (else slack-sdk's 30 s)."""

    conn_id: str = "slack_api_default"
    timeout: float | None = None
    retries: int = 2
    backoff_s: float = 0.5
    min_interval_s: float = 1.0
    default_channel: str | None = None

    def client(self):
        """The SlackHook's WebClient, retrying by itself only what certainly did not post: a rate limit (HTTP 429,
        after its Retry-After) and a refused connection. Never a timeout, a reset connection or a 5xx, after which
        the message may be in the channel: the outbox checks the channel first (outbox._deliver_slack)."""
        from airflow.providers.slack.hooks.slack import SlackHook
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
        from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

        backoff = BackoffRetryIntervalCalculator(backoff_factor=self.backoff_s)
        handlers = [
            RateLimitErrorRetryHandler(max_retry_count=self.retries),
            _refused_connection_handler(self.retries, backoff),
        ]
        client = SlackHook(slack_conn_id=self.conn_id, timeout=self.timeout, retry_handlers=handlers).client
        if not client.base_url.endswith("/"):  # slack-sdk joins method names to base_url as a relative URL
            client.base_url += "/"
        return client


def connection_refused(error: BaseException | None) -> bool:
    """True when the request never reached a server: connection refused, or the host name did not resolve."""
    import socket

    reason = getattr(error, "reason", error)
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


def _refused_connection_handler(retries: int, interval):
    """A slack-sdk retry handler for requests that certainly never reached Slack (connection_refused)."""
    from slack_sdk.http_retry.handler import RetryHandler

    class RefusedConnectionRetryHandler(RetryHandler):
        def _can_retry(self, *, state, request, response=None, error=None) -> bool:
            return response is None and connection_refused(error)

    return RefusedConnectionRetryHandler(max_retry_count=retries, interval_calculator=interval)


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP connection; from_addr is the connection's extra from_email, else settings.alert_email_from."""

    conn_id: str = "smtp_default"
    from_addr: str = "hotspots@localhost"

    def send(self, message: EmailMessage) -> None:
        """Send one message as built (plain text + HTML, our Message-ID); raises for the caller to record."""
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=self.conn_id) as hook:  # connects: SSL/STARTTLS and login from the connection
            hook._smtp_client.send_message(message)


def _get_connection(conn_id: str):
    """The Airflow connection, or None when it is not defined (or Airflow cannot be asked)."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError as exc:
        log.warning("Airflow is not importable (%s): connection %s not used", exc, conn_id)
        return None
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.warning(
            "Airflow connection %r is not defined: that channel is skipped (alerts stay in the outbox)", conn_id
        )
    except Exception as exc:  # secrets backend or supervisor unreachable: deliver what we can
        log.warning("Airflow connection %r could not be read (%s): that channel is skipped", conn_id, exc)
    return None


def targets_from_airflow(settings: Settings) -> tuple[SlackTarget | None, SmtpTarget | None]:
    """Slack and SMTP targets for the Airflow connections settings.slack_conn_id and settings.smtp_conn_id.

    Works inside a task and outside one (the CLI): Airflow reads AIRFLOW_CONN_<ID> environment variables and
    its secrets backends. A connection that is not configured (or has no token / no host) gives None.
    """
    slack = smtp = None
    conn = _get_connection(settings.slack_conn_id)
    if conn is not None and conn.password:
        from airflow.providers.slack.utils import ConnectionExtraConfig

        extra = ConnectionExtraConfig(conn_type="slack", conn_id=conn.conn_id, extra=conn.extra_dejson)
        slack = SlackTarget(conn_id=settings.slack_conn_id, default_channel=extra.get("channel", default=None))
    elif conn is not None:
        log.warning("Airflow connection %r has no token (password): Slack skipped", settings.slack_conn_id)
    conn = _get_connection(settings.smtp_conn_id)
    if conn is not None and conn.host:
        from_addr = (conn.extra_dejson or {}).get("from_email") or settings.alert_email_from
        smtp = SmtpTarget(conn_id=settings.smtp_conn_id, from_addr=from_addr)
    elif conn is not None:
        log.warning("Airflow connection %r has no host: email skipped", settings.smtp_conn_id)
    return slack, smtp
