"""The outbox: alert files on disk, and delivery of pending alerts to Slack and email, retried until done.

Each attempt is recorded as 'sending' before the send and as 'sent' after it, so a crash in between is found on the
next run. Email is at-least-once. Slack is exactly once (docs/alerts.md, Exactly once on Slack): messages go to the
channel's ID (names resolved once, stored in slack_channels) and carry the digest id in their metadata; after a
crash, a timeout or a 5xx the channel is checked for the digest before any new post, and a post whose outcome
cannot be checked (no history scope) is marked 'uncertain', never posted again by itself.
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
from hotspots.warehouse import read_sql

log = logging.getLogger(__name__)


class AlertDeliveryError(RuntimeError):
    """Some alerts could not be delivered after settings.alert_max_attempts attempts (status 'dead'), or their Slack
    post is uncertain (status 'uncertain')."""


class _Failed(Exception):
    """A Slack digest that certainly did not land (the error text of its last attempt)."""


def settle_uncertain(con: duckdb.DuckDBPyConnection, *, posted: bool) -> list[str]:
    """After a person looked in the channel: mark the 'uncertain' Slack alerts sent (posted=True), or open them for
    one more post (posted=False). Returns their keys."""
    keys = [k for (k,) in con.execute("SELECT alert_key FROM alerts WHERE slack_status = 'uncertain'").fetchall()]
    if keys:
        if posted:
            _update(con, "slack", keys, status="sent", error="marked sent by hand", sent_at=_utcnow())
        else:
            _update(con, "slack", keys, status="failed", error="resend asked by hand")
    return keys


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


def force_routes(settings: Settings, forces: set[str]) -> dict[str, tuple[Routing, Settings]]:
    """Each force's routing table and settings (its profile's routing_path and default recipients, else the
    shared ones), each table parsed once."""
    routes = {}
    for force in sorted(forces):
        own = settings.for_force(force)
        routes[force] = (load_routing(own), own)
    return routes


def force_digests(
    rows: list[dict],
    channel: str,
    routes: dict[str, tuple[Routing, Settings]],
    slack: SlackTarget | None,
    *,
    configured: bool = True,
) -> tuple[list[Digest], list[tuple[dict, str]]]:
    """group_digests force by force: a force's alerts go where its own routing sends them (routes: force_routes)."""
    digests: list[Digest] = []
    skipped: list[tuple[dict, str]] = []
    for force, (routing, own) in routes.items():
        mine = [row for row in rows if row["force"] == force]
        if mine:
            found, missed = group_digests(mine, channel, routing, own, slack, configured=configured)
            digests += found
            skipped += missed
    return digests, skipped


CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")


def channel_id(con: duckdb.DuckDBPyConnection, client, destination: str) -> str | None:
    """The Slack channel ID of a route's channel: itself when it is an ID, else from slack_channels, else resolved
    once with conversations.list (channels:read, groups:read) and stored. None when it cannot be resolved."""
    if CHANNEL_ID.match(destination):
        return destination
    name = destination.lstrip("#")
    found = con.execute("SELECT channel_id FROM slack_channels WHERE name = ?", [name]).fetchone()
    if found:
        return found[0]
    channels, cursor = {}, None
    try:
        while True:
            page = client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
            )
            channels.update({c["name"]: c["id"] for c in page.get("channels", [])})
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except Exception as exc:
        log.warning("Could not resolve Slack channel %s to an ID (%s): posting to the name", destination, exc)
        return None
    if channels:
        con.execute(
            read_sql("transform/merge_slack_channels"),
            {"names": list(channels), "ids": list(channels.values()), "resolved_at": _utcnow()},
        )
    if name not in channels:
        log.warning("Slack channel %s not found (or the app is not in it): posting to the name", destination)
    return channels.get(name)


def find_digest(client, channel: str | None, digest_id: str, oldest: float | None = None) -> tuple[bool, str | None]:
    """(checked, ts): whether the channel could be read (channels:history; an ID is needed), and the ts of the
    message carrying digest_id in its metadata, if it is there."""
    if not channel or not CHANNEL_ID.match(channel):
        return False, None
    try:
        kwargs = {"oldest": f"{oldest:.6f}"} if oldest is not None else {}
        history = client.conversations_history(channel=channel, limit=200, include_all_metadata=True, **kwargs)
    except Exception as exc:
        log.warning("Could not read %s history to check digest %s (%s)", channel, digest_id, exc)
        return False, None
    for message in history.get("messages", []):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("digest_id") == digest_id:
            return True, message.get("ts")
    return True, None


def _recover_slack(
    con: duckdb.DuckDBPyConnection, client, rows: list[dict], uncertain: dict[tuple[str, str], list[str]]
) -> list[dict]:
    """'sending' digests (a crash mid-send): marked sent when found in the channel, 'uncertain' when the channel
    cannot be checked (never posted blindly again); the rest are posted."""
    digests: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["slack_status"] == "sending" and row["slack_digest"] and row["slack_target"]:
            digests.setdefault((row["slack_digest"], row["slack_target"]), []).append(row)
    settled: set[str] = set()
    for (digest_id, channel), members in digests.items():
        keys = [m["alert_key"] for m in members]
        checked, ts = find_digest(client, channel, digest_id)
        if ts is not None:
            _update(con, "slack", keys, status="sent", error=None, sent_at=_utcnow(), ts=ts)
            log.info(
                "Digest %s was already in %s (crash after send): marked sent, not posted again", digest_id, channel
            )
        elif not checked:
            error = f"crash during the post to {channel}; the channel could not be checked (history scope, ID)"
            _update(con, "slack", keys, status="uncertain", error=error)
            uncertain.setdefault((channel, digest_id), []).extend(keys)
            log.error("Digest %s: %s. Not posted again: see docs/alerts.md, Uncertain posts", digest_id, error)
        else:
            continue
        settled.update(keys)
    return [row for row in rows if row["alert_key"] not in settled]


def update_originals(con: duckdb.DuckDBPyConnection, client, corrections: list[dict]) -> int:
    """Edit in place (chat.update) the Slack messages that carried alerts a correction withdrew or updated, when
    their ts is known: their sections are marked, struck through when withdrawn. Returns the messages edited."""
    marks: dict[str, str] = {}
    for row in corrections:
        for key in row["details"].get("updated", []):
            marks[key] = "Updated after late GPS (see the correction)"
        for key in row["details"].get("withdrawn", []):
            marks[key] = "Withdrawn after late GPS (see the correction)"
    if not marks:
        return 0
    sent = _rows(con, "list_contains(?, alert_key) AND slack_status = 'sent' AND slack_ts IS NOT NULL", [list(marks)])
    edited = 0
    for ts, channel in sorted({(r["slack_ts"], r["slack_target"]) for r in sent}):
        members = _rows(con, "slack_ts = ? AND slack_target = ?", [ts, channel])
        text, blocks = slack_message(Digest("slack", members[0]["team"], channel, tuple(sort_alerts(members))))
        for block in blocks:
            note = marks.get(block.get("block_id", ""))
            if note:
                lines = block["text"]["text"].split("\n")
                struck = [f"~{line}~" for line in lines] if note.startswith("Withdrawn") else lines
                block["text"]["text"] = "\n".join([f"*{note}*", *struck])
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            edited += 1
        except Exception as exc:  # the follow-up message is already posted: the edit is a courtesy
            log.warning("Could not edit Slack message %s in %s (%s)", ts, channel, exc)
    return edited


def certainly_not_posted(exc: BaseException) -> bool:
    """True when Slack (or the network) answered that the message was not posted: an API error answered by Slack
    (ok: false with HTTP 2xx or 4xx, such as channel_not_found or a rate limit), or a connection never made. A
    timeout, a reset connection or a 5xx may have posted it."""
    from hotspots.alerts.targets import connection_refused

    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return status < 500
    return connection_refused(exc)


def _error_text(exc: Exception) -> str:
    """A short, stable description of a delivery failure (the Slack error code rather than the whole response)."""
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "get") and response.get("error"):
        return f"{type(exc).__name__}: {response.get('error')} (HTTP {getattr(response, 'status_code', '?')})"
    return f"{type(exc).__name__}: {exc}"[:500]


def _send(channel: str, digest: Digest, *, client, smtp: SmtpTarget | None, to: str | None = None) -> str | None:
    """Send one digest (Slack: to the channel `to`, default its destination); returns the Slack ts (None for
    email). Raises on failure."""
    if channel == "slack":
        text, blocks = slack_message(digest)
        metadata = {
            "event_type": DIGEST_EVENT,
            "event_payload": {"digest_id": digest.digest_id, "alerts": len(digest.alerts)},
        }
        response = client.chat_postMessage(
            channel=to or digest.destination, text=text, blocks=blocks, metadata=metadata, unfurl_links=False
        )
        return response.get("ts")
    smtp.send(email_message(digest, from_addr=smtp.from_addr))
    return None


def _post_slack_once(digest: Digest, *, client, to: str, slack: SlackTarget) -> tuple[str, str | None, str | None]:
    """Post a digest so that it lands at most once: ('sent', ts, None), ('failed', None, error) when it certainly
    did not land, or ('uncertain', None, error) when it may have and the channel cannot be checked. After a
    timeout or a 5xx the channel is checked for the digest, and posted again only when it is certainly not there
    (at most slack.retries times)."""
    for attempt in range(slack.retries + 1):
        started = time.time()
        try:
            return "sent", _send("slack", digest, client=client, smtp=None, to=to), None
        except Exception as exc:
            error = _error_text(exc)
            if certainly_not_posted(exc):
                return "failed", None, error
        time.sleep(slack.backoff_s)
        checked, ts = find_digest(client, to, digest.digest_id, oldest=started - 60)
        if ts is not None:
            log.info("Digest %s reached %s despite %s: marked sent, not posted again", digest.digest_id, to, error)
            return "sent", ts, None
        if not checked:
            return "uncertain", None, f"{error}; {to} could not be checked (history scope, channel ID)"
        log.warning("Digest %s is not in %s after %s: posting again (%d)", digest.digest_id, to, error, attempt + 1)
    return "failed", None, error


def deliver_pending(
    con: duckdb.DuckDBPyConnection, *, settings: Settings, slack: SlackTarget | None, smtp: SmtpTarget | None
) -> dict:
    """Deliver every alert not yet delivered, one digest per team and destination per channel.

    Returns {'slack': {...}, 'email': {...}, 'files': n} with per-alert counts sent, failed, skipped, dead,
    uncertain (Slack only), edited (Slack messages updated in place by a correction) and the number of messages
    sent. A failure on one channel never stops the other.
    Raises AlertDeliveryError, after all statuses are recorded, when any alert reached
    settings.alert_max_attempts on a channel, or a Slack post became uncertain in this run.
    """
    summary: dict = {"files": _write_missing_files(con, settings)}
    open_forces = {row["force"] for channel in ("slack", "email") for row in open_alerts(con, channel)}
    routes = force_routes(settings, open_forces)
    dead: dict[tuple[str, str], list[str]] = {}
    uncertain: dict[tuple[str, str], list[str]] = {}
    for channel, target in (("slack", slack), ("email", smtp)):
        counts = {"sent": 0, "failed": 0, "skipped": 0, "dead": 0, "uncertain": 0, "edited": 0, "messages": 0}
        summary[channel] = counts
        rows = open_alerts(con, channel)
        if not rows:
            continue
        client = slack.client() if channel == "slack" and slack is not None else None
        if client is not None:
            before = sum(map(len, uncertain.values()))
            rows = _recover_slack(con, client, rows, uncertain)
            counts["uncertain"] += sum(map(len, uncertain.values())) - before
        digests, skipped = force_digests(
            rows, channel, routes, slack if channel == "slack" else None, configured=target is not None
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
            if channel == "slack":
                destination = channel_id(con, client, destination) or destination
            con.execute(
                f"UPDATE alerts SET {channel}_status = 'sending', {channel}_attempts = {channel}_attempts + 1, "
                f"{channel}_digest = ?, {channel}_target = ? WHERE list_contains(?, alert_key)",
                [digest.digest_id, destination, keys],
            )
            if channel == "slack" and destination in last_post:
                time.sleep(max(0.0, slack.min_interval_s - (time.monotonic() - last_post[destination])))
            try:
                if channel == "slack":
                    outcome, ts, error = _post_slack_once(digest, client=client, to=destination, slack=slack)
                    if outcome == "uncertain":
                        _update(con, channel, keys, status="uncertain", error=error)
                        counts["uncertain"] += len(keys)
                        uncertain.setdefault((destination, digest.digest_id), []).extend(keys)
                        log.error("slack digest %s to %s: %s", digest.digest_id, destination, error)
                        continue
                    if outcome == "failed":
                        raise _Failed(error)
                else:
                    ts = _send(channel, digest, client=client, smtp=smtp)
            except Exception as exc:
                error = str(exc) if isinstance(exc, _Failed) else _error_text(exc)
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
                corrections = [row for row in chunk if row["rule"] == "correction"]
                if corrections:
                    counts["edited"] += update_originals(con, client, corrections)
            else:
                _update(con, channel, keys, status="sent", error=None, sent_at=_utcnow())
            counts["sent"] += len(keys)
            counts["messages"] += 1
            log.info("%s digest %s to %s: %d alerts", channel, digest.digest_id, destination, len(keys))
    log.info("Delivery summary: %s", summary)
    if uncertain:
        raise AlertDeliveryError(
            f"{sum(map(len, uncertain.values()))} alerts may or may not be on Slack (status 'uncertain'; the channel "
            "could not be checked, so they are not posted again): "
            + "; ".join(f"digest {d} to {c}: {', '.join(keys)}" for (c, d), keys in uncertain.items())
            + ". Look in the channel, then run `hotspots alerts-settle --posted` or `--not-posted` "
            "(docs/alerts.md, Uncertain posts)."
        )
    if dead:
        raise AlertDeliveryError(
            f"{sum(map(len, dead.values()))} alert deliveries gave up after {settings.alert_max_attempts} attempts "
            f"(status 'dead' in the alerts table; the alerts are in {settings.outbox_dir}): "
            + "; ".join(
                f"{channel} failed with {error} for {', '.join(keys)}" for (channel, error), keys in dead.items()
            )
        )
    return summary
