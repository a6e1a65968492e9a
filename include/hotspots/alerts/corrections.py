"""Alerts that stay true: when a day is recomputed (late or corrected GPS) after it raised alerts, a correction
names what changed and withdraws what no longer holds, once per change (docs/alerts.md, Corrections)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import fetch_dicts

log = logging.getLogger(__name__)

DAY_RULES = ("under_target", "no_patrol", "recovered", "no_data")  # what a recomputed day can take back
FIGURES = ("status", "delivered_minutes", "patrol_minutes", "days_without_patrol")


def _stored(con: duckdb.DuckDBPyConnection, force: str, day: date) -> tuple[dict[str, list[dict]], set[str]]:
    """The day's alerts by area, and the keys earlier corrections already withdrew."""
    rows = fetch_dicts(
        con,
        "SELECT alert_key, rule, area_code, team, details, slack_ts, slack_target FROM alerts "
        "WHERE force = ? AND date = ? AND (list_contains(?, rule) OR rule = 'correction') ORDER BY created_at",
        [force, day, list(DAY_RULES)],
    )
    by_area: dict[str, list[dict]] = {}
    withdrawn: set[str] = set()
    for row in rows:
        row["details"] = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
        if row["rule"] == "correction":
            withdrawn.update(row["details"].get("withdrawn", []))
        by_area.setdefault(row["area_code"], []).append(row)
    return by_area, withdrawn


def evaluate_corrections(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> list:
    """Corrections for the day's stored alerts after its compliance rows were rebuilt: per hot spot, the alerts the
    day no longer calls for (withdrawn) and those whose figures changed (updated). Writes nothing."""
    from hotspots.alerts.rules import Alert, evaluate_rules

    if "correction" not in settings.alert_rules:
        return []
    stored, withdrawn_before = _stored(con, force, date)
    if not stored:
        return []
    now = {}
    for alert in evaluate_rules(con, force=force, date=date, settings=settings):
        now.setdefault(alert.area_code, {})[alert.rule] = alert
    current = {
        r["area_code"]: r
        for r in fetch_dicts(con, "SELECT * FROM daily_compliance WHERE force = ? AND date = ?", [force, date])
    }
    corrections = []
    for area, rows in stored.items():
        standing = [r for r in rows if r["rule"] != "correction" and r["alert_key"] not in withdrawn_before]
        latest = rows[-1]["details"].get("now") if rows[-1]["rule"] == "correction" else None
        withdrawn, updated = [], []
        for row in standing:
            fresh = now.get(area, {}).get(row["rule"])
            if fresh is None:
                withdrawn.append(row)
                continue
            before = latest or {k: row["details"].get(k) for k in FIGURES}
            if any(before.get(k) != fresh.details.get(k) for k in FIGURES):
                updated.append(row)
        if not withdrawn and not updated:
            continue
        compliance = current.get(area) or {}
        figures = {k: compliance.get(k) for k in FIGURES}
        figures["delivered_minutes"] = round(float(figures["delivered_minutes"] or 0), 1)
        figures["patrol_minutes"] = round(float(figures["patrol_minutes"] or 0), 1)
        source = (now.get(area) or {}).values()
        first = next(iter(source), None)
        base = dict(first.details) if first is not None else dict(standing[0]["details"])
        details = base | {
            "now": figures,
            "status": figures["status"],
            "delivered_minutes": figures["delivered_minutes"],
            "target_minutes": round(float(compliance.get("target_minutes") or 0), 1),
            "withdrawn": [r["alert_key"] for r in withdrawn],
            "updated": [r["alert_key"] for r in updated],
            "withdrawn_rules": [r["rule"] for r in withdrawn],
            "originals": [
                {"alert_key": r["alert_key"], "slack_ts": r["slack_ts"], "slack_target": r["slack_target"]}
                for r in withdrawn + updated
            ],
        }
        tag = hashlib.sha256(
            json.dumps([details["withdrawn"], details["updated"], figures], sort_keys=True, default=str).encode()
        ).hexdigest()[:8]
        team = standing[0].get("team") or None
        team = (
            team or con.execute("SELECT team FROM alerts WHERE alert_key = ?", [standing[0]["alert_key"]]).fetchone()[0]
        )
        corrections.append(Alert("correction", force, area, date, team, details, tag=tag))
    return corrections


def raise_corrections(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> list[str]:
    """Store the day's corrections in the outbox (each once); returns the new keys."""
    from hotspots.alerts.rules import store_alerts

    found = evaluate_corrections(con, force=force, date=date, settings=settings)
    for alert in found:
        log.warning(
            "Correction %s: withdrawn %s, updated %s", alert.key, alert.details["withdrawn"], alert.details["updated"]
        )
    return store_alerts(con, found, settings)
