"""Hand-built areas and crimes for the targeting tests (ranking ignores geometry)."""

from __future__ import annotations

from warehouse_rows import insert_crimes

from hotspots.selection import month_start

FORCE = "testforce"
V, R = "Violence and sexual offences", "Robbery"


def add_areas(con, codes, force=FORCE):
    for i, code in enumerate(codes):
        con.execute(
            "INSERT INTO stg_areas (force, area_code, area_name, geom, area_m2) "
            "VALUES (?, ?, ?, ST_MakeEnvelope(?, 0, ?, 100), 10000)",
            [force, code, f"Area {code}", i * 100.0, i * 100.0 + 100],
        )


def add_crimes(con, rows, force=FORCE):
    """rows: (area_code, 'YYYY-MM', crime_type, count[, offence_code])."""
    start = con.execute("SELECT count(*) FROM stg_crimes").fetchone()[0]
    n = start
    for area, month, crime_type, times, *code in rows:
        for _ in range(times):
            n += 1
            insert_crimes(
                con,
                "INSERT INTO stg_crimes (force, source, crime_key, month, crime_type, offence_code, area_code, "
                "source_file, source_row) VALUES (?, 'police_uk', ?, ?, ?, ?, ?, 'test.csv', ?)",
                [force, f"k{n}", month_start(month), crime_type, code[0] if code else None, area, n],
            )
