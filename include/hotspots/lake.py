"""Moving a DuckDB-file warehouse into the DuckLake (`hotspots migrate-to-lake`): every table copied in one
transaction, then checked equal row for row (EXCEPT ALL both ways)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb

from hotspots.settings import Settings, resolve_settings
from hotspots.warehouse import (
    LAKE,
    apply_schema,
    attach_lake,
    connect,
    models_hash,
    recorded_version,
    transaction,
)

log = logging.getLogger(__name__)
SOURCE = "duckdb_file"


class MigrationRefused(RuntimeError):
    """The file or the lake is not in a state to move (not migrated, already holding rows): nothing was written."""


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
            "AND NOT temporary ORDER BY table_name",
            [database],
        ).fetchall()
    ]


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
            "AND table_name = ? ORDER BY column_index",
            [database, table],
        ).fetchall()
    ]


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0])


def rows_differ(con: duckdb.DuckDBPyConnection, left: str, right: str, columns: list[str]) -> tuple[int, int]:
    """(rows of ``left`` missing from ``right``, rows of ``right`` missing from ``left``), as multisets."""
    listed = ", ".join(f'"{c}"' for c in columns)
    missing = _count(con, f"SELECT count(*) FROM (SELECT {listed} FROM {left} EXCEPT ALL SELECT {listed} FROM {right})")
    extra = _count(con, f"SELECT count(*) FROM (SELECT {listed} FROM {right} EXCEPT ALL SELECT {listed} FROM {left})")
    return missing, extra


def migrate_to_lake(source: Path | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Copy every table of the DuckDB warehouse ``source`` (default settings.warehouse_path) into the lake of
    settings.lake_catalog / lake_data_path, which gets this checkout's models first; the lake must hold no rows
    yet. Returns per table the rows moved; raises MigrationRefused, or RuntimeError when a table differs."""
    settings = resolve_settings(settings)
    source = Path(source or settings.warehouse_path)
    if not source.is_file():
        raise MigrationRefused(f"{source}: no DuckDB warehouse there (give --from PATH).")
    con = connect(":memory:", settings=settings)
    try:
        con.execute(f"ATTACH '{str(source).replace(chr(39), chr(39) * 2)}' AS {SOURCE} (READ_ONLY)")
        con.execute(f"USE {SOURCE}")
        if recorded_version(con) != models_hash(settings):
            raise MigrationRefused(
                f"{source}: its schema ({recorded_version(con) or 'never migrated'}) is not this checkout's sql/ "
                "models: run `hotspots migrate` on it (HOTSPOTS_WAREHOUSE_CATALOG=duckdb) first."
            )
        attach_lake(con, settings)
        if recorded_version(con) != models_hash(settings):
            apply_schema(con, settings)
        tables = [t for t in _tables(con, SOURCE) if t != "schema_version"]
        missing = sorted(set(tables) - set(_tables(con, LAKE)))
        if missing:
            raise MigrationRefused(f"{source}: tables {missing} are not in this checkout's models; nothing moved.")
        holding = [t for t in tables if _count(con, f'SELECT count(*) FROM {LAKE}.main."{t}"')]
        if holding:
            raise MigrationRefused(
                f"the lake {settings.lake_catalog} already holds rows in {holding}: move into an empty lake "
                "(a new catalog and data path); nothing moved."
            )
        moved: dict[str, int] = {}
        with transaction(con):
            for table in tables:
                listed = ", ".join(f'"{c}"' for c in _columns(con, SOURCE, table))
                con.execute(
                    f'INSERT INTO {LAKE}.main."{table}" ({listed}) SELECT {listed} FROM {SOURCE}.main."{table}"'
                )
                moved[table] = _count(con, f'SELECT count(*) FROM {SOURCE}.main."{table}"')
        unequal = {}
        for table in tables:
            columns = _columns(con, SOURCE, table)
            differ = rows_differ(con, f'{SOURCE}.main."{table}"', f'{LAKE}.main."{table}"', columns)
            if differ != (0, 0):
                unequal[table] = differ
        if unequal:
            raise RuntimeError(
                f"after the move these tables differ (rows only in the file, rows only in the lake): {unequal}. "
                "Keep using the DuckDB file and report this."
            )
    finally:
        con.close()
    log.info("moved %s into the lake %s: %d tables, every one equal", source, settings.lake_catalog, len(moved))
    return {"from": str(source), "lake": settings.lake_catalog, "tables": moved, "equal": True}


# The marts a run derives, compared between two runs of the same inputs (single writer, parallel writers).
COMPARED_MARTS = ("selections", "hotspot_ranking", "daily_patrol", "feed_hours", "daily_compliance", "alerts")
RUN_SPECIFIC = ("slack_", "email_", "file_")  # column prefixes of delivery and outbox bookkeeping


def compared_columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    """The columns of a mart two runs must agree on: all but timestamps and delivery bookkeeping."""
    return [
        name
        for name, data_type in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
            "AND table_name = ? ORDER BY column_index",
            [database, table],
        ).fetchall()
        if not data_type.startswith("TIMESTAMP") and not name.startswith(RUN_SPECIFIC)
    ]


def marts_differences(con: duckdb.DuckDBPyConnection, left: str, right: str) -> dict[str, tuple[int, int]]:
    """Per compared mart, (rows only in ``left``, rows only in ``right``) of two attached warehouses; all zero
    when the two runs agree row for row."""
    found = {}
    for table in COMPARED_MARTS:
        columns = compared_columns(con, left, table)
        found[table] = rows_differ(con, f'{left}.main."{table}"', f'{right}.main."{table}"', columns)
    return found
