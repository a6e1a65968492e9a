"""data.police.uk street-level crime CSVs: find the files, validate them, place them, load stg_crimes.

A file (YYYY-MM-<force>-street.csv) is the unit of loading: its rows in stg_crimes, quarantine and
validation_runs are replaced as a whole (partition force + source + file name), so a rerun is idempotent.
Crimes are placed by their coordinates (point in polygon in EPSG:27700), never by the file's LSOA code.
"""

from __future__ import annotations

import logging
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.settings import Settings
from hotspots.sources.areas import BNG, force_extent, outside_distance, place_points, transform_points
from hotspots.sources.crime_store import check_crime_point_keys
from hotspots.sources.csvfile import read_csv_table
from hotspots.validation.core import InputFileError, record_run, validate_checks
from hotspots.validation.crime import POLICE_UK_COLUMNS, police_uk_checks, police_uk_rules, row_reasons
from hotspots.warehouse import read_sql, transaction

log = logging.getLogger(__name__)

SOURCE = "police_uk"
STREET_FILE = re.compile(r"^(\d{4}-\d{2})-(.+)-street\.csv$", re.IGNORECASE)


def crime_files(path: Path, *, force: str | None = None, extract_to: Path | None = None) -> list[Path]:
    """Street CSVs in ``path``: one file, a folder in the archive layout (YYYY-MM/YYYY-MM-force-street.csv,
    searched recursively) or a data.police.uk archive zip, whose matching members are extracted to
    ``extract_to`` (default: a new temporary folder). ``force`` keeps only that force's files."""
    path = Path(path)

    def wanted(name: str) -> bool:
        match = STREET_FILE.match(Path(name).name)
        return bool(match) and (force is None or match.group(2).lower() == force.lower())

    if path.is_dir():
        return sorted((p for p in path.rglob("*.csv") if wanted(p.name)), key=lambda p: (p.name, str(p)))
    if zipfile.is_zipfile(path):
        target = Path(extract_to or tempfile.mkdtemp(prefix="police_uk_"))
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if wanted(m) and not m.endswith("/")]
            for member in members:
                archive.extract(member, target)
        return sorted((target / m for m in members), key=lambda p: p.name)
    if path.is_file():
        return [path]
    raise InputFileError(f"{path}: no such file, folder or zip archive of data.police.uk street CSVs.")


def file_month(path: Path) -> str | None:
    """'2024-02' from '2024-02-bedfordshire-street.csv' (None when the name does not follow the layout)."""
    match = STREET_FILE.match(path.name)
    return match.group(1) if match else None


def prepare_frames(
    con: duckdb.DuckDBPyConnection, paths: list[Path], *, force: str
) -> list[tuple[pa.Table, pd.DataFrame]]:
    """Each file as text (Arrow, source_row = 1..n in file order) and its check frame (police_uk_checks) with
    easting/northing (EPSG:27700, plausible unswapped degrees only) and the distance outside the force's area.
    The points of all the files are transformed in one pass and the force's extent is read once."""
    prepared = [(table, police_uk_checks(table)) for table in (read_csv_table(p, POLICE_UK_COLUMNS) for p in paths)]
    extent = force_extent(con, force)
    lon, lat = (
        pd.concat([checks[column] for _, checks in prepared], ignore_index=True)
        for column in ("degree_lon", "degree_lat")
    )
    not_swapped = lat >= lon
    easting, northing = transform_distinct(con, lon.where(not_swapped), lat.where(not_swapped))
    start = 0
    for _, checks in prepared:  # each file's rows are its slice of the concatenation, in file order
        stop = start + len(checks)
        checks["easting"] = easting.to_numpy()[start:stop]
        checks["northing"] = northing.to_numpy()[start:stop]
        checks["outside_m"] = outside_distance(checks["easting"], checks["northing"], extent)
        start = stop
    return prepared


def transform_distinct(con: duckdb.DuckDBPyConnection, lon: pd.Series, lat: pd.Series) -> tuple[pd.Series, pd.Series]:
    """WGS84 -> EPSG:27700 for each distinct (lon, lat) once (data.police.uk snaps crimes to shared map points),
    then spread back to every row by its point's code."""
    lon_code, lon_values = pd.factorize(lon)
    lat_code, lat_values = pd.factorize(lat)
    pair = np.where((lon_code >= 0) & (lat_code >= 0), lon_code.astype("int64") * (len(lat_values) + 1) + lat_code, -1)
    codes, points = pd.factorize(pair)
    first = np.empty(len(points), dtype="int64")
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the first row of each distinct point
    x, y = transform_points(con, lon.iloc[first], lat.iloc[first], source="EPSG:4326", target=BNG)
    return (pd.Series(x.to_numpy()[codes], index=lon.index), pd.Series(y.to_numpy()[codes], index=lon.index))


def typed_rows(con: duckdb.DuckDBPyConnection, table: pa.Table, checks: pd.DataFrame, keep: np.ndarray) -> str:
    """Register the file with its derived columns (``checks`` and ``keep``, one flag per row, both in file order)
    and return the name of a view of the kept rows' typed columns (sql/transform/police_uk_typed.sql)."""
    derived = {"keep": pa.array(keep), "crime_id": pc.utf8_trim_whitespace(table.column("Crime ID"))}
    derived |= {
        c: pa.array(checks[c].to_numpy(dtype="float64"), from_pandas=True)
        for c in ("lon", "lat", "easting", "northing")
    }
    for name, values in derived.items():
        table = table.append_column(name, values)
    con.register("police_uk_file", table)
    con.execute("CREATE OR REPLACE TEMP VIEW police_uk_typed AS " + read_sql("transform/police_uk_typed"))
    return "police_uk_typed"


def file_key(con: duckdb.DuckDBPyConnection, *, force: str, source: str, source_file: str) -> int:
    """The file_id of (force, source, source_file) in stg_crime_files, added if new; stamps loaded_at."""
    found = con.execute(
        "SELECT file_id FROM stg_crime_files WHERE force = ? AND source = ? AND source_file = ?",
        [force, source, source_file],
    ).fetchone()
    if found:
        con.execute("UPDATE stg_crime_files SET loaded_at = now() WHERE file_id = ?", [found[0]])
        return int(found[0])
    file_id = con.execute("SELECT crime_file_key(?, ?, ?)", [force, source, source_file]).fetchone()[0]
    taken = con.execute("SELECT source_file FROM stg_crime_files WHERE file_id = ?", [file_id]).fetchone()
    if taken:
        raise RuntimeError(
            f"{source_file}: its file key {file_id} (crime_file_key) is already {taken[0]}'s; nothing was loaded. "
            "This 63-bit hash collision is not expected in any force's lifetime: please report it with both files."
        )
    con.execute("INSERT INTO stg_crime_files VALUES (?, ?, ?, ?, now())", [file_id, force, source, source_file])
    return int(file_id)


def load_relation(con: duckdb.DuckDBPyConnection, relation: str, *, force: str, source: str, source_file: str) -> int:
    """Replace the file's rows in stg_crimes with the rows of ``relation`` (a table or view name with the typed
    columns of load_frame); returns the number of rows outside every area. The file's map points
    (sql/transform/file_crime_points.sql) are checked for key collisions, those the force has not stored yet are
    placed in areas (place_points) and added to stg_crime_points, and the rows go to stg_crime_records with their
    point's key (sql/transform/load_crime_records.sql). The caller holds the transaction."""
    file_id = file_key(con, force=force, source=source, source_file=source_file)
    con.execute("DELETE FROM stg_crime_records WHERE file_id = ?", [file_id])
    con.execute(
        "CREATE OR REPLACE TEMP VIEW crimes_to_load AS SELECT * REPLACE "
        f"(nullif(location, '') AS location, nullif(file_lsoa_code, '') AS file_lsoa_code) FROM {relation}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE file_crime_points AS " + read_sql("transform/file_crime_points"), {"force": force}
    )
    check_crime_point_keys(con, source_file)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE new_crime_points AS
           SELECT * FROM file_crime_points f
           WHERE NOT EXISTS (SELECT 1 FROM stg_crime_points p WHERE p.point_key = f.point_key)"""
    )
    placed = place_points(con, "new_crime_points", force=force)
    con.register("new_points_placed", placed)
    try:
        con.execute(
            """INSERT INTO stg_crime_points
               SELECT point_key, ?, lon, lat, easting, northing, location, file_lsoa_code, area_code
               FROM new_points_placed""",
            [force],
        )
    finally:
        con.unregister("new_points_placed")
    con.execute(read_sql("transform/load_crime_records"), {"force": force, "file_id": file_id})
    con.execute("DROP TABLE file_crime_points")
    con.execute("DROP TABLE new_crime_points")
    outside = con.execute(
        """SELECT count(*) FROM stg_crime_records r JOIN stg_crime_points p USING (point_key)
           WHERE r.file_id = ? AND p.area_code IS NULL""",
        [file_id],
    ).fetchone()[0]
    return int(outside)


def load_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    source: str,
    source_file: str,
    rows: pd.DataFrame | pa.Table,
) -> int:
    """Replace the file's rows in stg_crimes with ``rows`` (a DataFrame or Arrow table of typed columns:
    source_row, crime_id (stripped, empty
    when there is none), month, occurred_at, crime_type, offence_code, knife_flag, lon, lat, easting, northing,
    location, file_lsoa_code), placed in areas; returns the outside count (see load_relation)."""
    con.register("crimes_typed", rows)
    try:
        return load_relation(con, "crimes_typed", force=force, source=source, source_file=source_file)
    finally:
        con.unregister("crimes_typed")


def ingest_crime_file(
    con: duckdb.DuckDBPyConnection, *, force: str, path: Path, settings: Settings, docs_dir: Path | None = None
) -> dict[str, Any]:
    """Validate one street CSV, quarantine bad rows, place and load the rest; idempotent per file name."""
    return ingest_crime_files(con, force=force, paths=[path], settings=settings, docs_dir=docs_dir)[0]


def ingest_crime_files(
    con: duckdb.DuckDBPyConnection, *, force: str, paths: list[Path], settings: Settings, docs_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Street CSVs of one force (a month): all are read and checked (prepare_frames) and validated first, so a file
    beyond a tolerance fails the month before anything is written; then each file is loaded in its own transaction
    (one transaction for the month measured no faster and held the month in memory), replacing its own rows
    (idempotent per file name). One counts dict per file."""
    paths = [Path(p) for p in paths]
    rules = police_uk_rules(margin_m=settings.area_margin_m)
    validated = [
        (path, table, checks, *_validate(path, checks, rules, docs_dir))
        for path, (table, checks) in zip(paths, prepare_frames(con, paths, force=force))
    ]
    counts = []
    for path, table, checks, reasons, summary in validated:
        with transaction(con):
            counts.append(
                _store(con, force=force, path=path, table=table, checks=checks, reasons=reasons, summary=summary)
            )
    return counts


def _validate(path: Path, checks: pd.DataFrame, rules: list, docs_dir: Path | None) -> tuple[np.ndarray, list[dict]]:
    """Great Expectations on the file's check frame; returns each row's reasons ('' = loaded) and GX's summary."""
    validated = checks.drop(columns=["lat", "easting", "northing"])
    summary = validate_checks(
        validated, suite_name="police_uk_street", rules=rules, source_file=str(path), docs_dir=docs_dir
    )
    return row_reasons(validated, rules, summary), summary


def _store(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    path: Path,
    table: pa.Table,
    checks: pd.DataFrame,
    reasons: np.ndarray,
    summary: list[dict],
) -> dict[str, Any]:
    """Quarantine one validated file's bad rows, place and load the rest, record the run (caller's transaction)."""
    source_file = path.name
    bad = reasons != ""
    source_row = checks["source_row"].to_numpy(dtype="int64")
    by_reason = pd.Series(reasons[bad], dtype=object).value_counts().sort_index()
    counts = {
        "rows_read": len(checks),
        "rows_loaded": int((~bad).sum()),
        "rows_quarantined": int(bad.sum()),
        "quarantined_by_reason": {str(k): int(v) for k, v in by_reason.items()},
    }
    log.info(
        "%s: %d rows read, %d loaded, %d quarantined",
        source_file,
        counts["rows_read"],
        counts["rows_loaded"],
        counts["rows_quarantined"],
    )
    relation = typed_rows(con, table, checks, ~bad)
    con.register(
        "police_uk_reasons", pa.table({"source_row": source_row[bad], "reason": pa.array(reasons[bad], pa.string())})
    )
    try:
        quarantine_sql = read_sql("transform/police_uk_quarantine")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE police_uk_quarantine AS " + quarantine_sql,
            {"force": force, "source": SOURCE, "source_file": source_file},
        )
        outside = load_relation(con, relation, force=force, source=SOURCE, source_file=source_file)
        record_run(
            con,
            force=force,
            source=SOURCE,
            source_file=source_file,
            suite="police_uk_street",
            success=True,
            counts=counts,
            results=summary,
            quarantine="police_uk_quarantine",
        )
        con.execute("DROP TABLE police_uk_quarantine")
    finally:
        con.execute("DROP VIEW IF EXISTS police_uk_typed")
        con.unregister("police_uk_file")
        con.unregister("police_uk_reasons")
    counts |= {"events_outside": outside, "source_file": source_file, "month": file_month(path)}
    if outside:
        log.warning("%s: %d loaded crimes lie outside every area (area_code NULL)", source_file, outside)
    log.info("police_uk %s %s: %s", force, source_file, counts)
    return counts
