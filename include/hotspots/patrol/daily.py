"""The daily_patrol mart: recompute whole (force, local date) partitions from stg_pings and stg_areas."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pandas as pd
import shapely

from hotspots.patrol.core import OUTPUT_COLUMNS, PatrolParams, patrol_minutes
from hotspots.patrol.grid import AreaIndex
from hotspots.warehouse import read_sql, transaction

log = logging.getLogger(__name__)


def load_area_list(con: Any, force: str) -> list[tuple[str, Any]]:
    """(area_code, shapely geometry in EPSG:27700) for the force's areas in stg_areas."""
    rows = con.execute(
        "SELECT area_code, ST_AsWKB(geom) FROM stg_areas WHERE force = ? ORDER BY area_code", [force]
    ).fetchall()
    if not rows:
        raise ValueError(
            f"stg_areas has no areas for force {force!r}: run the ingest_areas step (hotspots.sources.areas) first."
        )
    return [(code, shapely.from_wkb(bytes(wkb))) for code, wkb in rows]


def _runs(dates: list[date]) -> list[tuple[date, date]]:
    """Consecutive dates grouped into (first, last) runs."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(dates)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def compute_daily_patrol(con: Any, *, force: str, dates: list[date], settings: Any) -> dict[str, Any]:
    """Replace daily_patrol rows of (force, date) for each date; reads the neighbouring days' pings too, so
    presence crossing midnight is counted on both sides. Idempotent."""
    params = PatrolParams.from_settings(settings)
    dates = sorted(set(dates))
    if not dates:
        return {"force": force, "dates": [], "rows": 0, "pings": 0}
    index = AreaIndex.build(load_area_list(con, force), params.buffer_m)
    frames, pings_read = [], 0
    for first, last in _runs(dates):
        pings = con.execute(
            read_sql("transform/daily_patrol_pings", settings),
            {"force": force, "first": first - timedelta(days=1), "last": last + timedelta(days=1)},
        ).fetchnumpy()
        pings_read += len(pings["ts"])
        if not len(pings["ts"]):
            continue
        pings["ts"] = pings["ts"].astype("datetime64[us]")
        result = patrol_minutes(pings, index, params)
        frames.append(result[(result["date"] >= first) & (result["date"] <= last)])
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OUTPUT_COLUMNS)
    result.insert(0, "force", force)
    with transaction(con):
        con.execute("DELETE FROM daily_patrol WHERE force = ? AND date IN (SELECT unnest(?::DATE[]))", [force, dates])
        if len(result):
            con.register("daily_patrol_frame", result)
            con.execute(
                f"INSERT INTO daily_patrol ({', '.join(['force', *OUTPUT_COLUMNS])}, computed_at) "
                f"SELECT force, {', '.join(OUTPUT_COLUMNS)}, now() FROM daily_patrol_frame"
            )
            con.unregister("daily_patrol_frame")
    log.info(
        "daily_patrol %s: %d rows for %s from %d pings", force, len(result), [d.isoformat() for d in dates], pings_read
    )
    return {"force": force, "dates": [d.isoformat() for d in dates], "rows": len(result), "pings": pings_read}
