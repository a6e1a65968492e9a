"""Digest messages: one per team and destination per run, one section per hot spot (Slack Block Kit, email)."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
MAX_SECTIONS = 45  # Slack allows 50 blocks per message: header + summary + sections
SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":white_check_mark:"}


@dataclass(frozen=True)
class Digest:
    """The alerts going to one destination (a Slack channel, or a set of email recipients) in one message."""

    channel: str
    team: str
    destination: str
    alerts: tuple[dict, ...]

    @property
    def digest_id(self) -> str:
        keys = "\n".join(sorted(a["alert_key"] for a in self.alerts))
        return hashlib.sha256(f"{self.channel}\n{self.destination}\n{keys}".encode()).hexdigest()[:20]

    @property
    def dates(self) -> str:
        days = sorted({a["date"] for a in self.alerts})
        return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def sort_alerts(alerts: list[dict]) -> list[dict]:
    """Most severe first, then by hot-spot rank and area code."""
    return sorted(
        alerts,
        key=lambda a: (
            SEVERITY_ORDER.get(a["severity"], 9),
            a["date"],
            a["details"].get("rank") or 10**9,
            a["area_code"],
            a["rule"],
        ),
    )


def dose_rule_words(rule: str | None, visit_minutes: float | None) -> str:
    """The dose rule (setting dose_rule) in words, for digests and reports: how "met" was decided."""
    if rule == "continuous":
        return f"one continuous visit of at least {visit_minutes or 0:g} min inside the patrol window (Koper)"
    return "total patrol minutes inside the patrol window against the target"


def dose_line(digest: Digest) -> str | None:
    """'Dose rule: ...' for a digest whose alerts carry it (the rule in force when each was raised)."""
    rules = {
        (d["dose_rule"], d.get("dose_visit_minutes") if d["dose_rule"] == "continuous" else None)
        for d in (a["details"] for a in digest.alerts)
        if d.get("dose_rule")
    }
    if not rules:
        return None
    return "Dose rule: " + "; ".join(dose_rule_words(rule, minutes) for rule, minutes in sorted(rules))


def area_label(details: dict) -> str:
    name = details.get("area_name")
    label = f"{name} ({details['area_code']})" if name else details["area_code"]
    return f"#{details['rank']} {label}" if details.get("rank") else label


def title(alert: dict) -> str:
    """What the alert says, in words."""
    d, rule = alert["details"], alert["rule"]
    if rule == "under_target":
        what = "no patrol" if d.get("status") == "none" else "under target"
        return f"Under target on {alert['date']}: {what}"
    if rule == "no_patrol":
        return f"No patrol for {d.get('days_without_patrol')} days (escalation)"
    if rule == "recovered":
        return f"Back to target on {alert['date']}"
    if rule == "no_visit_yet":
        what = "Under dose so far today" if d.get("delivered_minutes") else "No visit yet today"  # in the window
        return f"{what} ({alert['date']}, as of {d.get('as_of')})"
    if rule == "dose_delivered":
        return f"Dose delivered today ({alert['date']}, as of {d.get('as_of')}): move on"
    if rule == "planned":
        return f"Planned for patrol on {alert['date']} ({d.get('window')})"
    if rule == "no_data":
        return f"No GPS data on {alert['date']}: patrol not measured"
    if rule == "correction":
        if d.get("withdrawn"):
            return f"Correction for {alert['date']}: the earlier alert is withdrawn"
        return f"Correction for {alert['date']}: figures updated"
    if rule == "feed_missing" and d.get("kind") == "crime_month":
        return f"Crime data missing for {d.get('month')}: not published or not landed past the lag"
    if rule == "feed_missing":
        when = f", as of {d['as_of']}" if d.get("as_of") else ""
        return f"GPS feed missing on {alert['date']}{when}: {d.get('what')}"
    if rule == "weekly_plan":
        again = f", redraw {d.get('revision')}: {d.get('reason')}" if d.get("revision") else ""
        return f"Plan for the week {alert['date']} to {d.get('week_end')}: {len(d.get('dates') or [])} days{again}"
    if rule == "contamination":
        return f"Patrolled on {alert['date']} though not drawn (contamination of the plan)"
    return rule


def figures(alert: dict) -> str:
    """Minutes against target, Koper visits and days since the last patrol, on one line."""
    d = alert["details"]
    if alert["rule"] == "planned":
        if d.get("dose_rule") == "continuous":
            return f"dose: one visit of {d.get('dose_visit_minutes') or 0:g}+ min in the window"
        return f"target {d.get('target_minutes'):g} min"
    if alert["rule"] == "dose_delivered":
        minutes = f"{d.get('delivered_minutes', 0):g} of {d.get('target_minutes', 0):g} min target"
        if d.get("dose_rule") == "continuous":
            minutes = (
                f"longest visit {d.get('longest_visit_minutes') or 0:g} of {d.get('dose_visit_minutes') or 0:g} min"
            )
        return f"{minutes} · {d.get('koper_visits', 0)} Koper visits"
    if alert["rule"] == "feed_missing":
        return feed_figures(d)
    if alert["rule"] == "weekly_plan":
        days = ", ".join(date.fromisoformat(x).strftime("%a %d %b") for x in d.get("dates") or [])
        return f"{days} · target {d.get('target_minutes'):g} min in {d.get('window')} each day"
    if alert["rule"] == "contamination":
        return (
            f"{d.get('delivered_minutes', 0):g} min in the patrol window on a day it was not drawn · "
            f"{d.get('koper_visits', 0)} Koper visits"
        )
    if alert["rule"] == "correction":
        return correction_figures(d)
    if alert["rule"] == "no_data":
        last = d.get("last_patrol_date")
        return f"no GPS data for the force that day; last patrol on record {last or 'none'}"
    if d.get("dose_rule") == "continuous":
        parts = [
            f"longest visit {d.get('longest_visit_minutes') or 0:g} of {d.get('dose_visit_minutes') or 0:g} min",
            f"{d.get('delivered_minutes', 0):g} min in the window",
        ]
    else:
        parts = [f"{d.get('delivered_minutes', 0):g} of {d.get('target_minutes', 0):g} min target"]
    parts.append(f"{d.get('koper_visits', 0)} Koper visits")
    if d.get("last_patrol_date"):
        parts.append(f"{d.get('days_since_last_patrol')} days since last patrol ({d['last_patrol_date']})")
    else:
        parts.append("no patrol on record")
    if d.get("ratio_7d") is not None:
        parts.append(f"7-day delivery {d['ratio_7d'] * 100:.0f}% of target")
    return " · ".join(parts)


RULE_WORDS = {
    "under_target": "under target",
    "no_patrol": "no patrol escalation",
    "recovered": "recovered",
    "no_data": "no GPS data",
}
STATUS_WORDS = {
    "met": "target met",
    "under": "under target",
    "none": "no patrol",
    "no_data": "no GPS data",
    "not_planned": "not drawn today",
}


def correction_figures(d: dict) -> str:
    """What a recomputed day now says, and which earlier alerts it takes back."""
    status = STATUS_WORDS.get(d.get("status"), d.get("status"))
    parts = [f"{d.get('delivered_minutes', 0):g} min after late GPS, {status}"]
    if d.get("withdrawn_rules"):
        parts.append("withdrawn: " + ", ".join(RULE_WORDS.get(r, r) for r in d["withdrawn_rules"]))
    if d.get("updated"):
        parts.append(f"{len(d['updated'])} earlier alert(s) updated")
    return " · ".join(parts)


def feed_figures(d: dict) -> str:
    """Force, hours, and seen against expected files and devices of a feed_missing alert."""

    def expected(value) -> str:
        return "no norm yet" if value is None else f"{value:g} expected"

    if d.get("kind") == "crime_month":
        return f"force {d.get('force')} · expected by {d.get('expected_by')} · looked in {d.get('looked_in')}"

    parts = [f"force {d.get('force')}", f"hours {d.get('hours')}"]
    if d.get("longest_gap_minutes") is not None:
        parts.append(f"longest gap {d['longest_gap_minutes']:g} min")
    parts.append(f"files {d.get('seen_files')} seen, {expected(d.get('expected_files'))}")
    parts.append(f"devices (busiest hour) {d.get('seen_devices')} seen, {expected(d.get('expected_devices'))}")
    return " · ".join(parts)


def summary(digest: Digest) -> str:
    counts: dict[str, int] = {}
    for alert in digest.alerts:
        counts[alert["rule"]] = counts.get(alert["rule"], 0) + 1
    names = {
        "under_target": "under target",
        "no_patrol": "no patrol (escalation)",
        "recovered": "recovered",
        "no_visit_yet": "no visit yet today",
        "planned": "planned today",
        "no_data": "no GPS data",
        "feed_missing": "GPS feed missing",
        "contamination": "patrolled though not drawn",
        "weekly_plan": "in the week's plan",
        "correction": "correction",
        "dose_delivered": "dose delivered today",
    }
    return ", ".join(f"{n} {names.get(rule, rule)}" for rule, n in sorted(counts.items(), key=lambda kv: kv[0]))


def heading(digest: Digest) -> str:
    return f"Hot-spot patrol · {digest.team} · {digest.dates}"


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(digest: Digest) -> tuple[str, list[dict]]:
    """Notification text and Block Kit blocks: a header, a summary, one section per hot spot."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading(digest)[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(summary(digest))}]},
    ]
    if dose_line(digest):
        blocks[1]["elements"].append({"type": "mrkdwn", "text": _mrkdwn(dose_line(digest))})
    for alert in digest.alerts:
        d = alert["details"]
        text = (
            f"{SEVERITY_ICON.get(alert['severity'], '')} *{_mrkdwn(area_label(d))}* — {_mrkdwn(title(alert))}\n"
            f"{_mrkdwn(figures(alert))}"
        )
        if d.get("report_url"):
            text += f"\n<{d['report_url']}|Map and report>"
        blocks.append(
            {"type": "section", "block_id": alert["alert_key"][:255], "text": {"type": "mrkdwn", "text": text}}
        )
    return f"{heading(digest)}: {summary(digest)}", blocks


def plain_text(digest: Digest) -> str:
    lines = [heading(digest), summary(digest), *([dose_line(digest)] if dose_line(digest) else []), ""]
    for alert in digest.alerts:
        d = alert["details"]
        lines += [f"[{alert['severity']}] {area_label(d)}: {title(alert)}", f"    {figures(alert)}"]
        if d.get("report_url"):
            lines.append(f"    {d['report_url']}")
    return "\n".join(lines) + "\n"


def html_text(digest: Digest) -> str:
    rows = []
    for alert in digest.alerts:
        d = alert["details"]
        link = f' <a href="{html.escape(d["report_url"])}">Map and report</a>' if d.get("report_url") else ""
        rows.append(
            f"<tr><td>{html.escape(alert['severity'])}</td><td><b>{html.escape(area_label(d))}</b></td>"
            f"<td>{html.escape(title(alert))}</td><td>{html.escape(figures(alert))}{link}</td></tr>"
        )
    return (
        f"<html><body><h2>{html.escape(heading(digest))}</h2><p>{html.escape(summary(digest))}</p>"
        + (f"<p>{html.escape(dose_line(digest))}</p>" if dose_line(digest) else "")
        + '<table border="1" cellpadding="4" cellspacing="0"><tr><th>Severity</th><th>Hot spot</th>'
        f"<th>Alert</th><th>Figures</th></tr>{''.join(rows)}</table></body></html>"
    )


def email_message(digest: Digest, *, from_addr: str) -> EmailMessage:
    """Multipart plain text + HTML; Message-ID is derived from the digest so a resend is recognisable."""
    message = EmailMessage()
    message["Subject"] = f"Hot-spot patrol, {digest.team}: {summary(digest)} ({digest.dates})"
    message["From"] = from_addr
    message["To"] = ", ".join(digest.destination.split(","))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{digest.digest_id}@hotspots>"
    message.set_content(plain_text(digest))
    message.add_alternative(html_text(digest), subtype="html")
    return message


def failure_message(record: dict, *, from_addr: str, to: str) -> EmailMessage:
    """The data engineers' mail about one failed task: the failure record as plain text."""
    attempt = "|".join(str(record.get(k)) for k in ("dag_id", "task_id", "map_index", "run_id", "try_number"))
    message = EmailMessage()
    message["Subject"] = f"[hotspots] {record.get('dag_id')}.{record.get('task_id')} failed"
    message["From"] = from_addr
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<failure-{hashlib.sha256(attempt.encode()).hexdigest()[:16]}@hotspots>"
    message.set_content("".join(f"{name}: {value}\n" for name, value in record.items()))
    return message
