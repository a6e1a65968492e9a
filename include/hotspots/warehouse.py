"""The DuckDB warehouse and its doors: open_warehouse (the one writer), open_snapshot (read-only, never the
writer's file), transaction, and migrate (the sql/ models applied, as an explicit step)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb

from hotspots.settings import Settings, resolve_settings

log = logging.getLogger(__name__)

SCHEMA_LAYERS = ("staging", "marts")
COPY_ATTEMPTS = 5


class WarehouseBehind(RuntimeError):
    """The warehouse was migrated to other sql/ models than this checkout's: `hotspots migrate` first."""


def spatial_extension_file(settings: Settings | None = None) -> Path:
    """Path of spatial.duckdb_extension shipped by the duckdb-extension-spatial wheel for this duckdb."""
    settings = resolve_settings(settings)
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
    """One DuckDB file (default: settings.warehouse_path) with the house configuration and spatial loaded. The
    pipeline opens the warehouse through the doors below; this is what they, and tests inspecting a file, use."""
    settings = resolve_settings(settings)
    path = Path(path or settings.warehouse_path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    # The extension directory lives beside the warehouse so no home directory or network is needed.
    ext_dir = Path(settings.warehouse_path).parent / ".duckdb_extensions"
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
def open_warehouse(settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's door: settings.warehouse_path, writable (DuckDB's file lock: one writer at a time). A new,
    empty warehouse is migrated here; one migrated to other sql/ models raises WarehouseBehind."""
    settings = resolve_settings(settings)
    con = connect(settings.warehouse_path, settings=settings)
    try:
        _require_current(con, settings)
        yield con
    finally:
        con.close()


@contextmanager
def open_snapshot(settings: Settings | None = None, *, live: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The reader's door, read-only and never on the writer's file, so it never blocks a pipeline step: the
    analyst snapshot, or with ``live`` a private copy of the warehouse as it is now (removed on close)."""
    settings = resolve_settings(settings)
    if not live:
        path = Path(settings.snapshot_path)
        if not path.exists():
            raise FileNotFoundError(
                f"No analyst snapshot at {path}. It is published after each successful pipeline run; "
                "`hotspots snapshot` publishes one now from the warehouse."
            )
        with connect(path, read_only=True, settings=settings) as con:
            yield con
        return
    with tempfile.TemporaryDirectory(prefix="hotspots-live-") as folder:
        copy = _stable_copy(Path(settings.warehouse_path), Path(folder))
        with connect(copy, read_only=True, settings=settings) as con:
            yield con


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


def migrate(settings: Settings | None = None) -> dict[str, Any]:
    """Bring the warehouse to this checkout's sql/ models (apply_schema) unless its schema_version already
    matches; run by `hotspots migrate` and by the pipeline before its steps write."""
    settings = resolve_settings(settings)
    wanted = models_hash(settings)
    with connect(settings.warehouse_path, settings=settings) as con:
        previous = recorded_version(con)
        if previous != wanted:
            apply_schema(con, settings)
    if previous != wanted:
        log.info("warehouse %s migrated: schema %s -> %s", settings.warehouse_path, previous, wanted)
    return {
        "warehouse": str(settings.warehouse_path),
        "schema_version": wanted,
        "previous": previous,
        "migrated": previous != wanted,
    }


def model_files(settings: Settings | None = None) -> list[Path]:
    """The sql/ model files in the order they are applied: staging, then marts, by file name."""
    settings = resolve_settings(settings)
    files: list[Path] = []
    for layer in SCHEMA_LAYERS:
        files.extend(sorted((Path(settings.sql_dir) / layer).glob("*.sql")))
    return files


def models_hash(settings: Settings | None = None) -> str:
    """sha256 (16 hex) of the model files' names and contents, in order: the version migrate records."""
    settings = resolve_settings(settings)
    digest = hashlib.sha256()
    for sql_file in model_files(settings):
        digest.update(sql_file.relative_to(settings.sql_dir).as_posix().encode() + b"\0")
        digest.update(sql_file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def recorded_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The models_hash of table schema_version; None when the warehouse has none (never migrated)."""
    try:
        row = con.execute("SELECT models_hash FROM schema_version").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def apply_schema(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> None:
    """The migration, in one transaction: a warehouse whose stg_crimes is still a table is moved to the split
    crime tables (crime_store.migrate_legacy_stg_crimes), every staging and mart model is applied, and the
    version is recorded in schema_version. Safe to run any number of times."""
    from hotspots.sources.crime_store import migrate_legacy_stg_crimes

    settings = resolve_settings(settings)
    with transaction(con):
        if not migrate_legacy_stg_crimes(con, lambda: _apply_models(con, settings), settings):
            _apply_models(con, settings)
        con.execute("DELETE FROM schema_version")
        con.execute(
            "INSERT INTO schema_version VALUES (?, ?)",
            [models_hash(settings), datetime.now(timezone.utc).replace(tzinfo=None)],
        )


def _apply_models(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    for sql_file in model_files(settings):
        try:
            con.execute(sql_file.read_text())
        except duckdb.Error as exc:
            raise RuntimeError(f"Applying {sql_file} failed: {exc}") from exc


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> list[dict[str, Any]]:
    """The rows of a query as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def read_sql(name: str, settings: Settings | None = None) -> str:
    """Text of sql/<name>.sql, e.g. read_sql('transform/daily_compliance')."""
    return (Path(resolve_settings(settings).sql_dir) / f"{name}.sql").read_text()


def publish_snapshot(settings: Settings | None = None) -> Path:
    """Publish the read-only analyst snapshot, atomically (readers never see a torn file): a copy of the warehouse
    without per-device data (hotspots.privacy.without_tracks), rewritten so no removed byte stays in the file."""
    from hotspots.privacy import without_tracks

    settings = resolve_settings(settings)
    source = Path(settings.warehouse_path)
    target = Path(settings.snapshot_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    full = target.with_name(f".{target.name}.{os.getpid()}.full.tmp")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # Copy while this writer still holds the file lock: no other writer can change it mid-copy.
        with open_warehouse(settings) as con:
            con.execute("CHECKPOINT")
            shutil.copyfile(source, full)
        without_tracks(full, tmp, settings)
        with open(tmp, "rb+") as copied:
            os.fsync(copied.fileno())
        # Readers that have the old snapshot open keep reading it; new readers open the new one.
        os.replace(tmp, target)
    finally:
        full.unlink(missing_ok=True)
        full.with_name(full.name + ".wal").unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    log.info("Published read-only snapshot %s (no per-device data)", target)
    return target


def _require_current(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The writer door's check: one row read, plus the hash of the model files."""
    recorded, wanted = recorded_version(con), models_hash(settings)
    if recorded == wanted:
        return
    tables = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary"
    ).fetchone()[0]
    if recorded is None and not tables:  # a new warehouse: creating it is its first migration
        apply_schema(con, settings)
        return
    raise WarehouseBehind(
        f"{settings.warehouse_path}: the warehouse schema ({recorded or 'never migrated'}) is not this checkout's "
        f"sql/ models ({wanted}); nothing was written. Run `hotspots migrate` (the DAGs' first task does) "
        "before the pipeline writes."
    )


def _stable_copy(source: Path, folder: Path) -> Path:
    """Copy the warehouse file and its write-ahead log into ``folder`` without taking its lock. The copy is kept
    only when neither file changed while it was made: a state DuckDB recovers from, as after a crash."""
    if not source.exists():
        raise FileNotFoundError(f"No warehouse at {source}: run the pipeline (or `hotspots migrate`) first.")
    parts = [source, source.with_name(source.name + ".wal")]

    def stamps() -> list[tuple[int, int] | None]:
        found = []
        for part in parts:
            try:
                found.append((part.stat().st_size, part.stat().st_mtime_ns))
            except FileNotFoundError:
                found.append(None)
        return found

    for _ in range(COPY_ATTEMPTS):
        before = stamps()
        try:
            for part, stamp in zip(parts, before):
                (folder / part.name).unlink(missing_ok=True)
                if stamp is not None:
                    shutil.copyfile(part, folder / part.name)
        except FileNotFoundError:  # the log was checkpointed away mid-copy: try again
            continue
        if stamps() == before:
            return folder / source.name
    raise RuntimeError(
        f"{source} changed during each of {COPY_ATTEMPTS} copies: a pipeline step is writing it. Read the analyst "
        "snapshot instead (without --live), or try again when the step is done."
    )
