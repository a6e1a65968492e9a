"""Compliance: each hot spot's delivered patrol dose against its daily target under the dose rule, per local day."""

from __future__ import annotations

import csv
import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from hotspots.feed import day_has_data
from hotspots.plan import Selection, make_plan, selection_on
from hotspots.settings import Settings
from hotspots.warehouse import fetch_dicts, read_sql, transaction

log = logging.getLogger(__name__)


class TargetOverridesError(ValueError):
    """The target overrides file cannot be used."""


def load_target_overrides(path: Path | None) -> dict[str, float]:
    """area_code -> target_minutes from the overrides CSV (header area_code,target_minutes); {} without a file."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise TargetOverridesError(
            f"{path}: target overrides file not found; fix HOTSPOTS_TARGET_OVERRIDES_PATH or unset it."
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"area_code", "target_minutes"} - set(reader.fieldnames or [])
        if missing:
            raise TargetOverridesError(
                f"{path}: missing column(s) {sorted(missing)}; the header must be area_code,target_minutes."
            )
        overrides: dict[str, float] = {}
        for line, row in enumerate(reader, start=2):
            code = (row["area_code"] or "").strip()
            try:
                minutes = float(row["target_minutes"])
            except (TypeError, ValueError):
                raise TargetOverridesError(
                    f"{path}, line {line}, column target_minutes: {row['target_minutes']!r} is not a number of minutes."
                ) from None
            if not code or minutes < 0:
                raise TargetOverridesError(f"{path}, line {line}: need an area_code and target_minutes >= 0.")
            overrides[code] = minutes
    return overrides


def hotspot_targets(
    codes: list[str] | tuple[str, ...],
    settings: Settings,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    force: str | None = None,
    day: date | None = None,
) -> dict[str, float]:
    """Each hot spot's full daily target in minutes (the one owner): with settings.dose_plan_targets, its minutes in
    the day's dose_plan (con, force and day given) when it has a row there; else its override, else
    settings.target_minutes."""
    overrides = load_target_overrides(settings.target_overrides_path)
    targets = {code: float(overrides.get(code, settings.target_minutes)) for code in codes}
    if settings.dose_plan_targets and con is not None:
        planned = dict(
            con.execute(
                "SELECT area_code, minutes FROM dose_plan WHERE force = ? AND date = ? AND list_contains(?, area_code)",
                [force, day, list(codes)],
            ).fetchall()
        )
        if not planned:
            log.warning("HOTSPOTS_DOSE_PLAN_TARGETS is on but %s has no dose_plan for %s: flat targets", force, day)
        targets.update({code: float(minutes) for code, minutes in planned.items()})
    return targets


def dose_rule_params(settings: Settings) -> dict[str, object]:
    """The parameters of the dose rule (the SQL macro dose_met): $dose_rule and $dose_visit_minutes."""
    return {"dose_rule": settings.dose_rule, "dose_visit_minutes": float(settings.dose_visit_minutes)}


def hotspot_since(con: duckdb.DuckDBPyConnection, force: str, selection: Selection) -> dict[str, date]:
    """area_code -> first day it has been a hot spot without a break, over consecutive selections.

    Streaks of days without patrol count from this day, so a hot spot kept in a new list keeps its streak.
    """
    history = con.execute(
        "SELECT effective_from, effective_to, hotspots FROM selections WHERE force = ? AND effective_from < ? "
        "ORDER BY effective_from DESC",
        [force, selection.effective_from],
    ).fetchall()
    since = {}
    for code in selection.hotspots:
        start = selection.effective_from
        for effective_from, effective_to, codes in history:
            adjoining = effective_to is None or effective_to >= start - timedelta(days=1)
            if effective_from < start and adjoining and code in codes:
                start = effective_from
        since[code] = start
    return since


def _prepare(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    date: date,
    settings: Settings,
    selection: Selection,
    store_plan: bool,
) -> dict:
    """The temp tables and parameters sql/transform/daily_compliance.sql needs for the day."""
    if settings.plan_k is not None:
        make_plan(con, force=force, date=date, settings=settings, store=store_plan)
    con.execute("CREATE OR REPLACE TEMP TABLE compliance_targets (area_code VARCHAR, target_minutes DOUBLE)")
    con.executemany(
        "INSERT INTO compliance_targets VALUES (?, ?)",
        list(hotspot_targets(selection.hotspots, settings, con=con, force=force, day=date).items()),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE compliance_hotspot_since (area_code VARCHAR, since DATE)")
    con.executemany(
        "INSERT INTO compliance_hotspot_since VALUES (?, ?)", list(hotspot_since(con, force, selection).items())
    )
    return {
        "force": force,
        "date": date,
        "selection_id": selection.selection_id,
        "use_plan": settings.plan_k is not None,
        "has_data": day_has_data(con, force, date, settings),
        "computed_at": datetime.now(timezone.utc).replace(tzinfo=None),
        **dose_rule_params(settings),
    }


def compliance_so_far(
    con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings, store_plan: bool = True
) -> list[dict]:
    """The day's compliance rows as daily_compliance.sql computes them (the one owner of 'dose met': status
    'met'), from the daily_patrol rows computed so far, without storing them: the in-shift checkpoints read
    today's before the day is over. [] without a selection in force."""
    selection = selection_on(con, force, date)
    if selection is None:
        return []
    params = _prepare(con, force=force, date=date, settings=settings, selection=selection, store_plan=store_plan)
    return fetch_dicts(con, read_sql("transform/daily_compliance", settings), params)


def build_compliance(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> dict:
    """Replace the day's daily_compliance rows for `force`; idempotent. Returns counts per status."""
    selection = selection_on(con, force, date)
    summary = {
        "force": force,
        "date": date.isoformat(),
        "selection_id": None,
        "hotspots": 0,
        "met": 0,
        "under": 0,
        "none": 0,
        "not_planned": 0,
    }
    if selection is None:
        con.execute("DELETE FROM daily_compliance WHERE force = ? AND date = ?", [force, date])
        log.warning("No hot-spot selection in force for %s on %s: no compliance rows", force, date)
        return summary
    params = _prepare(con, force=force, date=date, settings=settings, selection=selection, store_plan=True)
    with transaction(con):
        con.execute("DELETE FROM daily_compliance WHERE force = ? AND date = ?", [force, date])
        query = read_sql("transform/daily_compliance", settings)
        con.execute(f"INSERT INTO daily_compliance BY NAME ({query})", params)
        counts = con.execute(
            "SELECT status, count(*) FROM daily_compliance WHERE force = ? AND date = ? GROUP BY status", [force, date]
        ).fetchall()
    summary.update({status: n for status, n in counts})
    summary["selection_id"] = selection.selection_id
    summary["hotspots"] = len(selection.hotspots)
    log.info("Compliance %s %s: %s", force, date, summary)
    return summary
