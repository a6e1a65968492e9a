"""Hand-built warehouse contents for the compliance, alert-rule and delivery tests."""

from __future__ import annotations

import json
from datetime import date, timedelta

FORCE = "testforce"


def add_selection(
    con,
    codes: list[str],
    effective_from: date,
    *,
    selection_id: str = "sel1",
    effective_to: date | None = None,
    force: str = FORCE,
) -> None:
    con.execute(
        "INSERT INTO selections VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [force, selection_id, effective_from, effective_to, json.dumps({}), codes, codes, []],
    )
    for rank, code in enumerate(codes, start=1):
        con.execute(
            "INSERT INTO hotspot_ranking VALUES (?, ?, ?, ?, 10, 100, 0.1, 0.5, ?, true)",
            [force, selection_id, code, f"Area {code}", rank],
        )


def add_patrol(
    con,
    code: str,
    day: date,
    patrol: float,
    *,
    window: float | None = None,
    koper: int = 0,
    longest: float | None = None,
    force: str = FORCE,
) -> None:
    """A daily_patrol row; window minutes default to all patrol minutes, the longest visit in the window to all
    window minutes (one visit)."""
    window = patrol if window is None else window
    con.execute("DELETE FROM daily_patrol WHERE force = ? AND area_code = ? AND date = ?", [force, code, day])
    con.execute(
        "INSERT INTO daily_patrol VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?, ?, now()::TIMESTAMP)",
        [force, code, day, patrol, patrol, koper, window, window if longest is None else longest],
    )


def days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def add_feed(con, day: date, *, force: str = FORCE, device: str = "dev0") -> None:
    """One ping in stg_pings at 19:00 local (BST) on the day, inside the patrol window: the force had GPS data that day
    (a day without any in its window is no_data)."""
    con.execute(
        "INSERT INTO stg_pings VALUES (?, ?, ?::DATE + INTERVAL 18 HOUR, ?, 0, 0, NULL, NULL, 'test.csv', now())",
        [force, device, day, day],
    )
