"""Retention of personal data (docs/privacy.md), applied per force by the `retention` DAG:

- landed and raw ping files (raw device ids): day folders older than ``raw_ping_retention_days`` deleted;
- pseudonymous pings (stg_pings, per-device tracks): local dates older than ``ping_retention_days`` deleted, after
  their daily aggregate is kept in retired_ping_days (daily_patrol, the dose per area and day, stays);
- quarantined rows: older than ``quarantine_retention_days`` deleted.

A day is kept while it is no older than its limit: with a 7-day limit on 2024-05-20, 2024-05-13 is kept and
2024-05-12 removed. Every rule writes one retention_runs row (what, the cutoff, how many) and one log line.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from hotspots.settings import Settings, force_settings
from hotspots.warehouse import open_warehouse, read_sql

log = logging.getLogger(__name__)


def cutoffs(today: date, settings: Settings) -> dict[str, date]:
    """The first day each rule keeps: everything dated before it goes."""
    return {
        "raw_ping_files": today - timedelta(days=settings.raw_ping_retention_days),
        "pings": today - timedelta(days=settings.ping_retention_days),
        "quarantine": today - timedelta(days=settings.quarantine_retention_days),
    }


def _day_of(folder: Path) -> date | None:
    """The UTC day of a ping day folder: landing/<force>/avl/YYYY-MM-DD or raw/<force>/avl/date=YYYY-MM-DD."""
    try:
        return date.fromisoformat(folder.name.removeprefix("date="))
    except ValueError:
        return None


def expired_ping_folders(force: str, cutoff: date, settings: Settings) -> list[Path]:
    """Day folders of landed and raw ping files dated before cutoff (folders not named by a day are left)."""
    roots = (settings.force_landing(force) / "avl", settings.force_raw(force) / "avl")
    found = []
    for root in roots:
        if root.is_dir():
            found += [p for p in root.iterdir() if p.is_dir() and (day := _day_of(p)) is not None and day < cutoff]
    return sorted(found)


def apply_retention(force: str, today: date, settings: Settings | None = None) -> dict[str, Any]:
    """Apply the three limits for one force as of ``today``; returns and logs what was removed."""
    settings = force_settings(force, settings)
    limits = cutoffs(today, settings)
    ran_at = datetime.now(timezone.utc).replace(tzinfo=None)
    result: dict[str, Any] = {"force": force, "today": today.isoformat()}

    folders = expired_ping_folders(force, limits["raw_ping_files"], settings)
    files = sum(1 for folder in folders for p in folder.rglob("*") if p.is_file())
    for folder in folders:
        shutil.rmtree(folder)
    result["raw_ping_files"] = {"cutoff": limits["raw_ping_files"].isoformat(), "folders": len(folders), "files": files}

    with open_warehouse(settings) as con:
        con.execute("BEGIN")
        dates = [
            d.isoformat()
            for (d,) in con.execute(
                "SELECT DISTINCT local_date FROM stg_pings WHERE force = ? AND local_date < ? ORDER BY 1",
                [force, limits["pings"]],
            ).fetchall()
        ]
        con.execute(
            read_sql("transform/retire_ping_days", settings),
            {"force": force, "cutoff": limits["pings"], "retired_at": ran_at},
        )
        pings = con.execute(
            "DELETE FROM stg_pings WHERE force = ? AND local_date < ?", [force, limits["pings"]]
        ).fetchone()[0]
        quarantined = con.execute(
            "DELETE FROM quarantine WHERE force = ? AND quarantined_at < ?",
            [force, datetime.combine(limits["quarantine"], time(0))],
        ).fetchone()[0]
        rows = [
            ("raw_ping_files", limits["raw_ping_files"], files, ",".join(str(f) for f in folders)),
            ("pings", limits["pings"], pings, ",".join(dates)),
            ("quarantine", limits["quarantine"], quarantined, None),
        ]
        con.executemany(
            "INSERT INTO retention_runs (force, kind, cutoff, removed, detail, ran_at) VALUES (?, ?, ?, ?, ?, ?)",
            [[force, kind, cutoff, removed, detail, ran_at] for kind, cutoff, removed, detail in rows],
        )
        con.execute("COMMIT")
    result["pings"] = {"cutoff": limits["pings"].isoformat(), "rows": pings, "dates": dates}
    result["quarantine"] = {"cutoff": limits["quarantine"].isoformat(), "rows": quarantined}
    for kind, cutoff, removed, _ in rows:
        log.info("retention %s %s: removed %d dated before %s", force, kind, removed, cutoff)
    return result
