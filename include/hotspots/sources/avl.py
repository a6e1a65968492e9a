"""AVL and radio GPS pings: read CSV/Parquet drops, validate (GX), pseudonymise, load stg_pings.

Columns are matched by canonical name (device, time, lon, lat or easting, northing, speed, unit_type) through a
mapping to the force's own header names, e.g. ``--columns device=vehicle_id,time=timestamp``. A file is read
by DuckDB into a temp table whose rows keep the file's order (source_row = line number among data rows, carried
by every later step), typed in SQL (sql/transform/avl_typed.sql), judged vectorised
(hotspots.validation.avl.check_pings); Great Expectations validates the resulting check columns per file, and
the accepted rows go to stg_pings by one INSERT ... SELECT from an Arrow table. Raw device ids are
pseudonymised once per distinct id and reach neither the warehouse nor the quarantine.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.pseudonym import device_key, pseudonym_key
from hotspots.settings import Settings
from hotspots.sources.csvfile import check_text, header_key, match_columns
from hotspots.validation import avl as checks
from hotspots.validation.core import InputFileError, record_run, validate_checks
from hotspots.warehouse import read_sql, transaction

log = logging.getLogger(__name__)

SOURCE = "avl"
DEFAULT_COLUMNS = {
    "device": "device_id",
    "time": "timestamp",
    "lon": "lon",
    "lat": "lat",
    "easting": "easting",
    "northing": "northing",
    "speed": "speed_kmh",
    "unit_type": "unit_type",
}
PING_SUFFIXES = (".csv", ".parquet", ".pq")
DAY_REGEX = re.compile(r"(\d{4}-\d{2}-\d{2})")
ROW = "coalesce(file_row, rowid + 1) AS source_row"  # of avl_typed: Parquet row number, else the row's position
COUNTED = ("rows_read", "rows_loaded", "rows_quarantined")
# Seconds per stage of the last ingest_ping_files call: read (reader thread) and load (loader thread) overlap
# checks and gx (this thread) and its waits (wait_for_read, wait_for_load). The benchmark reports them.
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


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


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
    check_text(path, head)
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


def _open(con: Any, path: Path, encoding: str = "utf-8") -> tuple[list[str], str]:
    """Temp view avl_raw over the drop (read when avl_typed is built); returns its columns and the file's row
    number expression (NULL for CSV: the row is the position in avl_typed, whose insert keeps file order)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header = _csv_header(path)
        columns = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header) + "}"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW avl_raw AS SELECT * FROM read_csv({_literal(path)}, header = true, "
            "auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            f"columns = {columns}, encoding = {_literal(encoding)})"
        )
        return header, "NULL"
    if suffix in (".parquet", ".pq"):
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW avl_raw AS SELECT * FROM read_parquet({_literal(path)}, "
                "file_row_number = true)"
            )
        except Exception as exc:  # corrupt files raise several DuckDB error types
            raise _parquet_error(path, exc) from exc
        return [c for c in _column_types(con) if c != "file_row_number"], "file_row_number + 1"
    raise InputFileError(f"{path}: unknown file type {path.suffix!r}; ping files must be {', '.join(PING_SUFFIXES)}.")


def _read_typed(con: Any, path: Path, settings: Settings) -> None:
    """Read the drop through avl_input into temp table avl_typed (sql/transform/avl_typed.sql) in file order;
    reader faults and a drop without rows raise InputFileError naming the file."""
    query = read_sql("transform/avl_typed", settings)
    params = {"max_speed": settings.ping_max_speed_kmh, "unit_types": list(checks.UNIT_TYPES)}
    csv_file = path.suffix.lower() == ".csv"
    con.execute("SET preserve_insertion_order = true")  # rowid of avl_typed = the file's row order
    try:
        try:
            con.execute(query, params)
        except Exception as exc:  # duckdb.InvalidInputException; decoding faults name the line
            if not (csv_file and "Invalid unicode" in str(exc)):
                raise
            log.warning(
                "%s is not valid UTF-8; reading it as Latin-1. Re-export the file as UTF-8 to silence this warning.",
                path,
            )
            _open(con, path, encoding="latin-1")
            con.execute(query, params)
    except Exception as exc:
        if not csv_file:
            raise _parquet_error(path, exc) from exc
        raise InputFileError(
            f"{path}: cannot be parsed as CSV ({_duckdb_reason(exc)}). Check that fields containing commas "
            "are quoted and every line has the same number of fields as the header."
        ) from exc
    finally:
        con.execute("SET preserve_insertion_order = false")
    if con.execute("SELECT count(*) FROM avl_typed").fetchone()[0] == 0:
        empty = "has a header but no data rows" if csv_file else "has no rows"
        raise InputFileError(
            f"{path}: the file {empty}. A drop with no pings is almost always a failed export: export it again "
            "(the task stays failed so the gap is not silent)."
        )


def _column_types(con: Any) -> dict[str, str]:
    return {name: kind for name, kind, *_ in con.execute("DESCRIBE avl_raw").fetchall()}


def _parquet_error(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(f"{path}: cannot be read as Parquet ({_duckdb_reason(exc)}). Export the file again.")


def _input_view(
    con: Any, path: Path, header: list[str], row: str, mapping: dict[str, str]
) -> tuple[bool, dict[str, str]]:
    """Temp view avl_input over avl_raw with the canonical columns of avl_typed.sql and ``raw``, the row as read
    (a struct keyed by canonical names, the device under device_key); returns (lon/lat input?, canonical name ->
    the file's column)."""
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

    renamed = {actual: "device_key" if canonical == "device" else canonical for canonical, actual in names.items()}
    raw = ", ".join(f"{_quote(renamed.get(c, c))} := {_quote(c)}" for c in header)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW avl_input AS SELECT {row} AS file_row,
            CAST({_quote(names["device"])} AS VARCHAR) AS device, {time_text} AS time_text,
            CAST({time_typed} AS TIMESTAMP) AS time_typed, try_cast({_quote(x)} AS DOUBLE) AS x_in,
            try_cast({_quote(y)} AS DOUBLE) AS y_in, {text("speed")} AS speed_text, {text("unit_type")} AS unit_text,
            struct_pack({raw}) AS raw
            FROM avl_raw"""
    )
    return projected, names


def file_day(path: Path) -> date | None:
    """The UTC day a drop belongs to: the last YYYY-MM-DD in its folder or file name (landing/<force>/avl/
    YYYY-MM-DD/, raw/.../date=YYYY-MM-DD/); None = the day of its latest timestamp (check_pings)."""
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


@dataclass
class _Read:
    """One drop read and typed on its own cursor (which holds temp table avl_typed until the file is loaded)."""

    path: Path
    cursor: Any
    header: list[str]
    names: dict[str, str]
    projected: bool  # lon/lat, not easting/northing
    typed: Any  # pyarrow.Table: source_row and the typed columns of avl_typed.sql


def _read(cursor: Any, path: Path, mapping: dict[str, str], settings: Settings) -> _Read:
    """Read and type one drop on ``cursor`` (run in the reader thread, ahead of the file being loaded)."""
    start = time.perf_counter()
    try:
        cursor.execute("SET TimeZone = 'UTC'")  # a time without offset is UTC (this cursor's session only)
        header, row = _open(cursor, path)
        projected, names = _input_view(cursor, path, header, row, mapping)
        _read_typed(cursor, path, settings)
        typed = cursor.execute(f"SELECT {ROW}, * EXCLUDE (file_row, raw) FROM avl_typed").to_arrow_table()
    except BaseException:
        cursor.close()
        raise
    _timed("read", start)
    return _Read(path, cursor, header, names, projected, typed)


@dataclass
class _Checked:
    """A drop that passed validation: its rows to load, its quarantine rows and its counts."""

    read: _Read
    source_file: str
    loaded: Any  # pyarrow.Table with the stg_pings columns
    bad: Any  # pyarrow.Table: source_row, reason, device_key
    counts: dict[str, Any]
    results: list[dict[str, Any]]


def _check(
    read: _Read,
    *,
    settings: Settings,
    extent: tuple,
    key: bytes,
    pseudonyms: dict[str, str],
    docs_dir: Path | None,
) -> _Checked:
    """Judge a read drop (validation.avl.check_pings), validate it (GX) and shape its rows for loading."""
    import pyarrow as pa
    import pyarrow.compute as pc

    start = time.perf_counter()
    path, typed = read.path, read.typed
    encoded = pc.dictionary_encode(typed["device"]).combine_chunks()
    devices = encoded.dictionary.to_pylist()
    device = encoded.indices.to_numpy()
    column = {name: typed[name].to_numpy() for name in ("source_row", "ts_us", "ts_ok", "speed_ok", "unit_ok")}
    easting, northing = checks.to_grid(typed["x_in"].to_numpy(), typed["y_in"].to_numpy(), projected=read.projected)
    reasons = checks.check_pings(
        devices=devices,
        device=device,
        **column,
        easting=easting,
        northing=northing,
        day=file_day(path),
        late_days=settings.late_days,
        extent=extent,
        margin_m=settings.ping_area_margin_m,
        max_jump_kmh=settings.ping_max_jump_kmh,
    )
    start = _timed("checks", start)
    results = validate_checks(
        checks.check_columns(reasons),
        suite_name="avl_pings",
        rules=checks.avl_rules(),
        source_file=str(path),
        docs_dir=docs_dir,
    )
    by_code = np.bincount(reasons, minlength=len(checks.REASONS) + 1)
    by_reason = {reason: int(by_code[code]) for code, reason in enumerate(checks.REASONS, start=1) if by_code[code]}
    if any(r["unexpected_count"] != by_reason.get(r["reason"], 0) for r in results):
        raise RuntimeError(f"{path}: Great Expectations and the AVL checks disagree on the failing rows: {results}")
    start = _timed("gx", start)

    for name in devices:
        if name not in pseudonyms:
            pseudonyms[name] = device_key(name, key)
    keys = pa.array([pseudonyms[name] for name in devices], pa.string())
    ok = reasons == 0
    ts = column["ts_us"][ok].astype("datetime64[us]")
    local = pd.DatetimeIndex(ts, tz="UTC").tz_convert(settings.timezone).tz_localize(None).to_numpy()
    local = local.astype("datetime64[D]")
    loaded = pa.table(
        {
            "device_key": keys.take(pa.array(device[ok])),
            "ts_utc": ts,
            "local_date": local,
            "easting": easting[ok],
            "northing": northing[ok],
            "speed_kmh": typed["speed_kmh"].filter(pa.array(ok)),
            "unit_type": typed["unit_type"].filter(pa.array(ok)),
        }
    )
    source_file = source_name(path)
    counts = {
        "rows_read": int(reasons.size),
        "rows_loaded": int(by_code[0]),
        "rows_quarantined": int(reasons.size - by_code[0]),
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "local_dates": sorted({str(d) for d in np.unique(local)}),
        "source_file": source_file,
    }
    bad = pa.table(
        {
            "source_row": column["source_row"][~ok],
            "reason": pa.array(checks.REASONS).take(pa.array(reasons[~ok] - 1)),
            "device_key": keys.take(pa.array(device[~ok])),
        }
    )
    _timed("checks", start)
    return _Checked(read, source_file, loaded, bad, counts, results)


def _load(con: Any, checked: _Checked, *, force: str) -> dict[str, Any]:
    """Replace the file's rows in stg_pings, quarantine and validation_runs in one transaction (in the loader
    thread, while the next file is checked); closes the file's cursor. Returns the file's counts."""
    start = time.perf_counter()
    source_file, counts = checked.source_file, checked.counts
    try:
        quarantine = _quarantine_rows(checked.read, checked.bad, force=force, source_file=source_file)
    finally:
        checked.read.cursor.close()
    con.register("avl_loaded", checked.loaded)
    con.register("avl_quarantine", quarantine)
    try:
        with transaction(con):
            con.execute("DELETE FROM stg_pings WHERE force = ? AND source_file = ?", [force, source_file])
            con.execute(
                "INSERT INTO stg_pings SELECT ?, device_key, ts_utc, local_date, easting, northing, speed_kmh, "
                "unit_type, ?, now() FROM avl_loaded",
                [force, source_file],
            )
            record_run(
                con,
                force=force,
                source=SOURCE,
                source_file=source_file,
                suite="avl_pings",
                success=True,
                counts={k: counts[k] for k in COUNTED},
                results=checked.results,
                quarantine="avl_quarantine",
            )
    finally:
        con.unregister("avl_loaded")
        con.unregister("avl_quarantine")
    _timed("load", start)
    log.info("%s: %s", checked.read.path, counts)
    return counts


def _quarantine_rows(read: _Read, bad: Any, *, force: str, source_file: str) -> Any:
    """Quarantine records (force, source, source_file, source_row, reason, raw_row) of the rows in ``bad``
    (source_row, reason, device_key): the raw row as text JSON with the device pseudonymised."""
    renamed = {actual: "device_key" if canonical == "device" else canonical for canonical, actual in read.names.items()}
    raw = ", ".join(
        f"{_literal(name)}, " + ("b.device_key" if name == "device_key" else f"CAST(t.raw.{_quote(name)} AS VARCHAR)")
        for name in (renamed.get(c, c) for c in read.header)
    )
    read.cursor.register("avl_bad", bad)
    try:
        return read.cursor.execute(
            f"""SELECT ? AS force, ? AS source, ? AS source_file, b.source_row, b.reason,
                       CAST(json_object({raw}) AS VARCHAR) AS raw_row
                FROM avl_bad b JOIN (SELECT {ROW}, raw FROM avl_typed) t USING (source_row)""",
            [force, SOURCE, source_file],
        ).to_arrow_table()
    finally:
        read.cursor.unregister("avl_bad")


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
    paths = [Path(p) for p in paths]
    cursors = [con.cursor() for _ in paths]  # one per file, made here: `con` is busy in the loader thread later
    # Three stages overlap: the reader thread reads and types file n+1 (DuckDB, on its own cursor), this thread
    # judges and validates file n (numpy, GX), the loader thread loads file n-1 (DuckDB, on `con`).
    ahead: list[Any] = []
    try:
        with (
            ThreadPoolExecutor(1, thread_name_prefix="avl-reader") as reader,
            ThreadPoolExecutor(1, thread_name_prefix="avl-loader") as loader,
        ):
            ahead = [reader.submit(_read, cursors[0], paths[0], mapping, settings)] if paths else []
            loading = None
            for number, path in enumerate(paths):
                if number + 1 < len(paths):
                    ahead.append(reader.submit(_read, cursors[number + 1], paths[number + 1], mapping, settings))
                start = time.perf_counter()
                try:
                    read = ahead.pop(0).result()
                except InputFileError as exc:
                    errors.append(str(exc))
                    continue
                finally:
                    _timed("wait_for_read", start)
                try:
                    checked = _check(
                        read, settings=settings, extent=extent, key=key, pseudonyms=pseudonyms, docs_dir=docs_dir
                    )
                except InputFileError as exc:
                    errors.append(str(exc))
                    read.cursor.close()
                    continue
                start = time.perf_counter()
                if loading is not None:
                    by_file.append(loading.result())
                _timed("wait_for_load", start)
                loading = loader.submit(_load, con, checked, force=force)
            if loading is not None:
                by_file.append(loading.result())
    finally:  # after both threads finished
        for future in ahead:
            future.cancel()
        for cursor in cursors:
            cursor.close()
    if errors:
        raise InputFileError(
            errors[0]
            if len(errors) == 1
            else f"{len(errors)} of {len(paths)} ping files rejected (the other files were loaded): "
            + " | ".join(errors)
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
    counts = ingest_ping_files(con, force=force, paths=[path], settings=settings, columns=columns, docs_dir=docs_dir)
    return counts["by_file"][0]
