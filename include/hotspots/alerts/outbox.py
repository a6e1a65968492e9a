"""The outbox: alert files on disk, and delivery of pending alerts to Slack and email, retried until done.

Delivery is at-least-once (docs/alerts.md): each attempt is recorded as 'sending' before the send and as
'sent' after it, so a crash in between is found on the next run. Slack messages carry the digest id in their
metadata; a 'sending' digest found in the channel history is marked sent instead of being posted again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from hotspots.alerts.messages import MAX_SECTIONS, Digest, email_message, slack_message, sort_alerts
from hotspots.alerts.routing import Routing, default_team, load_routing
from hotspots.alerts.targets import DIGEST_EVENT, SlackTarget, SmtpTarget
from hotspots.settings import Settings

log = logging.getLogger(__name__)


class AlertDeliveryError(RuntimeError):
    """Some alerts could not be delivered after settings.alert_max_attempts attempts (status 'dead')."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def outbox_path(settings: Settings, force: str, day: str, key: str) -> Path:
    """data_dir/outbox/<force>/<date>/<alert_key with unsafe characters replaced>.json."""
    return Path(settings.outbox_dir) / force / day / (re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".json")


def write_outbox_file(settings: Settings, alert: dict) -> Path:
    """Write one alert's JSON file atomically (a reader never sees half a file)."""
    path = outbox_path(settings, alert["force"], alert["date"], alert["alert_key"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(alert, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def open_alerts(con: duckdb.DuckDBPyConnection, channel: str) -> list[dict]:
    """Alerts not yet delivered on a channel ('slack' or 'email'): pending, failed, or caught mid-send."""
    return _rows(con, f"{channel}_status IN ('pending', 'failed', 'sending')", [])


def _rows(con: duckdb.DuckDBPyConnection, where: str, params: list) -> list[dict]:
    cursor = con.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY alert_key", params)
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        row["date"] = row["date"].isoformat()
        row["details"] = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
        rows.append(row)
    return rows


def _write_missing_files(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    rows = _rows(con, "file_status <> 'sent'", [])
    for row in rows:
        fields = ("alert_key", "force", "rule", "area_code", "date", "team", "audience", "severity", "details")
        alert = {k: row[k] for k in fields} | {"created_at": row["created_at"].isoformat() + "Z"}
        path = write_outbox_file(settings, alert)
        con.execute(
            "UPDATE alerts SET file_status = 'sent', file_path = ? WHERE alert_key = ?", [str(path), row["alert_key"]]
        )
    return len(rows)


def _update(con: duckdb.DuckDBPyConnection, channel: str, keys: list[str], **values) -> None:
    """Set <channel>_<name> = value for the given alerts (one statement, committed on return)."""
    sets = ", ".join(f"{channel}_{name} = ?" for name in values)
    con.execute(f"UPDATE alerts SET {sets} WHERE list_contains(?, alert_key)", [*values.values(), keys])


def _destination(
    routing: Routing, row: dict, channel: str, settings: Settings, slack: SlackTarget | None
) -> str | None:
    team = routing.team(row["team"])
    if channel == "slack":
        if slack is not None and slack.default_channel and team == default_team(settings):
            return slack.default_channel
        return team.slack_for(row["audience"])
    return ",".join(team.email_for(row["audience"])) or None


def group_digests(
    rows: list[dict],
    channel: str,
    routing: Routing,
    settings: Settings,
    slack: SlackTarget | None,
    *,
    configured: bool = True,
) -> tuple[list[Digest], list[tuple[dict, str]]]:
    """Digests (one per team and destination, split at MAX_SECTIONS) and the rows with nowhere to go."""
    groups: dict[tuple[str, str], list[dict]] = {}
    skipped: list[tuple[dict, str]] = []
    for row in rows:
        destination = _destination(routing, row, channel, settings, slack) if configured else None
        if destination is None:
            reason = f"no {channel} destination for team {row['team']}" if configured else "not configured"
            skipped.append((row, reason))
            continue
        groups.setdefault((row["team"], destination), []).append(row)
    digests = []
    for (team, destination), members in sorted(groups.items()):
        ordered = sort_alerts(members)
        for start in range(0, len(ordered), MAX_SECTIONS):
            digests.append(Digest(channel, team, destination, tuple(ordered[start : start + MAX_SECTIONS])))
    return digests, skipped


def _recover_slack(con: duckdb.DuckDBPyConnection, client, rows: list[dict]) -> list[dict]:
    """Mark 'sending' digests that did reach Slack (found by metadata in the channel history) as sent."""
    digests: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["slack_status"] == "sending" and row["slack_digest"] and row["slack_target"]:
            digests.setdefault((row["slack_digest"], row["slack_target"]), []).append(row)
    delivered: set[str] = set()
    for (digest_id, channel), members in digests.items():
        try:
            history = client.conversations_history(channel=channel, limit=200, include_all_metadata=True)
        except Exception as exc:
            log.warning("Could not read %s history to check digest %s (%s): sending it again", channel, digest_id, exc)
            continue
        for message in history.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("digest_id") == digest_id:
                keys = [m["alert_key"] for m in members]
                _update(con, "slack", keys, status="sent", error=None, sent_at=_utcnow(), ts=message.get("ts"))
                delivered.update(keys)
                log.info(
                    "Digest %s was already in %s (crash after send): marked sent, not posted again", digest_id, channel
                )
                break
    return [row for row in rows if row["alert_key"] not in delivered]


def _error_text(exc: Exception) -> str:
    """A short, stable description of a delivery failure (the Slack error code rather than the whole response)."""
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "get") and response.get("error"):
        return f"{type(exc).__name__}: {response.get('error')} (HTTP {getattr(response, 'status_code', '?')})"
    return f"{type(exc).__name__}: {exc}"[:500]


def _send(channel: str, digest: Digest, *, client, smtp: SmtpTarget | None) -> str | None:
    """Send one digest; returns the Slack ts (None for email). Raises on failure."""
    if channel == "slack":
        text, blocks = slack_message(digest)
        metadata = {
            "event_type": DIGEST_EVENT,
            "event_payload": {"digest_id": digest.digest_id, "alerts": len(digest.alerts)},
        }
        response = client.chat_postMessage(
            channel=digest.destination, text=text, blocks=blocks, metadata=metadata, unfurl_links=False
        )
        return response.get("ts")
    smtp.send(email_message(digest, from_addr=smtp.from_addr))
    return None


def deliver_pending(
    con: duckdb.DuckDBPyConnection, *, settings: Settings, slack: SlackTarget | None, smtp: SmtpTarget | None
) -> dict:
    """Deliver every alert not yet delivered, one digest per team and destination per channel.

    Returns {'slack': {...}, 'email': {...}, 'files': n} with per-alert counts sent, failed, skipped, dead and
    the number of messages sent. A failure on one channel never stops the other. Raises AlertDeliveryError,
    after all statuses are recorded, when any alert reached settings.alert_max_attempts on a channel.
    """
    routing = load_routing(settings)
    summary: dict = {"files": _write_missing_files(con, settings)}
    dead: dict[tuple[str, str], list[str]] = {}
    for channel, target in (("slack", slack), ("email", smtp)):
        counts = {"sent": 0, "failed": 0, "skipped": 0, "dead": 0, "messages": 0}
        summary[channel] = counts
        rows = open_alerts(con, channel)
        if not rows:
            continue
        client = slack.client() if channel == "slack" and slack is not None else None
        if client is not None:
            rows = _recover_slack(con, client, rows)
        digests, skipped = group_digests(
            rows, channel, routing, settings, slack if channel == "slack" else None, configured=target is not None
        )
        for row, reason in skipped:
            _update(con, channel, [row["alert_key"]], status="skipped", error=reason)
            log.debug("%s skipped for %s (%s)", channel, row["alert_key"], reason)
            counts["skipped"] += 1
        if skipped:
            reasons = sorted({reason for _, reason in skipped})
            log.warning(
                "%s: %d alerts not sent (%s); they are in the outbox files", channel, len(skipped), "; ".join(reasons)
            )
        last_post: dict[str, float] = {}
        for digest in digests:
            chunk, destination = list(digest.alerts), digest.destination
            keys = [row["alert_key"] for row in chunk]
            con.execute(
                f"UPDATE alerts SET {channel}_status = 'sending', {channel}_attempts = {channel}_attempts + 1, "
                f"{channel}_digest = ?, {channel}_target = ? WHERE list_contains(?, alert_key)",
                [digest.digest_id, destination, keys],
            )
            if channel == "slack" and destination in last_post:
                time.sleep(max(0.0, slack.min_interval_s - (time.monotonic() - last_post[destination])))
            try:
                ts = _send(channel, digest, client=client, smtp=smtp)
            except Exception as exc:
                error = _error_text(exc)
                for row in chunk:
                    gave_up = row[f"{channel}_attempts"] + 1 >= settings.alert_max_attempts
                    _update(con, channel, [row["alert_key"]], status="dead" if gave_up else "failed", error=error)
                    counts["dead" if gave_up else "failed"] += 1
                    if gave_up:
                        dead.setdefault((channel, error), []).append(row["alert_key"])
                log.warning("%s digest %s to %s failed: %s", channel, digest.digest_id, destination, error)
                continue
            finally:
                last_post[destination] = time.monotonic()
            if channel == "slack":
                _update(con, channel, keys, status="sent", error=None, sent_at=_utcnow(), ts=ts)
            else:
                _update(con, channel, keys, status="sent", error=None, sent_at=_utcnow())
            counts["sent"] += len(keys)
            counts["messages"] += 1
            log.info("%s digest %s to %s: %d alerts", channel, digest.digest_id, destination, len(keys))
    log.info("Delivery summary: %s", summary)
    if dead:
        raise AlertDeliveryError(
            f"{sum(map(len, dead.values()))} alert deliveries gave up after {settings.alert_max_attempts} attempts "
            f"(status 'dead' in the alerts table; the alerts are in {settings.outbox_dir}): "
            + "; ".join(
                f"{channel} failed with {error} for {', '.join(keys)}" for (channel, error), keys in dead.items()
            )
        )
    return summary
