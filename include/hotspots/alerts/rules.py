"""Alert rules: compliance rows -> alerts in the outbox (table + one JSON file each), never raised twice."""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import duckdb

from hotspots.alerts.outbox import write_outbox_file
from hotspots.alerts.routing import area_teams_of
from hotspots.compliance import compliance_so_far, hotspot_targets
from hotspots.plan import hotspot_labels, make_plan, selection_on
from hotspots.settings import Settings
from hotspots.warehouse import fetch_dicts, read_sql, writer_lock

log = logging.getLogger(__name__)

# rule -> (severity, audience)
RULES: dict[str, tuple[str, str]] = {
    "under_target": ("warning", "supervisors"),
    "no_patrol": ("critical", "escalation"),
    "recovered": ("info", "supervisors"),
    "no_visit_yet": ("warning", "supervisors"),
    "planned": ("info", "supervisors"),
    "no_data": ("warning", "supervisors"),
    "feed_missing": ("critical", "data_engineers"),
    "contamination": ("info", "supervisors"),
    "weekly_plan": ("info", "supervisors"),
    "correction": ("info", "supervisors"),
    "dose_delivered": ("info", "supervisors"),
}
UNDER = ("under", "none")
NO_DATA = "no_data"  # daily_compliance status of every hot spot on a day without any GPS data


@dataclass(frozen=True)
class Alert:
    """One alert about one hot spot on one day."""

    rule: str
    force: str
    area_code: str
    date: date
    team: str
    details: dict = field(default_factory=dict, compare=False)
    tag: str = field(default="", kw_only=True)  # a correction's change (several corrections of one hot spot and day)

    @property
    def key(self) -> str:
        key = alert_key(self.rule, self.force, self.area_code, self.date)
        return f"{key}|{self.tag}" if self.tag else key

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]

    @property
    def audience(self) -> str:
        return RULES[self.rule][1]


def alert_key(rule: str, force: str, area_code: str, day: date) -> str:
    """rule|force|area_code|YYYY-MM-DD."""
    return f"{rule}|{force}|{area_code}|{day.isoformat()}"


def report_url(settings: Settings, force: str, day: date, area_code: str) -> str | None:
    """Link to the day's report at the hot spot, when reports are served (settings.report_base_url)."""
    if not settings.report_base_url:
        return None
    return f"{settings.report_base_url.rstrip('/')}/{force}/{day.isoformat()}.html#{area_code}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _details(row: dict, settings: Settings, force: str) -> dict:
    """The figures shown in a message. Area and patrol figures only: never an officer or device identity."""
    day = row["date"]
    last = row.get("last_patrol_date")
    return {
        "area_code": row["area_code"],
        "area_name": row.get("area_name"),
        "rank": row.get("rank"),
        "date": day.isoformat(),
        "status": row.get("status"),
        "planned": bool(row.get("planned", True)),
        "target_minutes": _round(row.get("target_minutes")),
        "delivered_minutes": _round(row.get("delivered_minutes")),
        "patrol_minutes": _round(row.get("patrol_minutes")),
        "koper_visits": int(row.get("koper_visits") or 0),
        "longest_visit_minutes": _round(row.get("longest_visit_minutes")),
        "dose_rule": row.get("dose_rule") or settings.dose_rule,
        "dose_visit_minutes": settings.dose_visit_minutes,
        "days_without_patrol": row.get("days_without_patrol"),
        "last_patrol_date": last.isoformat() if last else None,
        "days_since_last_patrol": (day - last).days if last else None,
        "ratio_7d": None if row.get("ratio_7d") is None else round(float(row["ratio_7d"]), 2),
        "ratio_28d": None if row.get("ratio_28d") is None else round(float(row["ratio_28d"]), 2),
        "report_url": report_url(settings, force, day, row["area_code"]),
    }


def evaluate_rules(
    con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings, record_teams: bool = False
) -> list[Alert]:
    """The alerts the day's compliance rows call for (see docs/alerts.md for each rule).

    Writes nothing unless record_teams: then areas missing from area_teams are recorded there.
    """
    enabled = set(settings.alert_rules)
    alerts: list[Alert] = []
    candidates = fetch_dicts(con, read_sql("transform/alerts_candidates", settings), {"force": force, "date": date})
    teams = area_teams_of(
        con, force=force, codes=[row["area_code"] for row in candidates], settings=settings, record=record_teams
    )
    for row in candidates:
        rules = []
        if "under_target" in enabled and row["planned"] and row["status"] in UNDER:
            rules.append("under_target")
        if "no_data" in enabled and row["status"] == NO_DATA and row["planned"]:
            rules.append("no_data")
        # Crossed or passed (a no_data day inside a streak counts, so the count can jump past the threshold), and
        # once per streak: not when a no_patrol alert was raised on an earlier day of the same streak.
        escalate = row["days_without_patrol"] >= settings.alarm_days and not row["escalated_in_streak"]
        if "no_patrol" in enabled and row["status"] != NO_DATA and escalate:
            rules.append("no_patrol")
        if "contamination" in enabled and row["status"] == "not_planned" and row["delivered_minutes"] > 0:
            rules.append("contamination")  # patrolled in the window though not drawn: the plan's control got some
        prev_under = row["prev_under_alert"] or (row["prev_planned"] and row["prev_status"] in UNDER)
        if "recovered" in enabled and "under_target" in enabled and row["status"] == "met" and prev_under:
            rules.append("recovered")
        if rules:
            details = _details(row, settings, force)
            team = teams[row["area_code"]]
            alerts.extend(Alert(rule, force, row["area_code"], date, team, details) for rule in rules)
    return alerts


def store_alerts(con: duckdb.DuckDBPyConnection, alerts: list[Alert], settings: Settings) -> list[str]:
    """Insert alerts whose key is new, write their outbox files; existing keys are left untouched.

    The outbox has no key constraint (a DuckLake has none): exactly once rests on this read-check-insert, which
    runs under the writer lock of each force concerned (hotspots.warehouse.writer_lock; a pipeline step already
    holds it from before its transaction began), so no other writer adds the same alert between check and
    insert."""
    if not alerts:
        return []
    with ExitStack() as locks:
        for force in sorted({a.force for a in alerts}):
            locks.enter_context(writer_lock(force, settings))
        return _store_new_alerts(con, alerts, settings)


def _store_new_alerts(con: duckdb.DuckDBPyConnection, alerts: list[Alert], settings: Settings) -> list[str]:
    keys = [a.key for a in alerts]
    existing = {
        k for (k,) in con.execute("SELECT alert_key FROM alerts WHERE list_contains(?, alert_key)", [keys]).fetchall()
    }
    fresh = []
    for alert in alerts:  # an alert twice in the batch is stored once
        if alert.key not in existing:
            existing.add(alert.key)
            fresh.append(alert)
    if not fresh:
        return []
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.executemany(
        """INSERT INTO alerts (alert_key, force, rule, area_code, date, team, audience, severity, details, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            [
                a.key,
                a.force,
                a.rule,
                a.area_code,
                a.date,
                a.team,
                a.audience,
                a.severity,
                json.dumps(a.details, sort_keys=True),
                now,
            ]
            for a in fresh
        ],
    )
    for alert in fresh:
        path = write_outbox_file(
            settings,
            {
                "alert_key": alert.key,
                "force": alert.force,
                "rule": alert.rule,
                "area_code": alert.area_code,
                "date": alert.date.isoformat(),
                "team": alert.team,
                "audience": alert.audience,
                "severity": alert.severity,
                "details": alert.details,
                "created_at": now.isoformat() + "Z",
            },
        )
        con.execute("UPDATE alerts SET file_status = 'sent', file_path = ? WHERE alert_key = ?", [str(path), alert.key])
        log.info("Alert raised: %s (%s, team %s)", alert.key, alert.severity, alert.team)
    return [a.key for a in fresh]


def raise_alerts(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> list[str]:
    """Evaluate the day-after rules on the day's compliance rows; returns the keys of new alerts."""
    count = con.execute("SELECT count(*) FROM daily_compliance WHERE force = ? AND date = ?", [force, date]).fetchone()
    if not count[0]:
        log.warning("No compliance rows for %s on %s: run build_compliance first; no alerts raised", force, date)
        return []
    alerts = evaluate_rules(con, force=force, date=date, settings=settings, record_teams=True)
    return store_alerts(con, alerts, settings)


def checkpoint_tag(now_local: datetime) -> str:
    """A checkpoint's part of its alert keys: its local time, HH:MM (each checkpoint's alerts are sent once)."""
    return now_local.strftime("%H:%M")


def evaluate_checkpoint(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    date: date,
    now_local: datetime,
    settings: Settings,
    store_plan: bool = True,
) -> list[Alert]:
    """An in-shift checkpoint's alerts from today's patrol so far (compliance_so_far, the one 'dose met' rule):
    no_visit_yet for each planned hot spot (every hot spot without a plan) not visited in the window or under its
    dose, and with settings.checkpoint_dose_notice dose_delivered for those that have had it. A day without GPS
    data so far raises neither (feed_missing tells the data engineers). Keys carry the checkpoint's HH:MM.

    Writes nothing except a missing day plan and missing area_teams rows (and not those with store_plan=False).
    """
    if now_local.date() != date or now_local.time() < settings.checkpoint_times[0]:
        log.info(
            "Checkpoints for %s run on that day from %s local (now %s): nothing raised",
            date,
            settings.checkpoint_times[0],
            now_local,
        )
        return []
    rows = compliance_so_far(con, force=force, date=date, settings=settings, store_plan=store_plan)
    wanted = [r for r in rows if r["planned"] and r["status"] in UNDER and "no_visit_yet" in settings.alert_rules]
    wanted += [r for r in rows if r["planned"] and r["status"] == "met" and settings.checkpoint_dose_notice]
    if not wanted:
        return []
    codes = [r["area_code"] for r in wanted]
    teams = area_teams_of(con, force=force, codes=codes, settings=settings, record=store_plan)
    labels = hotspot_labels(con, force, wanted[0]["selection_id"])
    tag = checkpoint_tag(now_local)
    alerts = []
    for row in wanted:
        rule = "dose_delivered" if row["status"] == "met" else "no_visit_yet"
        details = _details(row | labels.get(row["area_code"], {}), settings, force) | {"as_of": tag}
        alerts.append(Alert(rule, force, row["area_code"], date, teams[row["area_code"]], details, tag=tag))
    return alerts


def raise_checkpoint_alerts(
    con: duckdb.DuckDBPyConnection, *, force: str, date: date, now_local: datetime, settings: Settings
) -> list[str]:
    """Store a checkpoint's no_visit_yet (and dose_delivered) alerts in the outbox, each once; returns new keys."""
    alerts = evaluate_checkpoint(con, force=force, date=date, now_local=now_local, settings=settings)
    return store_alerts(con, alerts, settings)


def evaluate_plan(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> list[Alert]:
    """One 'planned' notice per hot spot drawn for the day (only with settings.plan_k)."""
    if settings.plan_k is None or "planned" not in settings.alert_rules:
        return []
    selection = selection_on(con, force, date)
    planned = make_plan(con, force=force, date=date, settings=settings)
    if not planned or selection is None:
        return []
    targets = hotspot_targets(planned, settings, con=con, force=force, day=date)
    teams = area_teams_of(con, force=force, codes=planned, settings=settings, record=True)
    labels = hotspot_labels(con, force, selection.selection_id)
    alerts = []
    for code in planned:
        details = {
            "area_code": code,
            "area_name": labels.get(code, {}).get("area_name"),
            "rank": labels.get(code, {}).get("rank"),
            "date": date.isoformat(),
            "planned": True,
            "target_minutes": _round(targets[code]),
            "dose_rule": settings.dose_rule,
            "dose_visit_minutes": settings.dose_visit_minutes,
            "window": f"{settings.patrol_window_start:%H:%M}-{settings.patrol_window_end:%H:%M}",
            "report_url": report_url(settings, force, date, code),
        }
        alerts.append(Alert("planned", force, code, date, teams[code], details))
    return alerts


def raise_plan_alerts(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> list[str]:
    """Publish the day's plan to supervisors (one digest line per planned hot spot)."""
    return store_alerts(con, evaluate_plan(con, force=force, date=date, settings=settings), settings)
