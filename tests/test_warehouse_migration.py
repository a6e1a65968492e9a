"""A warehouse made when stg_crimes was one table is moved into stg_crime_files/points/records on open."""

from __future__ import annotations

from datetime import datetime

from warehouse_rows import CRIME_COLUMNS

from hotspots.warehouse import apply_schema, connect

ROWS = """
SELECT force, 'police_uk', CASE WHEN id = '' THEN 'h:' || md5(file || ':' || row::VARCHAR) ELSE id END, DATE '2024-01-01',
       NULL, kind, NULL, NULL, lon, lat, e, n, loc, lsoa, area, file, row, TIMESTAMP '2024-02-03 04:05:06'
FROM (VALUES
    ('north', 'a1', 'Robbery', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000001', 'A', 'f1.csv', 1),
    ('north', '', 'Anti-social behaviour', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000001', 'A', 'f1.csv', 2),
    ('north', 'a3', 'Robbery', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'f1.csv', 3),
    ('north', 'a4', 'Robbery', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000009', 'A', 'f2.csv', 1),
    ('north', 'a5', 'Burglary', -0.2, 51.6, 520000.0, 190000.0, NULL, NULL, NULL, 'f2.csv', 2),
    ('south', 'b1', 'Robbery', -0.1, 51.5, 530000.0, 180000.0, 'On or near High Street', 'E01000001', 'S', 'f1.csv', 1)
) t(force, id, kind, lon, lat, e, n, loc, lsoa, area, file, row)
"""


def test_old_stg_crimes_table_is_migrated_once_with_every_row(settings):
    con = connect(settings=settings)
    con.execute(f"CREATE TABLE stg_crimes ({CRIME_COLUMNS})")
    con.execute("INSERT INTO stg_crimes " + ROWS)
    before = con.execute("SELECT * FROM stg_crimes ORDER BY force, source_file, source_row").fetchall()

    apply_schema(con, settings)
    apply_schema(con, settings)  # the second open finds the view and does nothing more

    kinds = dict(con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_name LIKE 'stg_crime%'").fetchall())
    assert kinds == {"stg_crimes": "VIEW", "stg_crime_files": "BASE TABLE", "stg_crime_points": "BASE TABLE",
                     "stg_crime_records": "BASE TABLE"}
    after = con.execute("SELECT * FROM stg_crimes ORDER BY force, source_file, source_row").fetchall()
    assert after == before and len(after) == 6
    assert after[0][-1] == datetime(2024, 2, 3, 4, 5, 6)
    # Three files (north f1, f2; south f1); points are shared within a force only, and an LSOA code that
    # differs makes another point: north has 4 (High St twice, no location, Burglary's point), south 1.
    assert con.execute("SELECT count(*) FROM stg_crime_files").fetchone()[0] == 3
    assert dict(con.execute("SELECT force, count(*) FROM stg_crime_points GROUP BY 1").fetchall()) == {"north": 4, "south": 1}
    assert con.execute("SELECT count(*) FILTER (WHERE crime_id IS NULL) FROM stg_crime_records").fetchone()[0] == 1
    con.close()
