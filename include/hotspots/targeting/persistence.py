"""Persistence classes of areas over years of harm: persistent, emerging, intermittent (or none), the idea of
sfhotspot's hotspot_classify applied to harm (sql/transform/persistence_classes.sql, docs/targeting.md).

Selection can require a class: HOTSPOTS_SELECTION_PERSISTENCE (e.g. persistent or persistent,emerging) makes
only areas of those classes selectable; selection.rank_areas builds the classes first for the ranking query.
"""

from __future__ import annotations

from datetime import date

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import read_sql

CLASSES = ("persistent", "emerging", "intermittent", "none")
TABLE = "selection_persistence"


def persistence_params(force: str, settings: Settings, end_month: date) -> dict:
    return {
        "force": force,
        "end_month": end_month,
        "years": settings.persistence_years,
        "crime_types": list(settings.crime_types),
        "weights": settings.harm_weights,
        "exclude_proactive": settings.exclude_proactive,
        "hot_share": settings.persistence_hot_share,
        "persistent_share": settings.persistence_persistent_share,
    }


def build_persistence(
    con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, end_month: date, empty: bool = False
) -> None:
    """The temporary table selection_persistence (area_code, ..., persistence) the ranking joins; ``empty``: the
    table without rows (no persistence rule, nothing to compute)."""
    if empty:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} (area_code VARCHAR, persistence VARCHAR)")
        return
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TABLE} AS " + read_sql("transform/persistence_classes", settings),
        persistence_params(force, settings, end_month),
    )


def classify(con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, end_month: date) -> dict:
    """Every area's class, with the count per class and the months of crime data inside the years classified."""
    from hotspots.harm import load_harm_weights

    load_harm_weights(con, settings)
    first = con.execute(
        "SELECT count(DISTINCT month) FROM counted_crimes WHERE force = ? AND month <= ? AND month > ? - to_months(?)",
        [force, end_month, end_month, 12 * settings.persistence_years],
    ).fetchone()[0]
    build_persistence(con, force=force, settings=settings, end_month=end_month)
    rows = con.execute(
        f"SELECT area_code, years_hot, hot_years_back, persistence FROM {TABLE} ORDER BY area_code"
    ).fetchall()
    con.execute(f"DROP TABLE {TABLE}")
    areas = [
        {"area_code": code, "years_hot": int(years), "hot_years_back": list(back), "persistence": cls}
        for code, years, back, cls in rows
    ]
    return {
        "force": force,
        "end_month": end_month.isoformat()[:7],
        "years": settings.persistence_years,
        "hot_share": settings.persistence_hot_share,
        "persistent_share": settings.persistence_persistent_share,
        "months_with_data": int(first),
        "counts": {cls: sum(a["persistence"] == cls for a in areas) for cls in CLASSES},
        "areas": areas,
    }
