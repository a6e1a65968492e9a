"""Delivery targets: Slack (slack-sdk WebClient with retry handlers) and SMTP. No Airflow import at module level."""

from __future__ import annotations

import logging
import smtplib
import ssl as ssl_lib
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.client import RemoteDisconnected
from urllib.error import URLError

from hotspots.settings import Settings

log = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"
DIGEST_EVENT = "hotspots_alert_digest"


@dataclass(frozen=True)
class SlackTarget:
    """A Slack workspace reached with a bot token; base_url points tests and staging at a local server."""

    token: str = field(repr=False)
    base_url: str = SLACK_API
    timeout: float = 30.0
    retries: int = 2
    backoff_s: float = 0.5
    min_interval_s: float = 1.0
    default_channel: str | None = None

    def client(self):
        """A WebClient retrying rate limits (Retry-After), 500/503 and connection errors or timeouts."""
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import (
            ConnectionErrorRetryHandler,
            RateLimitErrorRetryHandler,
            ServerErrorRetryHandler,
        )
        from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

        backoff = BackoffRetryIntervalCalculator(backoff_factor=self.backoff_s)
        handlers = [
            RateLimitErrorRetryHandler(max_retry_count=self.retries),
            ServerErrorRetryHandler(max_retry_count=self.retries, interval_calculator=backoff),
            ConnectionErrorRetryHandler(
                max_retry_count=self.retries,
                interval_calculator=backoff,
                error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
            ),
        ]
        base_url = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return WebClient(token=self.token, base_url=base_url, timeout=self.timeout, retry_handlers=handlers)


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP server; ssl = SMTP over TLS from the start, starttls = upgrade a plain connection."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    from_addr: str = "hotspots@localhost"
    timeout: float = 30.0

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises smtplib/OSError errors for the caller to record."""
        if self.ssl:
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl_lib.create_default_context())
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with server:
            if self.starttls and not self.ssl:
                server.starttls(context=ssl_lib.create_default_context())
            if self.username:
                server.login(self.username, self.password or "")
            server.send_message(message)


def _extra(extra: dict, name: str, provider: str, default=None):
    """An extra field, plain or in the older extra__<provider>__<name> form."""
    return extra.get(name, extra.get(f"extra__{provider}__{name}", default))


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


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
        log.warning("Airflow connection %r is not defined: that channel is skipped (alerts stay in the outbox)", conn_id)
    except Exception as exc:  # secrets backend or supervisor unreachable: deliver what we can
        log.warning("Airflow connection %r could not be read (%s): that channel is skipped", conn_id, exc)
    return None


def targets_from_airflow(settings: Settings) -> tuple[SlackTarget | None, SmtpTarget | None]:
    """Slack and SMTP targets from the Airflow connections settings.slack_conn_id and settings.smtp_conn_id.

    Works inside a task and outside one (the CLI): Airflow reads AIRFLOW_CONN_<ID> environment variables and
    its secrets backends. A connection that is not configured gives None.
    """
    slack = smtp = None
    conn = _get_connection(settings.slack_conn_id)
    if conn is not None and conn.password:
        extra = conn.extra_dejson or {}
        slack = SlackTarget(
            token=conn.password,
            base_url=_extra(extra, "base_url", "slack") or SLACK_API,
            timeout=float(_extra(extra, "timeout", "slack") or 30),
            default_channel=_extra(extra, "channel", "slack"),
        )
    elif conn is not None:
        log.warning("Airflow connection %r has no token (password): Slack skipped", settings.slack_conn_id)
    conn = _get_connection(settings.smtp_conn_id)
    if conn is not None and conn.host:
        extra = conn.extra_dejson or {}
        # Same defaults as the Airflow SMTP provider: SSL unless disable_ssl, STARTTLS unless disable_tls.
        use_ssl = not _truthy(_extra(extra, "disable_ssl", "smtp", False))
        use_tls = not _truthy(_extra(extra, "disable_tls", "smtp", False))
        smtp = SmtpTarget(
            host=conn.host,
            port=int(conn.port or (465 if use_ssl else 25)),
            username=conn.login or None,
            password=conn.password or None,
            starttls=use_tls and not use_ssl,
            ssl=use_ssl,
            from_addr=_extra(extra, "from_email", "smtp") or settings.alert_email_from,
            timeout=float(_extra(extra, "timeout", "smtp") or 30),
        )
    elif conn is not None:
        log.warning("Airflow connection %r has no host: email skipped", settings.smtp_conn_id)
    return slack, smtp
