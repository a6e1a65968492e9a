"""The patrol dose under capacity: spread the officer-minutes of a day over the day's hot spots, in visits of a
fixed unit, to maximise the expected harm prevented, with diminishing returns per visit.

Model (docs/targeting.md, with its sources):

- a visit is one unit of ``unit`` minutes (default 15: Rowan's one 15-minute patrol, Koper's 10-16 minutes);
  its value is min(unit / dose_visit_minutes, 1): beyond about 15 minutes a visit adds little (Koper 1995), so a
  longer unit does not count for more, a shorter one for less;
- the k-th visit of the day to a hot spot prevents harm x forecast_effect x value x dose_decay^(k-1): the first
  visit carries the trial effect (Rowan: 44% less harm on patrol days), each further one adds a share
  dose_decay of the previous (diminishing returns; more visits count for more than longer ones, Koper 1995,
  Sacramento, Telep et al. 2014: short visits every two hours);
- the expected harm of a hot spot is its harm per day over the selection's look-back (hotspot_ranking).

Units go one at a time to the largest marginal gain (greedy: optimal for a separable concave objective); ties
go to the higher harm, then the area code. The total never exceeds the capacity. Under a randomised plan
(plan_k) only the hot spots drawn for the day get a dose: the allocation sets the dose of drawn hot spots, never
which hot spots are drawn.
"""

from __future__ import annotations

import heapq
import json
from datetime import date, datetime, timezone

import duckdb

from hotspots.plan import make_plan, selection_on
from hotspots.selection import month_start
from hotspots.settings import Settings
from hotspots.warehouse import transaction


def visit_value(unit_minutes: float, visit_minutes: float) -> float:
    """What one visit of ``unit_minutes`` is worth against a full Koper visit of ``visit_minutes``."""
    return min(unit_minutes / visit_minutes, 1.0) if visit_minutes > 0 else 1.0


def allocate(
    harm: dict[str, float],
    *,
    capacity_minutes: float,
    unit_minutes: float,
    effect: float,
    decay: float,
    visit_minutes: float,
    max_units: int | None = None,
) -> list[dict]:
    """Units per area (every area listed, 0 units included), in order of expected harm.

    Each row: area_code, units, minutes, expected_harm, expected_prevented.
    """
    if unit_minutes <= 0:
        raise ValueError("the dose unit must be a positive number of minutes.")
    if capacity_minutes < 0:
        raise ValueError("the capacity must be 0 or more minutes.")
    budget = int(capacity_minutes // unit_minutes)
    value = visit_value(unit_minutes, visit_minutes)
    units = dict.fromkeys(harm, 0)
    prevented = dict.fromkeys(harm, 0.0)
    # Max-heap of the next unit's gain: (-gain, -harm, area_code).
    heap = [(-h * effect * value, -h, code) for code, h in harm.items() if h > 0]
    heapq.heapify(heap)
    while budget > 0 and heap:
        gain, neg_harm, code = heapq.heappop(heap)
        units[code] += 1
        prevented[code] += -gain
        budget -= 1
        if max_units is None or units[code] < max_units:
            heapq.heappush(heap, (gain * decay, neg_harm, code))
    order = sorted(harm, key=lambda c: (-harm[c], c))
    return [
        {
            "area_code": code,
            "units": units[code],
            "minutes": units[code] * unit_minutes,
            "expected_harm": harm[code],
            "expected_prevented": prevented[code],
        }
        for code in order
    ]


def _daily_harm(con: duckdb.DuckDBPyConnection, force: str, selection_id: str, codes: list[str]) -> dict[str, float]:
    """Harm per day of each hot spot over the selection's look-back window."""
    params = json.loads(
        con.execute(
            "SELECT params FROM selections WHERE force = ? AND selection_id = ?", [force, selection_id]
        ).fetchone()[0]
    )
    days = 0
    if "first_month" in params and "last_month" in params:
        first, last = month_start(params["first_month"]), month_start(params["last_month"])
        end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
        days = (end - first).days
    rows = dict(
        con.execute(
            "SELECT area_code, harm FROM hotspot_ranking WHERE force = ? AND selection_id = ? "
            "AND list_contains(?, area_code)",
            [force, selection_id, codes],
        ).fetchall()
    )
    return {code: float(rows.get(code, 0.0)) / (days or 1) for code in codes}


def plan_dose(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    day: date,
    settings: Settings,
    capacity_minutes: float,
    unit_minutes: float | None = None,
    store: bool = True,
) -> dict:
    """The day's allocation over the hot spots planned for it (the stored plan, drawn if need be); stored in
    dose_plan (replacing the day's rows) unless store=False."""
    unit = settings.dose_unit_minutes if unit_minutes is None else unit_minutes
    selection = selection_on(con, force, day)
    if selection is None:
        raise ValueError(f"no hot-spot selection in force for {force!r} on {day}; run the selection first.")
    planned = make_plan(con, force=force, date=day, settings=settings, store=store)
    harm = _daily_harm(con, force, selection.selection_id, list(planned))
    rows = allocate(
        harm,
        capacity_minutes=capacity_minutes,
        unit_minutes=unit,
        effect=settings.forecast_effect,
        decay=settings.dose_decay,
        visit_minutes=settings.dose_visit_minutes,
        max_units=settings.dose_max_units,
    )
    if store:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with transaction(con):
            con.execute("DELETE FROM dose_plan WHERE force = ? AND date = ?", [force, day])
            if rows:
                con.executemany(
                    "INSERT INTO dose_plan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [force, day, r["area_code"], selection.selection_id, r["units"], r["minutes"]]
                        + [r["expected_harm"], r["expected_prevented"], capacity_minutes, unit, now]
                        for r in rows
                    ],
                )
    used = sum(r["minutes"] for r in rows)
    return {
        "force": force,
        "date": day.isoformat(),
        "selection_id": selection.selection_id,
        "capacity_minutes": capacity_minutes,
        "unit_minutes": unit,
        "minutes_allocated": used,
        "units_allocated": sum(r["units"] for r in rows),
        "hotspots_planned": len(planned),
        "allocation": rows,
    }
