"""The warehouse and its doors: open_warehouse (the writer), open_snapshot (read-only, never blocking a writer),
transaction, and migrate (the sql/ models applied, as an explicit step).

settings.warehouse_catalog chooses where it lives: one DuckDB file (one writer at a time), or a DuckLake (catalog
in a DuckDB file or PostgreSQL, data in Parquet under a folder or s3://), which connect ATTACHes as ``lake`` and
USEs, so the same sql/ files and code serve both. Writers of a lake run in parallel across forces; writer_lock
serialises one force's steps and retry_conflicts re-runs a step whose commit lost a conflict
(docs/operations.md#national-deployment)."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import inspect
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import duckdb

from hotspots.settings import Settings, resolve_settings

log = logging.getLogger(__name__)

SCHEMA_LAYERS = ("staging", "marts")
COPY_ATTEMPTS = 5
LAKE = "lake"  # the name a DuckLake catalog is attached under (and USEd)
STEP_ATTEMPTS = 5  # runs of a whole step whose commit lost a conflict DuckLake could not settle itself
# DuckLake stores no column comments on views: these statements are skipped on a lake (docs come from DuckDB).
VIEW_COLUMN_COMMENT = re.compile(r"^\s*COMMENT\s+ON\s+COLUMN\s+(\w+)\.", re.IGNORECASE | re.MULTILINE)
VIEW_CREATED = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(\w+)", re.IGNORECASE | re.MULTILINE)
T = TypeVar("T")


class WarehouseBehind(RuntimeError):
    """The warehouse was migrated to other sql/ models than this checkout's: `hotspots migrate` first."""


def extension_file(name: str) -> Path:
    """Path of <name>.duckdb_extension shipped by the duckdb-extension-<name> wheel for this duckdb."""
    import importlib

    module = importlib.import_module(f"duckdb_extension_{name}")
    root = Path(module.__file__).parent / "extensions"
    wanted = root / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if wanted.exists():
        return wanted
    found = sorted(root.glob(f"*/{name}.duckdb_extension"))
    raise RuntimeError(
        f"No {name} extension for duckdb {duckdb.__version__} under {root} (found: {[str(p) for p in found]}). "
        f"Install duckdb-extension-{name} with the same version as duckdb (see constraints.txt)."
    )


def spatial_extension_file(settings: Settings | None = None) -> Path:
    """Path of spatial.duckdb_extension: settings.spatial_extension_path, else the duckdb-extension-spatial wheel's."""
    settings = resolve_settings(settings)
    if settings.spatial_extension_path:
        return Path(settings.spatial_extension_path)
    return extension_file("spatial")


def load_extension(con: duckdb.DuckDBPyConnection, name: str, settings: Settings | None = None) -> None:
    """Load one extension (spatial, ducklake, postgres, httpfs) from local files, never the network: the copy in
    the connection's extension directory when there is one, else the wheel's. Spatial, which every warehouse
    loads, is loaded from the wheel's file by its one path rather than installed as a fresh copy per warehouse:
    a process opening many warehouses (the tests, in-process CLI runs) would map each copy anew (77 MB file,
    ~42 MB resident each, never unmapped). The others are installed (their file names differ from their entry
    points, e.g. postgres_scanner)."""
    try:
        con.execute(f"LOAD {name}")
    except duckdb.Error:
        if name == "spatial":
            con.execute(f"LOAD '{spatial_extension_file(settings)}'")
            return
        con.install_extension(str(extension_file(name)))
        con.execute(f"LOAD {name}")


def load_spatial(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> None:
    """Load the spatial extension from local files, never the network (load_extension)."""
    load_extension(con, "spatial", settings)


def on_lake(settings: Settings | None = None) -> bool:
    """True when the warehouse is a DuckLake (settings.warehouse_catalog)."""
    return resolve_settings(settings).warehouse_catalog == "ducklake"


def connect(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    settings: Settings | None = None,
    as_of: datetime | str | None = None,
) -> duckdb.DuckDBPyConnection:
    """The warehouse (default), or one DuckDB file ``path``, with the house configuration and spatial loaded. On
    a lake (settings.warehouse_catalog = ducklake) the warehouse is the attached DuckLake, read at the snapshot
    committed at ``as_of`` when given. The pipeline opens it through the doors below; tests inspecting a file
    use this."""
    settings = resolve_settings(settings)
    warehouse = path is None or Path(path) == Path(settings.warehouse_path)
    if as_of is not None and not (warehouse and on_lake(settings)):
        raise ValueError("as_of needs the DuckLake warehouse (HOTSPOTS_WAREHOUSE_CATALOG=ducklake).")
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
    if warehouse and on_lake(settings):
        ext_dir.mkdir(parents=True, exist_ok=True)
        config["extension_directory"] = str(ext_dir)
        if as_of is None and not settings.lake_catalog.startswith("postgres:"):
            return _shared_lake_cursor(settings, config)
        con = duckdb.connect(":memory:", config=config)
        load_spatial(con, settings)
        attach_lake(con, settings, read_only=read_only, as_of=as_of)
        return con
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    load_spatial(con, settings)
    return con


class LakeCursor:
    """A connection to a lake whose catalog is a DuckDB file: a cursor of the one DuckDB instance per process that
    holds the catalog attached (DuckDB lets one instance of a process open a file). Its own transactions and temp
    tables; the instance closes with its last cursor."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, key: tuple[str, str]) -> None:
        self._cursor, self._key, self._closed = cursor, key, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __enter__(self) -> "LakeCursor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cursor.close()
        with _shared_guard:
            base, users = _shared[self._key]
            if users == 1:
                del _shared[self._key]
                base.close()
            else:
                _shared[self._key] = (base, users - 1)


_shared: dict[tuple[str, str], tuple[duckdb.DuckDBPyConnection, int]] = {}
_shared_guard = threading.Lock()


def _shared_lake_cursor(settings: Settings, config: dict[str, str]) -> Any:
    key = (str(settings.lake_catalog), str(settings.lake_data_path))
    with _shared_guard:
        base, users = _shared.get(key, (None, 0))
        if base is None:
            base = duckdb.connect(":memory:", config=config)
            load_spatial(base, settings)
            attach_lake(base, settings)
        _shared[key] = (base, users + 1)
        cursor = base.cursor()
    _lake_session(cursor, settings)
    return LakeCursor(cursor, key)


def _lake_session(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """A lake connection's own settings: DuckLake's retries raised (its 10 run out with a few writers,
    ducklake#233), the lake as default database."""
    con.execute(f"SET ducklake_max_retry_count = {int(settings.lake_commit_retries)}")
    con.execute("SET ducklake_retry_wait_ms = 100")
    con.execute("SET ducklake_retry_backoff = 1.5")
    con.execute(f"USE {LAKE}")


def lake_attach_sql(settings: Settings, *, alias: str = LAKE, read_only: bool = False, as_of: Any = None) -> str:
    """The ATTACH statement of the lake: its catalog, DATA_PATH, and READ_ONLY / SNAPSHOT_TIME when asked."""
    options = [f"DATA_PATH {_quoted(settings.lake_data_path)}"]
    if read_only:
        options.append("READ_ONLY")
    if as_of is not None:  # a time without a zone is UTC, as every timestamp the pipeline stores
        stamp = datetime.fromisoformat(str(as_of)) if not isinstance(as_of, datetime) else as_of
        stamp = stamp.replace(tzinfo=timezone.utc) if stamp.tzinfo is None else stamp.astimezone(timezone.utc)
        options.append(f"SNAPSHOT_TIME {_quoted(stamp.isoformat(sep=' '))}")
    return f"ATTACH {_quoted('ducklake:' + settings.lake_catalog)} AS {alias} ({', '.join(options)})"


def attach_lake(
    con: duckdb.DuckDBPyConnection, settings: Settings, *, read_only: bool = False, as_of: Any = None
) -> None:
    """ATTACH the DuckLake as ``lake`` and USE it: extensions from their wheels, S3 credentials from the Airflow
    connection settings.lake_s3_conn_id for an s3:// data path, DuckLake's commit retries raised."""
    load_extension(con, "ducklake", settings)
    if settings.lake_catalog.startswith("postgres:"):
        load_extension(con, "postgres", settings)
    else:
        Path(settings.lake_catalog).parent.mkdir(parents=True, exist_ok=True)
    if settings.lake_data_path.startswith("s3://"):
        load_extension(con, "httpfs", settings)
        _s3_secret(con, settings)
    elif not read_only:
        Path(settings.lake_data_path).mkdir(parents=True, exist_ok=True)
    con.execute(lake_attach_sql(settings, read_only=read_only, as_of=as_of))
    _lake_session(con, settings)


def _s3_secret(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """A temporary DuckDB S3 secret from the Airflow connection (type aws): login = key id, password = secret,
    extra endpoint_url (an S3-compatible server) and region_name."""
    from urllib.parse import urlparse

    from hotspots.alerts.targets import _get_connection

    conn = _get_connection(settings.lake_s3_conn_id)
    if conn is None:
        raise RuntimeError(
            f"lake_data_path {settings.lake_data_path} is on S3 but Airflow connection {settings.lake_s3_conn_id!r} "
            "is not defined: add it (type aws; login, password, extra endpoint_url and region_name)."
        )
    extra = conn.extra_dejson or {}
    parts = [f"KEY_ID {_quoted(conn.login or '')}", f"SECRET {_quoted(conn.password or '')}"]
    parts.append(f"REGION {_quoted(extra.get('region_name', 'us-east-1'))}")
    if extra.get("endpoint_url"):
        endpoint = urlparse(extra["endpoint_url"])
        parts += [f"ENDPOINT {_quoted(endpoint.netloc)}", "URL_STYLE 'path'"]
        parts.append(f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}")
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET hotspots_lake_s3 (TYPE s3, {', '.join(parts)})")


def _quoted(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


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
def open_snapshot(
    settings: Settings | None = None, *, live: bool = False, as_of: datetime | str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The reader's door, read-only and never blocking a pipeline step. A DuckDB file: the analyst snapshot, or
    with ``live`` a private copy of the warehouse as it is now (removed on close). A lake: a committed snapshot,
    read in place and pinned for the connection's life (the newest, or the one committed at ``as_of``); a
    reader never sees half a partition, since each partition is replaced in one transaction."""
    settings = resolve_settings(settings)
    if on_lake(settings):
        with lake_reader(settings, as_of=as_of, tracks=live) as con:
            yield con
        return
    if as_of is not None:
        raise ValueError(
            "--as-of reads a DuckLake snapshot: the warehouse is a DuckDB file (HOTSPOTS_WAREHOUSE_CATALOG=duckdb), "
            "which keeps no history. Query the analyst snapshot without --as-of."
        )
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
def lake_reader(
    settings: Settings, *, as_of: datetime | str | None = None, tracks: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on committed lake snapshots (the one committed at ``as_of`` when given). Without
    ``tracks`` (the analysts' door) it is pinned to one snapshot by a transaction held for its life and USEs an
    in-memory database of views on the snapshot's tables and views, per-device data left out as in the DuckDB
    snapshot (hotspots.privacy.analyst_views)."""
    from hotspots.privacy import analyst_views

    con = connect(settings=settings, read_only=True, as_of=as_of)
    try:
        if not tracks:  # the live door (tracks) runs pipeline reads, which open transactions of their own
            analyst_views(con, LAKE)
            con.execute("BEGIN TRANSACTION")
        yield con
    finally:
        con.close()


def lake_snapshot_id(con: duckdb.DuckDBPyConnection) -> int:
    """The newest committed snapshot of the attached lake."""
    return int(con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchone()[0])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    try:
        con.execute("COMMIT")
    except duckdb.Error as exc:  # a lake commit that lost a conflict DuckLake could not settle: nothing written
        log.warning("warehouse commit failed, nothing of the transaction was written: %s", exc)
        raise


def is_commit_conflict(exc: BaseException) -> bool:
    """A lake commit conflict: DuckDB's TransactionException, or an error naming a conflict or serialization
    failure (the PostgreSQL catalog's words, SQLSTATE 40001, whatever the server's language: ducklake#1311)."""
    if isinstance(exc, duckdb.TransactionException):
        return True
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and any(w in text for w in ("conflict", "serializ", "40001", "40p01"))


def retry_conflicts(step: Callable[[], T], what: str, settings: Settings | None = None) -> T:
    """Run ``step`` (an idempotent pipeline step: a rerun replaces its partition); when its commit loses a
    conflict, log it and run it again after a backoff (0.5 s doubling, jittered, at most 30 s), STEP_ATTEMPTS
    times at most, then raise."""
    for attempt in range(1, STEP_ATTEMPTS + 1):
        try:
            return step()
        except duckdb.Error as exc:
            if not is_commit_conflict(exc) or attempt == STEP_ATTEMPTS:
                raise
            wait = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random())
            log.warning(
                "%s: commit conflict (attempt %d of %d), again in %.1f s: %s", what, attempt, STEP_ATTEMPTS, wait, exc
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


def writer_step(step: Callable[..., T]) -> Callable[..., T]:
    """A pipeline step that writes the warehouse: run under the writer lock of its ``force`` argument (steps
    without one, e.g. alert delivery, lock their own name), and again after a commit conflict (retry_conflicts).
    Steps of different forces run in parallel on a lake; one force's steps never overlap."""
    signature = inspect.signature(step)

    @functools.wraps(step)
    def run(*args: Any, **kwargs: Any) -> T:
        bound = signature.bind(*args, **kwargs)
        key = str(bound.arguments.get("force") or step.__name__)
        settings = resolve_settings(bound.arguments.get("settings"))
        with writer_lock(key, settings):
            return retry_conflicts(lambda: step(*args, **kwargs), f"{step.__name__}({key})", settings)

    return run


_held = threading.local()  # per thread: key -> depth of writer_lock


@contextmanager
def writer_lock(key: str, settings: Settings | None = None) -> Iterator[None]:
    """Serialise the writer steps of one key (a force, or a step spanning forces such as alert delivery) across
    threads, processes and hosts: a PostgreSQL advisory lock on the catalog's server when the lake's catalog is
    there, else an flock on lock_dir/<key>.lock. Re-entrant within a thread; released when the holder dies."""
    settings = resolve_settings(settings)
    depth = getattr(_held, "depth", None)
    if depth is None:
        depth = _held.depth = {}
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    with _lock(key, settings):
        depth[key] = 1
        try:
            yield
        finally:
            depth.pop(key, None)


@contextmanager
def _lock(key: str, settings: Settings) -> Iterator[None]:
    started = time.monotonic()
    if on_lake(settings) and settings.lake_catalog.startswith("postgres:"):
        import psycopg2

        conn = psycopg2.connect(settings.lake_catalog.removeprefix("postgres:"))
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"hotspots-writer:{key}"])
            _log_wait(key, started)
            yield
        finally:
            conn.close()  # the session's advisory lock goes with it
        return
    folder = Path(settings.lock_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _log_wait(key, started)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_wait(key: str, started: float) -> None:
    waited = time.monotonic() - started
    if waited > 1:
        log.info("writer lock %s taken after %.1f s", key, waited)


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
        "warehouse": f"ducklake:{settings.lake_catalog}" if on_lake(settings) else str(settings.warehouse_path),
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
    from hotspots.sources.crime_store import migrate_legacy_stg_crimes, widen_crime_file_ids

    settings = resolve_settings(settings)
    with transaction(con):
        widen_crime_file_ids(con)
        if not migrate_legacy_stg_crimes(con, lambda: _apply_models(con, settings), settings):
            _apply_models(con, settings)
        con.execute("DELETE FROM schema_version")
        con.execute(
            "INSERT INTO schema_version VALUES (?, ?)",
            [models_hash(settings), datetime.now(timezone.utc).replace(tzinfo=None)],
        )


def _apply_models(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    lake = on_lake(settings) and con.execute("SELECT current_database()").fetchone()[0] == LAKE
    views: set[str] = set()
    for sql_file in model_files(settings):
        try:
            if lake:
                _apply_on_lake(con, sql_file.read_text(), views)
            else:
                con.execute(sql_file.read_text())
        except duckdb.Error as exc:
            raise RuntimeError(f"Applying {sql_file} failed: {exc}") from exc


def _apply_on_lake(con: duckdb.DuckDBPyConnection, text: str, views: set[str]) -> None:
    """A model file's statements one by one, less COMMENT ON COLUMN of a view (DuckLake stores none); ``views``:
    the views the models created so far (a failed statement would abort the migration's transaction)."""
    for statement in duckdb.extract_statements(text):
        created = VIEW_CREATED.search(statement.query)
        if created:
            views.add(created.group(1).lower())
        commented = VIEW_COLUMN_COMMENT.search(statement.query)
        if commented and commented.group(1).lower() in views:
            continue
        con.execute(statement.query)


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> list[dict[str, Any]]:
    """The rows of a query as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def read_sql(name: str, settings: Settings | None = None) -> str:
    """Text of sql/<name>.sql, e.g. read_sql('transform/daily_compliance')."""
    return (Path(resolve_settings(settings).sql_dir) / f"{name}.sql").read_text()


def publish_snapshot(settings: Settings | None = None) -> Path | str:
    """Publish the read-only analyst snapshot, atomically (readers never see a torn file): a copy of the warehouse
    without per-device data (hotspots.privacy.without_tracks), rewritten so no removed byte stays in the file.
    On a lake nothing is copied: every commit is a snapshot analysts read in place; this names the newest."""
    from hotspots.privacy import without_tracks

    settings = resolve_settings(settings)
    if on_lake(settings):
        with connect(settings=settings, read_only=True) as con:
            snapshot = lake_snapshot_id(con)
        log.info(
            "Analysts read the lake %s in place, now at snapshot %d (nothing copied)", settings.lake_catalog, snapshot
        )
        return f"ducklake:{settings.lake_catalog}@{snapshot}"
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
