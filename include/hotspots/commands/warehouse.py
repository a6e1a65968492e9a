"""Analyst commands on the read-only snapshot (query, shell, export), the warehouse docs, migration and the
daily report: argument parsing and printing; the work is in hotspots.analyst and hotspots.warehouse."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import duckdb
import typer

from hotspots.analyst import EXPORT_SUFFIX, ExportFormat, OutputFormat, SnapshotShell, export_hotspots, run_query
from hotspots.privacy import record_export
from hotspots.settings import PROJECT_ROOT, get_settings
from hotspots.warehouse import migrate, open_snapshot, publish_snapshot


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `hotspots` app."""
    export_app = typer.Typer(
        help="Export marts for GIS and spreadsheets (from the analyst snapshot).", no_args_is_help=True
    )
    docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
    app.add_typer(export_app, name="export")
    app.add_typer(docs_app, name="docs")

    @app.command("query")
    def query(
        sql: Optional[str] = typer.Argument(None, help='SQL to run, e.g. "SELECT * FROM current_hotspots".'),
        file: Optional[Path] = typer.Option(
            None, "--file", "-F", help="Read the SQL from a file, e.g. sql/analysis/dose_vs_harm.sql."
        ),
        fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
        max_rows: int = typer.Option(1000, help="Rows shown in table format (csv and json print all)."),
        as_of: Optional[str] = typer.Option(
            None,
            "--as-of",
            help="On a DuckLake warehouse: read the snapshot committed at this time (e.g. '2025-03-01 06:00:00', "
            "UTC) instead of the newest.",
        ),
    ) -> None:
        """Run SQL on the read-only analyst snapshot."""
        if (sql is None) == (file is None):
            typer.echo("Error: give the SQL as an argument or with --file, not both.", err=True)
            raise typer.Exit(2)
        if as_of is not None:
            try:
                as_of = datetime.fromisoformat(as_of)
            except ValueError:
                typer.echo(f"Error: --as-of {as_of!r} is not a timestamp: give e.g. 2025-03-01T06:00:00.", err=True)
                raise typer.Exit(2)
        try:
            sql = sql if file is None else file.read_text()
            run_query(sql, fmt, sys.stdout, get_settings(), max_rows=max_rows, as_of=as_of)
        except ValueError as exc:  # --as-of on a DuckDB file
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2)
        except (OSError, duckdb.Error) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1)

    @app.command("shell")
    def shell() -> None:
        """Interactive read-only SQL prompt on the analyst snapshot."""
        try:
            prompt = SnapshotShell(get_settings())
        except FileNotFoundError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1)
        try:
            prompt.cmdloop()
        finally:
            prompt.close()

    @app.command("snapshot")
    def snapshot() -> None:
        """Publish the read-only analyst snapshot now (the pipeline does it after each successful run)."""
        typer.echo(publish_snapshot(get_settings()))

    @app.command("migrate")
    def migrate_command() -> None:
        """Apply the sql/ models to the warehouse (a deployment step; the DAGs' first task runs it too)."""
        typer.echo(json.dumps(migrate(get_settings())))

    @app.command("migrate-to-lake")
    def migrate_to_lake_command(
        source: Optional[Path] = typer.Option(
            None, "--from", help="The DuckDB warehouse file to move (default HOTSPOTS_WAREHOUSE_PATH)."
        ),
    ) -> None:
        """Move the DuckDB warehouse into the DuckLake of HOTSPOTS_LAKE_CATALOG / HOTSPOTS_LAKE_DATA_PATH and check
        every table's rows equal after the move; then set HOTSPOTS_WAREHOUSE_CATALOG=ducklake."""
        from hotspots.lake import MigrationRefused, migrate_to_lake

        try:
            typer.echo(json.dumps(migrate_to_lake(source, get_settings())))
        except MigrationRefused as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2)

    @export_app.command("hotspots")
    def export_hotspots_command(
        fmt: ExportFormat = typer.Option(ExportFormat.geojson, "--format", "-f", help="File format."),
        out: Optional[Path] = typer.Option(
            None, "--out", "-o", help="Output file (default data_dir/exports/hotspots.<ext>)."
        ),
        force: Optional[str] = typer.Option(None, help="Only this force (default: every force)."),
    ) -> None:
        """The current hot spots with their polygons in EPSG:4326."""
        settings = get_settings()
        out = out or Path(settings.data_dir) / "exports" / f"hotspots{EXPORT_SUFFIX[fmt.value]}"
        try:
            with open_snapshot(settings) as con:
                written = export_hotspots(con, out, fmt, force)
            record_export(
                "export", {"what": "hotspots", "format": fmt.value, "force": force, "out": str(written)}, settings
            )
            typer.echo(written)
        except FileNotFoundError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1)

    @export_app.command("plan")
    def export_plan_command(
        out: Path = typer.Option(..., "--out", "-o", help="CSV file to write: date, area_code, planned."),
        force: Optional[str] = typer.Option(None, help="Only this force (default: every force; adds a force column)."),
    ) -> None:
        """The randomised plan (published weekly schedules and daily draws) as CSV: date, area_code, planned."""
        from hotspots.schedule import export_plan

        with open_snapshot(get_settings(), live=True) as con:
            rows = export_plan(con, out, force=force)
        typer.echo(f"{out} ({rows} rows)")

    @docs_app.command("warehouse")
    def docs_warehouse(
        out: Path = typer.Option(PROJECT_ROOT / "docs" / "warehouse.md", "--out", "-o", help="Markdown file to write."),
    ) -> None:
        """Write the warehouse reference (docs/warehouse.md) from the COMMENT ON statements in sql/."""
        from hotspots.docs import fresh_schema, missing_comments, write_warehouse_docs

        settings = get_settings()
        con = fresh_schema(settings)
        try:
            typer.echo(write_warehouse_docs(con, out, settings))
            missing = missing_comments(con)
        finally:
            con.close()
        if missing:
            typer.echo("Missing COMMENT ON for: " + ", ".join(missing) + " (add them in sql/).", err=True)
            raise typer.Exit(1)

    @app.command("report")
    def report(
        day: Optional[datetime] = typer.Option(
            None, "--date", formats=["%Y-%m-%d"], help="Day the report is about (default: latest day with compliance)."
        ),
        force: Optional[str] = typer.Option(None, help="Force (default: every force in settings)."),
        live: bool = typer.Option(False, help="Read a private copy of the warehouse as it is now, not the snapshot."),
    ) -> None:
        """Write the daily HTML report: data_dir/reports/<force>/<date>.html."""
        from hotspots.cli import UserError
        from hotspots.report import build_report

        settings = get_settings()
        forces = [force] if force else settings.forces
        try:
            with open_snapshot(settings, live=live) as con:
                days = {name: _compliance_days(con, name) for name in forces}
                if force and force not in settings.forces and not days[force]:
                    known = ", ".join(settings.forces)
                    raise UserError(f"--force {force}: unknown force (HOTSPOTS_FORCES: {known}; none in the warehouse)")
                if day:
                    empty = [name for name in forces if day.date() not in days[name]]
                    if empty:
                        raise UserError(
                            f"--date {day.date()}: no compliance figures for {', '.join(empty)} on that day; "
                            "no report written. Pick a day `hotspots query` shows in daily_compliance."
                        )
                for name in forces:
                    wanted = day.date() if day else max(days[name], default=None)
                    if wanted is None:
                        typer.echo(f"{name}: no compliance figures yet; pass --date.", err=True)
                        continue
                    typer.echo(build_report(con, force=name, date=wanted, settings=settings.for_force(name)))
        except (FileNotFoundError, duckdb.Error) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1)


def _compliance_days(con: duckdb.DuckDBPyConnection, force: str) -> set:
    """The days daily_compliance has figures for, for one force."""
    return {
        row[0] for row in con.execute("SELECT DISTINCT date FROM daily_compliance WHERE force = ?", [force]).fetchall()
    }
