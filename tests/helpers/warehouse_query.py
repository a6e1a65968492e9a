"""Rows of a run's warehouse for assertions: opened read-only and closed again after each query."""

from __future__ import annotations


def rows_of(settings, sql: str, params=(), path=None) -> list[tuple]:
    """Rows of sql on the warehouse file (or on path, another copy), read-only."""
    from hotspots.warehouse import connect

    con = connect(path or settings.warehouse_path, read_only=True, settings=settings)
    try:
        return con.execute(sql, list(params or [])).fetchall()
    finally:
        con.close()
