"""The DuckDB warehouse: open it with spatial loaded from the wheel, apply sql/ models, publish snapshots."""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from hotspots.settings import Settings, get_settings

log = logging.getLogger(__name__)

SCHEMA_LAYERS = ("staging", "marts")


def spatial_extension_file(settings: Settings | None = None) -> Path:
    """Path of spatial.duckdb_extension shipped by the duckdb-extension-spatial wheel for this duckdb."""
    settings = settings or get_settings()
    if settings.spatial_extension_path:
        return Path(settings.spatial_extension_path)
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    wanted = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if wanted.exists():
        return wanted
    found = sorted(root.glob("*/spatial.duckdb_extension"))
    raise RuntimeError(
        f"No spatial extension for duckdb {duckdb.__version__} under {root} (found: {[str(p) for p in found]}). "
        "Install duckdb-extension-spatial with the same version as duckdb (see constraints.txt), "
        "or set HOTSPOTS_SPATIAL_EXTENSION_PATH."
    )


def load_spatial(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> None:
    """Install (from the local file, never the network) and load the spatial extension."""
    try:
        con.execute("LOAD spatial")
    except duckdb.Error:
        con.install_extension(str(spatial_extension_file(settings)))
        con.execute("LOAD spatial")


def connect(
    path: Path | str | None = None, *, read_only: bool = False, settings: Settings | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (default: settings.warehouse_path) with spatial loaded."""
    settings = settings or get_settings()
    path = Path(path or settings.warehouse_path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    # The extension directory lives beside the warehouse so no home directory or network is needed.
    ext_dir = path.parent / ".duckdb_extensions"
    # Large partition loads (INSERT ... SELECT) run in parallel when row order need not be kept: every query
    # that needs an order says ORDER BY.
    config = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "preserve_insertion_order": "false",
    }
    if not read_only or ext_dir.exists():
        config["extension_directory"] = str(ext_dir)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    load_spatial(con, settings)
    return con


@contextmanager
def open_warehouse(
    path: Path | str | None = None, *, read_only: bool = False, settings: Settings | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Context manager around connect(); writers also get the schema applied."""
    con = connect(path, read_only=read_only, settings=settings)
    try:
        if not read_only:
            apply_schema(con, settings)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def model_files(settings: Settings | None = None) -> list[Path]:
    """The sql/ model files in the order they are applied: staging, then marts, by file name."""
    settings = settings or get_settings()
    files: list[Path] = []
    for layer in SCHEMA_LAYERS:
        files.extend(sorted((Path(settings.sql_dir) / layer).glob("*.sql")))
    return files


def apply_schema(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> None:
    """Create every staging and mart table or view; safe to run any number of times. A warehouse whose
    stg_crimes is still a table (before it was split into files, points and records) is migrated first, in
    the same transaction (append_crime_rows)."""
    legacy = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stg_crimes' AND schema_name = 'main' AND NOT temporary"
    ).fetchone()[0]
    if not legacy:
        _apply_models(con, settings)
        return
    with transaction(con):
        con.execute("ALTER TABLE stg_crimes RENAME TO stg_crimes_legacy")
        _apply_models(con, settings)
        rows = append_crime_rows(con, "stg_crimes_legacy", settings)
        con.execute("DROP TABLE stg_crimes_legacy")
    log.info("warehouse: moved %d crimes from the old stg_crimes table into stg_crime_files/points/records", rows)


def append_crime_rows(con: duckdb.DuckDBPyConnection, relation: str, settings: Settings | None = None) -> int:
    """Append the rows of ``relation`` (columns of the view stg_crimes, area_code as given, not placed) to the
    crime tables (sql/transform/append_crime_keys.sql, then append_crime_rows.sql); returns the number of rows. The caller holds the
    transaction."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW crime_rows_in AS SELECT * FROM {relation}")
    rows = con.execute("SELECT count(*) FROM crime_rows_in").fetchone()[0]
    con.execute(read_sql("transform/append_crime_keys", settings))
    check_crime_point_keys(con, relation, settings)
    con.execute(read_sql("transform/append_crime_rows", settings))
    con.execute("DROP VIEW crime_rows_in")
    return int(rows)


def check_crime_point_keys(con: duckdb.DuckDBPyConnection, what: str, settings: Settings | None = None) -> None:
    """Fail when a key of temp table file_crime_points stands for two different published points
    (sql/transform/crime_point_collisions.sql), before anything of ``what`` is written."""
    collisions = con.execute(read_sql("transform/crime_point_collisions", settings)).fetchall()
    if collisions:
        raise RuntimeError(
            f"{what}: map point key {collisions[0][0]} (crime_point_key) stands for two different published points; "
            "nothing was loaded. This 64-bit hash collision is expected about once in 10^7 force lifetimes: please "
            "report it with the file."
        )


def _apply_models(con: duckdb.DuckDBPyConnection, settings: Settings | None) -> None:
    for sql_file in model_files(settings):
        try:
            con.execute(sql_file.read_text())
        except duckdb.Error as exc:
            raise RuntimeError(f"Applying {sql_file} failed: {exc}") from exc


def read_sql(name: str, settings: Settings | None = None) -> str:
    """Text of sql/<name>.sql, e.g. read_sql('transform/daily_compliance')."""
    settings = settings or get_settings()
    return (Path(settings.sql_dir) / f"{name}.sql").read_text()


def publish_snapshot(settings: Settings | None = None) -> Path:
    """Copy the warehouse to the read-only analyst snapshot, atomically (readers never see a torn file)."""
    settings = settings or get_settings()
    source = Path(settings.warehouse_path)
    target = Path(settings.snapshot_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Copy while this writer still holds the file lock: no other writer can change it mid-copy.
    with open_warehouse(source, settings=settings) as con:
        con.execute("CHECKPOINT")
        try:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as copied:
                os.fsync(copied.fileno())
            # Readers that have the old snapshot open keep reading it; new readers open the new one.
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    log.info("Published read-only snapshot %s", target)
    return target
