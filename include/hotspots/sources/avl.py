"""AVL and radio GPS pings: read CSV/Parquet drops, validate (GX), pseudonymise, load stg_pings.

Columns are matched by canonical name (device, time, lon, lat or easting, northing, speed, unit_type) through a
mapping to the force's own header names, e.g. ``--columns device=vehicle_id,time=timestamp``. A file is read
by DuckDB into a temp table whose rows keep the file's order (source_row = line number among data rows); the
rules run vectorised on it (hotspots.validation.avl.check_pings), Great Expectations judges the resulting
check columns per file, and the accepted rows go to stg_pings by INSERT ... SELECT. Raw device ids are
pseudonymised once per distinct id and reach neither the warehouse nor the quarantine.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.pseudonym import device_key, pseudonym_key
from hotspots.settings import Settings
from hotspots.sources.csvfile import header_key, match_columns
from hotspots.validation import avl as checks
from hotspots.validation.core import InputFileError, record_run, validate_checks
from hotspots.warehouse import read_sql, transaction

log = logging.getLogger(__name__)

SOURCE = "avl"
DEFAULT_COLUMNS = {
    "device": "device_id", "time": "timestamp", "lon": "lon", "lat": "lat", "easting": "easting",
    "northing": "northing", "speed": "speed_kmh", "unit_type": "unit_type",
}
PING_SUFFIXES = (".csv", ".parquet", ".pq")
DAY_REGEX = re.compile(r"(\d{4}-\d{2}-\d{2})")
COUNTED = ("rows_read", "rows_loaded", "rows_quarantined")
# Seconds per stage of the last ingest_ping_files call (read, checks, gx, load): the benchmark reports them.
STAGE_SECONDS: dict[str, float] = {}


def parse_columns(spec: str | None) -> dict[str, str]:
    """'device=vehicle_id,time=timestamp' -> {'device': 'vehicle_id', 'time': 'timestamp'}."""
    mapping: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"--columns item {item!r} is not name=column (e.g. device=vehicle_id).")
        name, column = (part.strip() for part in item.split("=", 1))
        mapping[name] = column
    return check_mapping(mapping)


def check_mapping(columns: dict[str, str] | None) -> dict[str, str]:
    unknown = set(columns or {}) - set(DEFAULT_COLUMNS)
    if unknown:
        raise ValueError(f"column mapping has unknown names {sorted(unknown)}; use {sorted(DEFAULT_COLUMNS)}.")
    return {**DEFAULT_COLUMNS, **(columns or {})}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duckdb_reason(exc: Exception) -> str:
    """The first lines of a DuckDB reader error (the line and the fault, not its list of options)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = []
    for line in lines:
        if line.startswith("Possible"):
            break
        kept.append(line)
    return " ".join(kept[:3])


def _csv_header(path: Path) -> list[str]:
    """Header names of a CSV drop; an absent or empty file, or one not separated by commas, raises."""
    if not path.exists():
        raise InputFileError(f"{path}: file not found. Check the landing folder and the path passed to the task.")
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip():
        raise InputFileError(f"{path}: the file is empty (0 data rows, no header). Export the file again.")
    first = head.splitlines()[0]
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        line = first.decode("cp1252", errors="replace")
    header = next(csv.reader([line]))
    if len(header) == 1:
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
            if delimiter in line:
                raise InputFileError(
                    f"{path}: the header is separated by {name}, not commas (column {line[:60]!r}...). "
                    "Save the file as comma-separated CSV (in Excel: 'CSV UTF-8 (Comma delimited)') and drop it again."
                )
    return [name.lstrip("\ufeff").strip() for name in header]


def _read_into(con: Any, path: Path) -> tuple[list[str], str]:
    """Read a drop into temp table avl_raw in file order; returns its columns and the source_row expression."""
    suffix = path.suffix.lower()
    con.execute("SET preserve_insertion_order = true")  # rowid = the file's row order (reset by the caller too)
    if suffix == ".csv":
        header = _csv_header(path)
        columns = "{" + ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for name in header) + "}"
        query = ("CREATE OR REPLACE TEMP TABLE avl_raw AS SELECT * FROM read_csv(?, header = true, auto_detect = false, "
                 f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, columns = {columns}, encoding = ?)")
        try:
            try:
                con.execute(query, [str(path), "utf-8"])
            except Exception as exc:  # duckdb.InvalidInputException; decoding faults name the byte
                if "Invalid unicode" not in str(exc):
                    raise
                log.warning("%s is not valid UTF-8; reading it as Latin-1. Re-export the file as UTF-8 to silence "
                            "this warning.", path)
                con.execute(query, [str(path), "latin-1"])
        except Exception as exc:
            raise InputFileError(
                f"{path}: cannot be parsed as CSV ({_duckdb_reason(exc)}). Check that fields containing commas "
                "are quoted and every line has the same number of fields as the header."
            ) from exc
        row, empty = "rowid + 1", "has a header but no data rows"
    elif suffix in (".parquet", ".pq"):
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE avl_raw AS SELECT * FROM read_parquet(?, file_row_number = true)",
                        [str(path)])
        except Exception as exc:  # corrupt files raise several DuckDB error types
            raise InputFileError(f"{path}: cannot be read as Parquet ({_duckdb_reason(exc)}). Export the file again.") from exc
        header = [c for c in _column_types(con) if c != "file_row_number"]
        row, empty = "file_row_number + 1", "has no rows"
    else:
        raise InputFileError(
            f"{path}: unknown file type {path.suffix!r}; ping files must be {', '.join(PING_SUFFIXES)}."
        )
    con.execute("SET preserve_insertion_order = false")
    if con.execute("SELECT count(*) FROM avl_raw").fetchone()[0] == 0:
        raise InputFileError(
            f"{path}: the file {empty}. A drop with no pings is almost always a failed export: export it again "
            "(the task stays failed so the gap is not silent)."
        )
    return header, row


def _column_types(con: Any) -> dict[str, str]:
    return {name: kind for name, kind, *_ in con.execute("DESCRIBE avl_raw").fetchall()}


def _input_view(con: Any, path: Path, header: list[str], row: str, mapping: dict[str, str]) -> tuple[bool, dict[str, str]]:
    """Temp view avl_input over avl_raw with the canonical columns of avl_checks.sql; returns (lon/lat input?,
    canonical name -> the file's column)."""
    hint = " (or map it with --columns NAME=column)"
    found = match_columns(header, [mapping["device"], mapping["time"]], path=path, hint=hint)
    names = {"device": found[mapping["device"]], "time": found[mapping["time"]]}
    by_key = {header_key(c): c for c in header}
    for x_name, y_name in (("lon", "lat"), ("easting", "northing")):
        if header_key(mapping[x_name]) in by_key and header_key(mapping[y_name]) in by_key:
            names[x_name], names[y_name] = by_key[header_key(mapping[x_name])], by_key[header_key(mapping[y_name])]
            projected = x_name == "lon"
            break
    else:
        raise InputFileError(
            f"{path}: no coordinate columns: need {mapping['lon']!r} and {mapping['lat']!r} (WGS84) or "
            f"{mapping['easting']!r} and {mapping['northing']!r} (EPSG:27700); header: {header}. "
            "Map them with --columns lon=...,lat=... or easting=...,northing=..."
        )
    for name in ("speed", "unit_type"):  # the mapped header, else a column with the canonical name (as before)
        wanted = next((key for key in map(header_key, (mapping[name], name)) if key in by_key), None)
        if wanted:
            names[name] = by_key[wanted]
    time_column, time_type = _quote(names["time"]), _column_types(con)[names["time"]]
    if time_type.startswith("TIMESTAMP WITH TIME ZONE"):
        time_text, time_typed = "NULL", f"{time_column} AT TIME ZONE 'UTC'"
    elif time_type.startswith(("TIMESTAMP", "DATE")):
        time_text, time_typed = "NULL", f"CAST({time_column} AS TIMESTAMP)"
    else:
        time_text, time_typed = f"CAST({time_column} AS VARCHAR)", "NULL"
    x, y = (names["lon"], names["lat"]) if projected else (names["easting"], names["northing"])

    def text(name: str) -> str:
        return f"CAST({_quote(names[name])} AS VARCHAR)" if name in names else "NULL"

    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW avl_input AS SELECT {row} AS source_row,
            CAST({_quote(names['device'])} AS VARCHAR) AS device, {time_text} AS time_text,
            CAST({time_typed} AS TIMESTAMP) AS time_typed, try_cast({_quote(x)} AS DOUBLE) AS x_in,
            try_cast({_quote(y)} AS DOUBLE) AS y_in, {text('speed')} AS speed_text, {text('unit_type')} AS unit_text
            FROM avl_raw"""
    )
    return projected, names


def file_day(path: Path) -> date | None:
    """The UTC day a drop belongs to: the last YYYY-MM-DD in its folder or file name (landing/<force>/avl/
    YYYY-MM-DD/, raw/.../date=YYYY-MM-DD/); None = the day of its latest timestamp (avl_checks.sql)."""
    for part in reversed(Path(path).parts):
        for found in reversed(DAY_REGEX.findall(part)):
            try:
                return date.fromisoformat(found)
            except ValueError:
                continue
    return None


def source_name(path: Path) -> str:
    """Partition key of a drop: day folder and file name (file names repeat from day to day)."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


def _timed(stage: str, start: float) -> float:
    now = time.perf_counter()
    STAGE_SECONDS[stage] = STAGE_SECONDS.get(stage, 0.0) + now - start
    return now


def _ingest_one(
    con: Any, *, force: str, path: Path, mapping: dict[str, str], settings: Settings, extent: tuple, key: bytes,
    pseudonyms: dict[str, str], docs_dir: Path | None,
) -> dict[str, Any]:
    """Read, check, validate and load one file inside the caller's transaction; returns its counts."""
    start = time.perf_counter()
    header, row = _read_into(con, path)
    projected, names = _input_view(con, path, header, row, mapping)
    start = _timed("read", start)
    checks.check_pings(
        con, read_sql("transform/avl_checks", settings), day=file_day(path), late_days=settings.late_days,
        extent=extent, margin_m=settings.ping_area_margin_m, projected=projected,
    )
    devices = [d for (d,) in con.execute("SELECT DISTINCT device FROM avl_checked").fetchall()]
    for device in devices:
        if device not in pseudonyms:
            pseudonyms[device] = device_key(device, key)
    con.register("avl_devices", pd.DataFrame({"device": devices, "device_key": [pseudonyms[d] for d in devices]}))
    start = _timed("checks", start)
    reasons = con.execute("SELECT reason FROM avl_checked").fetchnumpy()["reason"]
    results = validate_checks(
        checks.check_columns(reasons), suite_name="avl_pings", rules=checks.avl_rules(), source_file=str(path),
        docs_dir=docs_dir,
    )
    by_code = np.bincount(reasons.astype(np.int64), minlength=len(checks.REASONS) + 1)
    by_reason = {reason: int(by_code[code]) for code, reason in enumerate(checks.REASONS, start=1) if by_code[code]}
    if any(r["unexpected_count"] != by_reason.get(r["reason"], 0) for r in results):
        raise RuntimeError(f"{path}: Great Expectations and the AVL checks disagree on the failing rows: {results}")
    start = _timed("gx", start)

    source_file = source_name(path)
    renamed = {actual: canonical for canonical, actual in names.items()}
    raw = ", ".join(
        "'device_key', d.device_key" if column == names["device"]
        else f"'{renamed.get(column, column).replace(chr(39), chr(39) * 2)}', CAST(r.{_quote(column)} AS VARCHAR)"
        for column in header
    )
    counts = {"rows_read": int(reasons.size), "rows_loaded": int(by_code[0]),
              "rows_quarantined": int(reasons.size - by_code[0]), "quarantined_by_reason": dict(sorted(by_reason.items()))}
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE avl_quarantine AS
            SELECT ? AS force, ? AS source, ? AS source_file, c.source_row, ?[c.reason] AS reason,
                   CAST(json_object({raw}) AS VARCHAR) AS raw_row
            FROM avl_checked c JOIN avl_devices d USING (device)
            JOIN (SELECT {row} AS source_row, * FROM avl_raw) r ON r.source_row = c.source_row
            WHERE c.reason > 0""",
        [force, SOURCE, source_file, list(checks.REASONS)],
    )
    with transaction(con):
        con.execute("DELETE FROM stg_pings WHERE force = ? AND source_file = ?", [force, source_file])
        con.execute(
            """INSERT INTO stg_pings
               SELECT ?, d.device_key, c.ts, CAST(timezone(?, timezone('UTC', c.ts)) AS DATE), c.easting, c.northing,
                      c.speed_kmh, c.unit_type, ?, now()
               FROM avl_checked c JOIN avl_devices d USING (device) WHERE c.reason = 0""",
            [force, settings.timezone, source_file],
        )
        record_run(con, force=force, source=SOURCE, source_file=source_file, suite="avl_pings", success=True,
                   counts=counts, results=results, quarantine="avl_quarantine")
    local_dates = con.execute(
        "SELECT DISTINCT CAST(timezone(?, timezone('UTC', ts)) AS DATE) FROM avl_checked WHERE reason = 0 ORDER BY 1",
        [settings.timezone],
    ).fetchall()
    con.unregister("avl_devices")
    _timed("load", start)
    counts["local_dates"] = [d.isoformat() for (d,) in local_dates]
    counts["source_file"] = source_file
    log.info("%s: %s", path, counts)
    return counts


def ingest_ping_files(
    con: Any,
    *,
    force: str,
    paths: list[Path],
    settings: Settings,
    columns: dict[str, str] | None = None,
    docs_dir: Path | None = None,
) -> dict[str, Any]:
    """Validate, pseudonymise and load a batch of ping files (a day's drops), each file in its own transaction
    replacing its rows in stg_pings, quarantine and validation_runs. Every file is tried; a rejected file loads
    nothing, the others load, and then one InputFileError names every rejected file. Returns rows_read,
    rows_loaded, rows_quarantined, quarantined_by_reason, local_dates, files and by_file (each file's counts)."""
    from hotspots.sources.areas import force_extent

    key = pseudonym_key(settings)  # fail before reading when the key is missing
    mapping = check_mapping(columns)
    extent = force_extent(con, force)
    STAGE_SECONDS.clear()
    pseudonyms: dict[str, str] = {}
    by_file, errors = [], []
    zone = con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    con.execute("SET TimeZone = 'UTC'")  # a time without offset is UTC
    try:
        for path in map(Path, paths):
            try:
                by_file.append(_ingest_one(con, force=force, path=path, mapping=mapping, settings=settings,
                                           extent=extent, key=key, pseudonyms=pseudonyms, docs_dir=docs_dir))
            except InputFileError as exc:
                errors.append(str(exc))
    finally:
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET TimeZone = '{zone}'")
        con.execute("DROP VIEW IF EXISTS avl_input")
        for name in ("avl_raw", "avl_checked", "avl_quarantine"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    if errors:
        raise InputFileError(
            errors[0] if len(errors) == 1 else
            f"{len(errors)} of {len(paths)} ping files rejected (the other files were loaded): " + " | ".join(errors)
        )
    totals: dict[str, Any] = {key: sum(f[key] for f in by_file) for key in COUNTED}
    reasons: dict[str, int] = {}
    for counts in by_file:
        for reason, n in counts["quarantined_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    totals["quarantined_by_reason"] = dict(sorted(reasons.items()))
    totals["local_dates"] = sorted({d for counts in by_file for d in counts["local_dates"]})
    totals["files"] = [str(p) for p in paths]
    totals["by_file"] = by_file
    return totals


def ingest_ping_file(
    con: Any,
    *,
    force: str,
    path: Path,
    settings: Settings,
    columns: dict[str, str] | None = None,
    docs_dir: Path | None = None,
) -> dict[str, Any]:
    """One file through ingest_ping_files. Returns rows_read, rows_loaded, rows_quarantined,
    quarantined_by_reason, local_dates and source_file."""
    return ingest_ping_files(con, force=force, paths=[path], settings=settings, columns=columns, docs_dir=docs_dir)["by_file"][0]
