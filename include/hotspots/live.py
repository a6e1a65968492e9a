"""The live "today so far" page per force: reports_dir/<force>/today.html, rewritten by each in-shift checkpoint.

Served by the reports plugin behind the same Airflow login as the daily reports. Per hot spot: its minutes in the
patrol window so far against its target, Koper visits and where it stands (the compliance rule of
daily_compliance.sql, computed on today's patrol so far), and the newest ping the figures include. Area figures
only: never an officer or device identity.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hotspots.compliance import compliance_so_far
from hotspots.plan import hotspot_labels
from hotspots.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
PAGE_NAME = "today.html"
STANDING = {
    "met": "dose delivered: move on",
    "under": "under dose so far",
    "none": "no visit yet",
    "not_planned": "not drawn today",
    "no_data": "no GPS data so far",
}


def today_page_path(settings: Settings, force: str) -> Path:
    """reports_dir/<force>/today.html."""
    return Path(settings.reports_dir) / force / PAGE_NAME


def write_today_page(
    con: duckdb.DuckDBPyConnection, *, force: str, date: date, now_local: datetime, settings: Settings
) -> Path:
    """Rewrite the force's live page for ``date`` as of ``now_local`` (atomically: a reader never sees half)."""
    rows = compliance_so_far(con, force=force, date=date, settings=settings)
    names = hotspot_labels(con, force, rows[0]["selection_id"] if rows else None)
    newest = con.execute(
        "SELECT max(ts_utc) FROM stg_pings WHERE force = ? AND local_date = ?", [force, date]
    ).fetchone()[0]
    hotspots = [
        row | names.get(row["area_code"], {}) | {"standing": STANDING.get(row["status"], row["status"])}
        for row in sorted(rows, key=lambda r: (not r["planned"], r["status"] == "met", r["area_code"]))
    ]
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("today.html.j2").render(
        force=force,
        day=date,
        as_of=now_local.strftime("%H:%M"),
        newest_ping=newest,
        hotspots=hotspots,
        met=sum(1 for r in rows if r["planned"] and r["status"] == "met"),
        planned=sum(1 for r in rows if r["planned"]),
        window=f"{settings.patrol_window_start:%H:%M}-{settings.patrol_window_end:%H:%M}".replace("-00:00", "-24:00"),
    )
    path = today_page_path(settings, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
