"""Analyst commands on the read-only snapshot (query, shell, export), the warehouse docs and the daily report."""

from __future__ import annotations

import cmd
import csv
import json
import sys
from contextlib import contextmanager, redirect_stdout
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Iterator, Optional

import duckdb
import typer

from hotspots.settings import PROJECT_ROOT, Settings, get_settings


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(str, Enum):
    geojson = "geojson"
    geoparquet = "geoparquet"
    csv = "csv"


EXPORT_SUFFIX = {"geojson": ".geojson", "geoparquet": ".parquet", "csv": ".csv"}


@contextmanager
def open_snapshot(settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The analyst snapshot, read-only: never blocks the pipeline's writer, and a new publish never breaks it."""
    from hotspots.warehouse import connect

    settings = settings or get_settings()
    path = Path(settings.snapshot_path)
    if not path.exists():
        raise FileNotFoundError(
            f"No analyst snapshot at {path}. It is published after each successful pipeline run; "
            "`hotspots snapshot` publishes one now from the warehouse."
        )
    con = connect(path, read_only=True, settings=settings)
    try:
        yield con
    finally:
        con.close()


def _plain(value: object) -> object:
    """A JSON-friendly value: dates as ISO text, decimals as floats, blobs as hex."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def _geometry_as_wkt(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Geometry columns as WKT text, so csv and json output stays readable."""
    if not any(str(t).startswith("GEOMETRY") for t in rel.types):
        return rel
    exprs = [
        f'ST_AsText("{c}") AS "{c}"' if str(t).startswith("GEOMETRY") else f'"{c}"'
        for c, t in zip(rel.columns, rel.types)
    ]
    return rel.project(", ".join(exprs))


def write_result(rel: duckdb.DuckDBPyRelation | None, fmt: OutputFormat, out: IO[str], max_rows: int = 1000) -> None:
    """Print a query result as a box table, CSV (header first) or a JSON array of objects."""
    if rel is None:  # a statement without a result (e.g. SET)
        return
    if fmt == OutputFormat.table:
        with redirect_stdout(out):  # show() prints to sys.stdout
            rel.show(max_rows=max_rows, max_width=100000)
        return
    rel = _geometry_as_wkt(rel)
    rows = rel.fetchall()
    if fmt == OutputFormat.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rel.columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
    else:
        json.dump([{c: _plain(v) for c, v in zip(rel.columns, row)} for row in rows], out, indent=1)
        out.write("\n")


def run_query(sql: str, fmt: OutputFormat = OutputFormat.table, out: IO[str] | None = None,
              settings: Settings | None = None) -> None:
    """Run one SQL text on the snapshot and print the result of its last statement."""
    with open_snapshot(settings) as con:
        write_result(con.sql(sql), fmt, out or sys.stdout)


class SnapshotShell(cmd.Cmd):
    """A small read-only SQL prompt on the snapshot; statements end with ';'."""

    intro = (
        "Read-only SQL on the analyst snapshot. End statements with ';'. "
        "Commands: .tables, .schema NAME, .mode table|csv|json, .reload (newest snapshot), .quit"
    )
    prompt = "hotspots> "
    continuation = "     ...> "

    def __init__(self, settings: Settings, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.use_rawinput = bool(stdin is None and sys.stdin.isatty())
        if not (stdin or sys.stdin).isatty():  # piped input: results only, no prompts
            self.intro, self.prompt, self.continuation = None, "", ""
        self.settings = settings
        self.mode = OutputFormat.table
        self.buffer: list[str] = []
        self._snapshot = open_snapshot(settings)
        self.con = self._snapshot.__enter__()

    def close(self) -> None:
        self._snapshot.__exit__(None, None, None)

    def emptyline(self) -> bool:
        return False

    def onecmd(self, line: str) -> bool:
        text = line.strip()
        if text == "EOF":
            self.stdout.write("\n")
            return True
        if not self.buffer and text.startswith("."):
            return self._dot(text)
        self.buffer.append(line)
        if not text.endswith(";"):
            self.prompt = self.continuation
            return False
        sql, self.buffer = "\n".join(self.buffer), []
        self.prompt = "" if not self.continuation else SnapshotShell.prompt
        self._sql(sql)
        return False

    def _sql(self, sql: str, fmt: OutputFormat | None = None) -> None:
        try:
            write_result(self.con.sql(sql), fmt or self.mode, self.stdout)
        except duckdb.Error as exc:
            self.stdout.write(f"Error: {exc}\n")

    def _dot(self, text: str) -> bool:
        command, _, arg = text.partition(" ")
        arg = arg.strip()
        if command in (".quit", ".exit"):
            return True
        if command == ".tables":
            self._sql(
                "SELECT table_name AS name, 'table' AS kind, comment FROM duckdb_tables() WHERE NOT internal "
                "UNION ALL SELECT view_name, 'view', comment FROM duckdb_views() WHERE NOT internal ORDER BY name"
            )
        elif command == ".schema" and arg:
            name = arg.replace("'", "''")
            self._sql(
                "SELECT column_name, data_type, comment FROM duckdb_columns() "
                f"WHERE table_name = '{name}' AND NOT internal ORDER BY column_index"
            )
        elif command == ".mode" and arg in OutputFormat.__members__:
            self.mode = OutputFormat(arg)
        elif command == ".reload":
            self.close()
            self._snapshot = open_snapshot(self.settings)
            self.con = self._snapshot.__enter__()
            self.stdout.write(f"Reopened {self.settings.snapshot_path}\n")
        else:
            self.stdout.write(f"Unknown command {text!r}. {SnapshotShell.intro}\n")
        return False


def export_hotspots(con: duckdb.DuckDBPyConnection, out: Path, fmt: ExportFormat, force: str | None = None) -> Path:
    """Write current_hotspots with geometry in EPSG:4326 (x = longitude) as GeoJSON, GeoParquet or CSV (WKT)."""
    import geopandas as gpd

    frame = con.execute(
        """
        SELECT force, area_code, area_name, rank, events, harm, harm_share, selection_id,
               strftime(effective_from, '%Y-%m-%d') AS effective_from,
               ST_AsWKB(ST_Transform(geom, 'EPSG:27700', 'EPSG:4326', always_xy := true)) AS wkb
        FROM current_hotspots
        WHERE $force IS NULL OR force = $force
        ORDER BY force, rank
        """,
        {"force": force},
    ).df()
    geometry = gpd.GeoSeries.from_wkb([bytes(b) if b is not None else None for b in frame.pop("wkb")], crs="EPSG:4326")
    hotspots = gpd.GeoDataFrame(frame, geometry=geometry)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ExportFormat.geojson:
        out.unlink(missing_ok=True)  # the GeoJSON driver does not overwrite
        hotspots.to_file(out, driver="GeoJSON", RFC7946="YES")
    elif fmt == ExportFormat.geoparquet:
        hotspots.to_parquet(out, index=False)
    else:
        table = hotspots.drop(columns="geometry")
        table["wkt"] = hotspots.geometry.to_wkt()
        table.to_csv(out, index=False)
    return out


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `hotspots` app."""
    export_app = typer.Typer(help="Export marts for GIS and spreadsheets (from the analyst snapshot).", no_args_is_help=True)
    docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
    app.add_typer(export_app, name="export")
    app.add_typer(docs_app, name="docs")

    @app.command("query")
    def query(
        sql: Optional[str] = typer.Argument(None, help="SQL to run, e.g. \"SELECT * FROM current_hotspots\"."),
        file: Optional[Path] = typer.Option(None, "--file", "-F", help="Read the SQL from a file, e.g. sql/analysis/dose_vs_harm.sql."),
        fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
        max_rows: int = typer.Option(1000, help="Rows shown in table format (csv and json print all)."),
    ) -> None:
        """Run SQL on the read-only analyst snapshot."""
        if (sql is None) == (file is None):
            typer.echo("Error: give the SQL as an argument or with --file, not both.", err=True)
            raise typer.Exit(2)
        try:
            sql = sql if file is None else file.read_text()
            with open_snapshot() as con:
                write_result(con.sql(sql), fmt, sys.stdout, max_rows=max_rows)
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
        from hotspots.warehouse import publish_snapshot

        typer.echo(publish_snapshot(get_settings()))

    @export_app.command("hotspots")
    def export_hotspots_command(
        fmt: ExportFormat = typer.Option(ExportFormat.geojson, "--format", "-f", help="File format."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default data_dir/exports/hotspots.<ext>)."),
        force: Optional[str] = typer.Option(None, help="Only this force (default: every force)."),
    ) -> None:
        """The current hot spots with their polygons in EPSG:4326."""
        settings = get_settings()
        out = out or Path(settings.data_dir) / "exports" / f"hotspots{EXPORT_SUFFIX[fmt.value]}"
        try:
            with open_snapshot(settings) as con:
                typer.echo(export_hotspots(con, out, fmt, force))
        except FileNotFoundError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1)

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
        day: Optional[datetime] = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="Day the report is about (default: latest day with compliance)."),
        force: Optional[str] = typer.Option(None, help="Force (default: every force in settings)."),
        live: bool = typer.Option(False, help="Read the warehouse (read-only) instead of the snapshot."),
    ) -> None:
        """Write the daily HTML report: data_dir/reports/<force>/<date>.html."""
        from hotspots.report import build_report
        from hotspots.warehouse import open_warehouse

        settings = get_settings()
        forces = [force] if force else settings.forces
        source = open_warehouse(read_only=True, settings=settings) if live else open_snapshot(settings)
        try:
            with source as con:
                for name in forces:
                    wanted = day.date() if day else con.execute(
                        "SELECT max(date) FROM daily_compliance WHERE force = ?", [name]
                    ).fetchone()[0]
                    if wanted is None:
                        typer.echo(f"{name}: no compliance figures yet; pass --date.", err=True)
                        continue
                    typer.echo(build_report(con, force=name, date=wanted, settings=settings))
        except (FileNotFoundError, duckdb.Error) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1)

