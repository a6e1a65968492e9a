"""Patrol minutes straight from files (the `hotspots patrol-minutes` command), through the DAG's own path.

Areas are loaded with the areas loader and pings with the ping ingest (reader, validation, pseudonymisation,
quarantine) into a temporary warehouse, then daily patrol is computed by the code the ingest_avl step runs.
Nothing outlives the run: the warehouse is deleted, device pseudonyms never leave it.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

from hotspots.patrol.core import OUTPUT_COLUMNS

COUNTED = ("rows_read", "rows_loaded", "rows_quarantined")


def patrol_from_files(
    ping_paths: list[Path], area_paths: list[Path], *, settings: Any, out: Path, columns: dict[str, str] | None = None
) -> dict[str, Any]:
    """Write daily patrol per area (OUTPUT_COLUMNS) for every local date the pings touch to ``out``; return the
    summary: the loaders' counts for areas and pings, the dates and the parameters. ``settings`` must point at
    a scratch warehouse (it is written)."""
    from hotspots.commands.inputs import load_area_files, open_scratch
    from hotspots.patrol import compute_daily_patrol
    from hotspots.patrol.core import PatrolParams
    from hotspots.sources.avl import ingest_ping_files

    force = "cli"
    params = PatrolParams.from_settings(settings)
    with ExitStack() as stack:
        con = open_scratch(stack, settings)
        areas = load_area_files(con, force=force, paths=area_paths, settings=settings)
        pings = ingest_ping_files(con, force=force, paths=ping_paths, settings=settings, columns=columns)
        dates = [date.fromisoformat(d) for d in pings["local_dates"]]
        patrol = compute_daily_patrol(con, force=force, dates=dates, settings=settings)
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY (SELECT {', '.join(OUTPUT_COLUMNS)} FROM daily_patrol WHERE force = $force "
            "ORDER BY area_code, date) "
            f"TO '{str(out).replace(chr(39), chr(39) * 2)}' (HEADER, DELIMITER ',')",
            {"force": force},
        )
        minutes = con.execute(
            "SELECT coalesce(sum(patrol_minutes), 0) FROM daily_patrol WHERE force = ?", [force]
        ).fetchone()[0]
    return {
        **{key: pings[key] for key in (*COUNTED, "quarantined_by_reason")},
        "rows": patrol["rows"],
        "areas": areas["rows_loaded"],
        "areas_counts": {key: areas[key] for key in (*COUNTED, "quarantined_by_reason")},
        "pings_used": pings["rows_loaded"],
        "pings_skipped": pings["rows_quarantined"],
        "dates": patrol["dates"],
        "patrol_minutes": round(float(minutes), 6),
        "files": [str(p) for p in ping_paths],
        "params": {k: (v if isinstance(v, (int, float, type(None))) else str(v)) for k, v in params.__dict__.items()},
    }
