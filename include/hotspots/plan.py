"""The randomised daily plan (Operation Rowan style): each day draw k of the n hot spots, reproducibly."""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """The hot-spot list in force on a day."""

    selection_id: str
    effective_from: date
    hotspots: tuple[str, ...]


def selection_on(con: duckdb.DuckDBPyConnection, force: str, day: date) -> Selection | None:
    """The selection in force on `day` (effective_from <= day <= effective_to), or None."""
    row = con.execute(
        """SELECT selection_id, effective_from, hotspots FROM selections
           WHERE force = ? AND effective_from <= ? AND (effective_to IS NULL OR effective_to >= ?)
           ORDER BY effective_from DESC LIMIT 1""",
        [force, day, day],
    ).fetchone()
    return Selection(row[0], row[1], tuple(row[2])) if row else None


def hotspot_labels(con: duckdb.DuckDBPyConnection, force: str, selection_id: str | None) -> dict[str, dict]:
    """area_code -> {"area_name", "rank"} of a selection's ranked areas (the area set's name first)."""
    rows = con.execute(
        "SELECT r.area_code, coalesce(a.area_name, r.area_name), r.rank FROM hotspot_ranking r "
        "LEFT JOIN stg_areas a USING (force, area_code) WHERE r.force = ? AND r.selection_id = ?",
        [force, selection_id],
    ).fetchall()
    return {code: {"area_name": name, "rank": rank} for code, name, rank in rows}


def day_seed(plan_seed: int, force: str, day: date, revision: int = 0) -> int:
    """The seed of one day's draw: first 63 bits of sha256(plan_seed|force|date), or of
    sha256(plan_seed|force|date|r<revision>) for a redrawn weekly schedule (hotspots.schedule)."""
    text = f"{plan_seed}|{force}|{day.isoformat()}" + (f"|r{revision}" if revision else "")
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def draw(hotspots: list[str] | tuple[str, ...], k: int, seed: int) -> list[str]:
    """k hot spots drawn without replacement, in draw order; the same seed gives the same plan."""
    pool = sorted(hotspots)
    return random.Random(seed).sample(pool, min(k, len(pool)))


def _published(con: duckdb.DuckDBPyConnection, force: str, day: date) -> bool:
    """Whether a current (not superseded) weekly schedule covers the day: its plan is then immutable."""
    return bool(
        con.execute(
            "SELECT count(*) FROM plan_schedules WHERE force = ? AND superseded_at IS NULL "
            "AND ? BETWEEN week_start AND week_start + 6",
            [force, day],
        ).fetchone()[0]
    )


def make_plan(
    con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings, store: bool = True
) -> list[str]:
    """The day's planned hot spots; draws and stores the plan once (never redrawn for the same selection).

    Without settings.plan_k every hot spot is planned and nothing is stored; store=False draws without storing.
    """
    selection = selection_on(con, force, date)
    if selection is None:
        log.warning("No hot-spot selection in force for %s on %s: no plan", force, date)
        return []
    if settings.plan_k is None:
        return list(selection.hotspots)
    stored = con.execute(
        "SELECT area_code, planned, selection_id FROM daily_plan WHERE force = ? AND date = ? ORDER BY draw_order",
        [force, date],
    ).fetchall()
    if stored and stored[0][2] == selection.selection_id:
        return [code for code, planned, _ in stored if planned]
    if stored and _published(con, force, date):
        log.warning(
            "Selection changed since the published weekly schedule for %s on %s: keeping the published plan "
            "(`hotspots plan-week --redraw --reason ...` draws again)",
            force,
            date,
        )
        return [code for code, planned, _ in stored if planned]
    seed = day_seed(settings.plan_seed, force, date)
    chosen = draw(selection.hotspots, settings.plan_k, seed)
    order = {code: i + 1 for i, code in enumerate(chosen)}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [
        (
            force,
            date,
            code,
            selection.selection_id,
            code in order,
            order.get(code),
            len(chosen),
            len(selection.hotspots),
            settings.plan_seed,
            seed,
            now,
        )
        for code in selection.hotspots
    ]
    if not store:
        return chosen
    if stored:
        log.warning("Selection changed since the %s plan for %s was drawn: drawing again", date, force)
    with transaction(con):
        con.execute("DELETE FROM daily_plan WHERE force = ? AND date = ?", [force, date])
        con.executemany("INSERT INTO daily_plan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    log.info(
        "Plan for %s on %s: %d of %d hot spots (day seed %d)", force, date, len(chosen), len(selection.hotspots), seed
    )
    return chosen
