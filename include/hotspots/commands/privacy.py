"""tracks and export-log: the one logged path to per-device GPS tracks, and the log of exports (docs/privacy.md)."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from hotspots.analyst import OutputFormat, write_result


def register(app: typer.Typer) -> None:
    """Add tracks and export-log to the `hotspots` app."""

    @app.command("tracks")
    def tracks(
        sql: str = typer.Argument(
            ..., help='SQL on a private copy of the warehouse, e.g. "SELECT ... FROM stg_pings".'
        ),
        purpose: str = typer.Option(..., "--purpose", help="Why the tracks are needed (logged)."),
        fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    ) -> None:
        """Query the per-device tracks (stg_pings): only OS users in HOTSPOTS_TRACKS_READERS, with a purpose;
        every query and every refusal is recorded in the export log."""
        from hotspots.privacy import authorize_tracks
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_snapshot

        settings = get_settings()
        authorize_tracks(sql, purpose, settings)
        with open_snapshot(settings, live=True) as con:
            write_result(con.sql(sql), fmt, sys.stdout)

    @app.command("export-log")
    def export_log(
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line, as stored."),
        last: Optional[int] = typer.Option(None, "--last", min=1, help="Only the last N entries."),
    ) -> None:
        """Who exported what, and who queried the tracks, when (HOTSPOTS_EXPORT_LOG_PATH)."""
        from hotspots.privacy import read_export_log

        entries = read_export_log()
        for entry in entries[-last:] if last else entries:
            if as_json:
                typer.echo(json.dumps(entry))
            else:
                details = {k: v for k, v in entry.items() if k not in {"at", "user", "host", "action"}}
                typer.echo(f"{entry['at']}  {entry['user']}@{entry['host']}  {entry['action']}  {json.dumps(details)}")
