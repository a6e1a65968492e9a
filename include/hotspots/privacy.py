"""Who reads officers' GPS (docs/privacy.md): the analyst snapshot without per-device data, the one explicit path
to the tracks, and the export log.

- ``without_tracks``: the snapshot is the warehouse minus ``stg_pings`` (device keys and positions) and the GPS
  rows of ``quarantine``, written into a fresh file by COPY FROM DATABASE, so not even freed pages of the file
  hold a track. Aggregates (daily_patrol, daily_compliance, retired_ping_days) stay.
- ``authorize_tracks``: SQL on a private copy of the warehouse, tracks included, for the OS users listed in
  HOTSPOTS_TRACKS_READERS only, with a stated purpose; every attempt (refused ones too) is logged.
- ``record_export``: one JSON line per export or tracks query in HOTSPOTS_EXPORT_LOG_PATH (default
  data_dir/audit/exports.jsonl): who (OS user), what, when.
"""

from __future__ import annotations

import getpass
import itertools
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hotspots.settings import Settings, resolve_settings

# Tables holding one row per device and time: never in the analyst snapshot.
TRACK_TABLES = ("stg_pings",)
# quarantine rows of these sources carry a rejected ping (device key, position) in raw_row.
TRACK_QUARANTINE_SOURCES = ("avl",)


class TracksRefused(PermissionError):
    """The OS user is not among HOTSPOTS_TRACKS_READERS, or gave no purpose: one Error line, exit 2."""


def without_tracks(full: Path, out: Path, settings: Settings | None = None) -> Path:
    """Write ``out``: the database ``full`` (a private copy, changed here) without per-device data."""
    from hotspots.warehouse import connect

    settings = resolve_settings(settings)
    out.unlink(missing_ok=True)
    with connect(full, settings=settings) as con:
        for table in TRACK_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        sources = ", ".join(f"'{s}'" for s in TRACK_QUARANTINE_SOURCES)
        con.execute(f"DELETE FROM quarantine WHERE source IN ({sources})")
        name = con.execute("SELECT current_database()").fetchone()[0]
        con.execute("ATTACH '" + str(out).replace("'", "''") + "' AS snapshot_out")
        con.execute(f'COPY FROM DATABASE "{name}" TO snapshot_out')
        con.execute("DETACH snapshot_out")
    return out


_ANALYST_DATABASES = itertools.count(1)


def analyst_views(con, source: str) -> None:
    """On a lake reader ``con`` (the lake attached as ``source``): USE an in-memory database holding one view per
    table and view of ``source``, less per-device data (TRACK_TABLES, the GPS rows of quarantine), so analysts'
    unqualified names read the snapshot as the DuckDB snapshot file would show it."""
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main' "
        "AND NOT internal",
        [source, source],
    ).fetchall()
    alias = f"analyst_{next(_ANALYST_DATABASES)}"  # ATTACH is per DuckDB instance, which readers may share
    con.execute(f"ATTACH ':memory:' AS {alias}")
    con.execute(f"USE {alias}")
    sources = ", ".join(f"'{s}'" for s in TRACK_QUARANTINE_SOURCES)
    for (name,) in names:
        if name in TRACK_TABLES:
            continue
        where = f" WHERE source NOT IN ({sources})" if name == "quarantine" else ""
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {source}.main."{name}"{where}')


def os_user() -> str:
    """The operating-system user running the command (what the export log records as who)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers): the numeric id
        return str(os.getuid())


def export_log_path(settings: Settings | None = None) -> Path:
    settings = resolve_settings(settings)
    return Path(settings.export_log_path or Path(settings.data_dir) / "audit" / "exports.jsonl")


def record_export(action: str, what: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Append one line to the export log (created readable by its owner only) and return it."""
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": os_user(),
        "host": socket.gethostname(),
        "action": action,
        **what,
    }
    path = export_log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as log_file:
        log_file.write(json.dumps(entry, default=str) + "\n")
    return entry


def read_export_log(settings: Settings | None = None) -> list[dict[str, Any]]:
    path = export_log_path(settings)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def authorize_tracks(sql: str, purpose: str, settings: Settings | None = None) -> dict[str, Any]:
    """Check that the OS user may read the per-device tracks and gave a purpose; log the query (before it runs)
    and return the log entry. A refusal is logged too, then raises TracksRefused."""
    settings = resolve_settings(settings)
    user = os_user()
    readers = list(settings.tracks_readers)
    if not purpose.strip() or user not in readers:
        why = "no --purpose given" if not purpose.strip() else f"OS user {user!r} is not in HOTSPOTS_TRACKS_READERS"
        record_export("tracks_refused", {"sql": sql, "purpose": purpose, "reason": why}, settings)
        raise TracksRefused(
            f"per-device tracks refused: {why} (readers: {', '.join(readers) or 'nobody'}); the attempt is in the "
            "export log. The analyst snapshot has the daily aggregates."
        )
    return record_export("tracks_query", {"sql": sql, "purpose": purpose}, settings)
