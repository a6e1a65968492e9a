"""Analyst reading of the warehouse: query results printed as table, CSV or JSON, the read-only SQL shell on the
snapshot, and the hot-spot export for GIS (GeoJSON, GeoParquet, CSV with WKT)."""

from __future__ import annotations

import cmd
import csv
import json
import sys
from contextlib import redirect_stdout
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import on_lake, open_snapshot, read_sql


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(str, Enum):
    geojson = "geojson"
    geoparquet = "geoparquet"
    csv = "csv"


EXPORT_SUFFIX = {"geojson": ".geojson", "geoparquet": ".parquet", "csv": ".csv"}


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


def run_query(
    sql: str,
    fmt: OutputFormat = OutputFormat.table,
    out: IO[str] | None = None,
    settings: Settings | None = None,
    max_rows: int = 1000,
    as_of: datetime | str | None = None,
) -> None:
    """Run one SQL text on the snapshot (on a lake: the newest committed one, or the one committed at ``as_of``)
    and print the result of its last statement."""
    with open_snapshot(settings, as_of=as_of) as con:
        write_result(con.sql(sql), fmt, out or sys.stdout, max_rows=max_rows)


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
            if on_lake(self.settings):  # the failed statement ended the lake reader's pinning transaction
                self.con.execute("ROLLBACK")
                self.con.execute("BEGIN TRANSACTION")

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
        read_sql("transform/export_hotspots"),
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
