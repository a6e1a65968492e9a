"""The weekly schedule of the randomised plan, published ahead as Operation Rowan's supervisors had it.

On settings.plan_publish_weekday at settings.plan_publish_time (local) the weekly_plan DAG draws the plan of the
next Monday to Sunday (the daily draw of hotspots.plan for each day), stores it in daily_plan with one
plan_schedules row (seed, method and inputs, so an evaluator can re-derive every draw) and sends each team one
'weekly_plan' line per hot spot drawn that week, through the alert outbox (Slack and email).

Once published the week is immutable: a rerun returns the stored schedule, and make_plan keeps a published day's
plan even when the hot-spot list changes. Only an explicit redraw (`hotspots plan-week --redraw --reason ...`)
draws again, as a new revision with its own day seeds, recorded with its reason; days already evaluated
(daily_compliance rows) cannot be redrawn.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb

from hotspots.alerts.routing import area_teams_of
from hotspots.alerts.rules import Alert, store_alerts
from hotspots.plan import day_seed, draw, selection_on
from hotspots.settings import Settings, force_settings
from hotspots.warehouse import open_warehouse, transaction, writer_step

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
METHOD = (
    "per date: random.Random(day_seed).sample(sorted(hotspots), k), in draw order; day_seed = first 63 bits "
    "(big-endian, >> 1) of sha256('<plan_seed>|<force>|<YYYY-MM-DD>'), with '|r<revision>' appended for a redraw"
)


class ScheduleError(ValueError):
    """A weekly schedule request that cannot be honoured (no plan_k, not a Monday, a redraw without a reason)."""


@dataclass(frozen=True)
class WeeklyPlanAlert(Alert):
    """One line of the published week per hot spot; keyed by revision so a redraw is sent again."""

    revision: int = 0

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.force}|{self.area_code}|{self.date.isoformat()}|r{self.revision}"


def week_covered(publish_day: date) -> date:
    """The Monday of the week a schedule published on publish_day covers: the next Monday after it."""
    return publish_day + timedelta(days=7 - publish_day.weekday())


def current_schedule(con: duckdb.DuckDBPyConnection, force: str, week_start: date) -> dict[str, Any] | None:
    """The current (not superseded) revision of the week's schedule, or None."""
    row = con.execute(
        "SELECT revision, k, plan_seed, method, inputs, reason, published_at FROM plan_schedules "
        "WHERE force = ? AND week_start = ? AND superseded_at IS NULL",
        [force, week_start],
    ).fetchone()
    if row is None:
        return None
    keys = ("revision", "k", "plan_seed", "method", "inputs", "reason", "published_at")
    found = dict(zip(keys, row))
    found["inputs"] = json.loads(found["inputs"])
    return found


def publish_week(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    week_start: date,
    settings: Settings,
    redraw: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """Publish the week's schedule once (a rerun returns it unchanged), or redraw it with a reason."""
    if settings.plan_k is None:
        raise ScheduleError("No randomised plan: set HOTSPOTS_PLAN_K (Operation Rowan: 7) to publish a schedule.")
    if week_start.weekday() != 0:
        raise ScheduleError(f"{week_start} is a {week_start:%A}: a weekly schedule starts on a Monday.")
    days = [week_start + timedelta(days=i) for i in range(7)]
    current = current_schedule(con, force, week_start)
    summary = {"force": force, "week_start": week_start.isoformat(), "published": False}
    if current is not None and not redraw:
        log.info(
            "Schedule for %s week %s already published (revision %d): kept", force, week_start, current["revision"]
        )
        return summary | {"revision": current["revision"], "inputs": current["inputs"], "alerts_raised": []}
    if redraw:
        if current is None:
            raise ScheduleError(f"No schedule published for {force} week {week_start}: publish it first.")
        if not (reason or "").strip():
            raise ScheduleError("A redraw needs its reason: --reason '...'; it is recorded with the new revision.")
        evaluated = con.execute(
            "SELECT min(date) FROM daily_compliance WHERE force = ? AND date BETWEEN ? AND ?",
            [force, days[0], days[-1]],
        ).fetchone()[0]
        if evaluated is not None:
            raise ScheduleError(
                f"{force} {evaluated} is already evaluated against the published plan: a week with evaluated days "
                "cannot be redrawn."
            )
    revision = 0 if current is None else current["revision"] + 1
    stored = _stored_days(con, force, days) if revision == 0 else {}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    inputs: dict[str, Any] = {}
    rows = []
    for day in days:
        selection = selection_on(con, force, day)
        if selection is None:
            continue
        if day in stored:  # drawn before the week was published (same rule and seed): published as it is
            seed, chosen = stored[day]
        else:
            seed = day_seed(settings.plan_seed, force, day, revision)
            chosen = draw(selection.hotspots, settings.plan_k, seed)
        order = {code: i + 1 for i, code in enumerate(chosen)}
        n = len(selection.hotspots)
        rows += [
            (force, day, code, selection.selection_id, code in order, order.get(code), len(chosen), n)
            + (settings.plan_seed, seed, now)
            for code in selection.hotspots
        ]
        inputs[day.isoformat()] = {
            "selection_id": selection.selection_id,
            "hotspots": sorted(selection.hotspots),
            "day_seed": seed,
            "drawn": chosen,
        }
    if not inputs:
        log.warning("No hot-spot list in force for %s in the week of %s: no schedule published", force, week_start)
        return summary | {"revision": None, "inputs": {}, "alerts_raised": []}
    with transaction(con):
        if current is not None:
            con.execute(
                "UPDATE plan_schedules SET superseded_at = ? WHERE force = ? AND week_start = ? AND revision = ?",
                [now, force, week_start, current["revision"]],
            )
        con.execute("DELETE FROM daily_plan WHERE force = ? AND date BETWEEN ? AND ?", [force, days[0], days[-1]])
        con.executemany("INSERT INTO daily_plan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            "INSERT INTO plan_schedules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [force, week_start, revision, settings.plan_k, settings.plan_seed, METHOD, json.dumps(inputs), reason, now],
        )
    raised = store_alerts(con, _alerts(con, force, week_start, revision, reason, inputs, settings), settings)
    log.info("Schedule for %s week %s published (revision %d, %d days)", force, week_start, revision, len(inputs))
    return summary | {"published": True, "revision": revision, "inputs": inputs, "alerts_raised": raised}


def _stored_days(con: duckdb.DuckDBPyConnection, force: str, days: list[date]) -> dict[date, tuple[int, list[str]]]:
    """Days of the week whose plan was already drawn (by daily_plan or compliance): day -> (seed, drawn codes)."""
    found: dict[date, tuple[int, list[str]]] = {}
    for day, seed, code in con.execute(
        "SELECT date, day_seed, area_code FROM daily_plan WHERE force = ? AND date BETWEEN ? AND ? AND planned "
        "ORDER BY date, draw_order",
        [force, days[0], days[-1]],
    ).fetchall():
        found.setdefault(day, (seed, []))[1].append(code)
    return found


def _alerts(
    con: duckdb.DuckDBPyConnection,
    force: str,
    week_start: date,
    revision: int,
    reason: str | None,
    inputs: dict[str, Any],
    settings: Settings,
) -> list[Alert]:
    """One weekly_plan line per hot spot drawn at least once in the week, with its days."""
    if "weekly_plan" not in settings.alert_rules:
        return []
    by_code: dict[str, list[str]] = {}
    for day, item in sorted(inputs.items()):
        for code in item["drawn"]:
            by_code.setdefault(code, []).append(day)
    codes = sorted(by_code)
    teams = area_teams_of(con, force=force, codes=codes, settings=settings, record=True)
    names = dict(
        con.execute(
            "SELECT area_code, area_name FROM stg_areas WHERE force = ? AND list_contains(?, area_code)", [force, codes]
        ).fetchall()
    )
    window = f"{settings.patrol_window_start:%H:%M}-{settings.patrol_window_end:%H:%M}".replace("-00:00", "-24:00")
    return [
        WeeklyPlanAlert(
            "weekly_plan",
            force,
            code,
            week_start,
            teams[code],
            {
                "area_code": code,
                "area_name": names.get(code),
                "date": week_start.isoformat(),
                "week_end": (week_start + timedelta(days=6)).isoformat(),
                "dates": by_code[code],
                "planned": True,
                "target_minutes": settings.target_minutes,
                "window": window,
                "revision": revision,
                "reason": reason,
            },
            revision,
        )
        for code in codes
    ]


@writer_step
def publish_weekly_plan(force: str, publish_day: date, settings: Settings | None = None) -> dict[str, Any]:
    """The weekly_plan DAG's step: publish the schedule of the week after publish_day (local), once."""
    settings = force_settings(force, settings)
    if settings.plan_k is None:
        log.info("No randomised plan (HOTSPOTS_PLAN_K unset): no weekly schedule")
        return {"force": force, "week_start": week_covered(publish_day).isoformat(), "published": False}
    with open_warehouse(settings) as con:
        result = publish_week(con, force=force, week_start=week_covered(publish_day), settings=settings)
    return {k: v for k, v in result.items() if k != "inputs"}


def export_plan(con: duckdb.DuckDBPyConnection, out, *, force: str | None = None) -> int:
    """Write daily_plan as CSV with the columns date, area_code, planned (and force when several); returns rows."""
    forces = [r[0] for r in con.execute("SELECT DISTINCT force FROM daily_plan").fetchall()]
    columns = "date, area_code, planned" if force or len(forces) <= 1 else "force, date, area_code, planned"
    query = f"SELECT {columns} FROM daily_plan WHERE ($force IS NULL OR force = $force) ORDER BY ALL"
    frame = con.execute(query, {"force": force}).df()
    frame["date"] = frame["date"].astype(str)
    frame.to_csv(out, index=False)
    return len(frame)
