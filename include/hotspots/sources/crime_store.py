"""The crime tables' loader internals: rows appended to stg_crime_files/points/records, point keys checked."""

from __future__ import annotations

import logging
from typing import Callable

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import read_sql

log = logging.getLogger(__name__)


def append_crime_rows(con: duckdb.DuckDBPyConnection, relation: str, settings: Settings | None = None) -> int:
    """Append the rows of ``relation`` (columns of the view stg_crimes, area_code as given, not placed) to the
    crime tables (sql/transform/append_crime_keys.sql, then append_crime_rows.sql); returns the number of rows.
    The caller holds the transaction."""
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
            f"{what}: map point key {collisions[0][0]} (crime_point_key) stands for two different published "
            "points; nothing was loaded. This 64-bit hash collision is expected about once in 10^7 force "
            "lifetimes: please report it with the file."
        )


def migrate_legacy_stg_crimes(
    con: duckdb.DuckDBPyConnection, apply_models: Callable[[], None], settings: Settings | None
) -> bool:
    """A warehouse whose stg_crimes is still a table (before it was split into files, points and records): rename
    it, apply the models (``apply_models()``), move its rows into the new tables and drop it. The caller holds the
    transaction. False when there is nothing to move."""
    legacy = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stg_crimes' AND schema_name = 'main' "
        "AND NOT temporary"
    ).fetchone()[0]
    if not legacy:
        return False
    con.execute("ALTER TABLE stg_crimes RENAME TO stg_crimes_legacy")
    apply_models()
    rows = append_crime_rows(con, "stg_crimes_legacy", settings)
    con.execute("DROP TABLE stg_crimes_legacy")
    log.info("warehouse: moved %d crimes from the old stg_crimes table into stg_crime_files/points/records", rows)
    return True


def widen_crime_file_ids(con: duckdb.DuckDBPyConnection) -> bool:
    """A warehouse whose stg_crime_files/stg_crime_records.file_id is still INTEGER (keys were max + 1): rebuild
    both tables with BIGINT keys (crime_file_key values need 63 bits), keeping every row and key; the models
    applied next restore their comments. The caller holds the transaction. False when there is nothing to do."""
    narrow = [
        table
        for (table,) in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name IN ('stg_crime_files', 'stg_crime_records') "
            "AND column_name = 'file_id' AND data_type = 'INTEGER'"
        ).fetchall()
    ]
    for table in narrow:
        con.execute(f"CREATE TABLE {table}_wide AS SELECT * REPLACE (file_id::BIGINT AS file_id) FROM {table}")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_wide RENAME TO {table}")
    if narrow:
        log.info("warehouse: file_id of %s widened to BIGINT (crime_file_key)", ", ".join(sorted(narrow)))
    return bool(narrow)
