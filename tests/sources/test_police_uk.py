"""data.police.uk street CSVs: finding files (file, archive folder, zip), placement by location, idempotency."""

from __future__ import annotations

import zipfile

import pytest
from sources_fixtures import good_rows, insert_squares, street_csv, street_row

from hotspots.sources.police_uk import crime_files, file_month, ingest_crime_file
from hotspots.validation.core import build_data_docs


def test_crime_files_from_file_folder_and_zip(tmp_path):
    archive = tmp_path / "archive"
    for month in ("2024-01", "2024-02"):
        for force in ("test", "other"):
            (archive / month).mkdir(parents=True, exist_ok=True)
            (archive / month / f"{month}-{force}-street.csv").write_text("x")
        (archive / month / f"{month}-test-outcomes.csv").write_text("x")
    assert [p.name for p in crime_files(archive, force="test")] == [
        "2024-01-test-street.csv",
        "2024-02-test-street.csv",
    ]
    assert len(crime_files(archive)) == 4
    single = archive / "2024-01" / "2024-01-test-street.csv"
    assert crime_files(single) == [single]
    zipped = tmp_path / "latest.zip"
    with zipfile.ZipFile(zipped, "w") as handle:
        for path in sorted(archive.rglob("*.csv")):
            handle.write(path, path.relative_to(archive).as_posix())
    extracted = crime_files(zipped, force="test", extract_to=tmp_path / "raw")
    assert [p.relative_to(tmp_path / "raw").as_posix() for p in extracted] == [
        "2024-01/2024-01-test-street.csv",
        "2024-02/2024-02-test-street.csv",
    ]
    assert all(p.read_text() == "x" for p in extracted)
    assert file_month(extracted[1]) == "2024-02"


def test_ingest_places_by_location_and_is_idempotent(warehouse, settings, tmp_path):
    insert_squares(warehouse)
    rows = good_rows(64) + [street_row(500, 2, 3, crime_type="Anti-social behaviour", crime_id="")] * 2
    path = tmp_path / "2024-02-test-street.csv"
    path.write_text(street_csv(rows))
    first = ingest_crime_file(warehouse, force="test", path=path, settings=settings)
    docs = settings.data_dir / "gx_docs"
    second = ingest_crime_file(warehouse, force="test", path=path, settings=settings, docs_dir=docs)
    assert first == second
    assert build_data_docs() and (docs / "index.html").exists()  # GX data docs, built once per task
    assert first["rows_read"] == first["rows_loaded"] == 66 and first["events_outside"] == 0
    assert warehouse.execute("SELECT count(*) FROM stg_crimes").fetchone()[0] == 66
    assert warehouse.execute("SELECT count(*) FROM validation_runs").fetchone()[0] == 1
    # good_rows puts row i in square (i % 4, (i // 4) % 4): 4 per square, +2 ASB in (2, 3);
    # the file's LSOA code is ignored
    per_area = dict(warehouse.execute("SELECT area_code, count(*) FROM stg_crimes GROUP BY 1").fetchall())
    assert per_area == {f"E0100{c}{r}": 4 + (2 if (c, r) == (2, 3) else 0) for c in range(4) for r in range(4)}
    assert warehouse.execute("SELECT count(DISTINCT file_lsoa_code) FROM stg_crimes").fetchone()[0] == 1
    keys = warehouse.execute(
        "SELECT count(DISTINCT crime_key), count(*) FILTER (WHERE crime_key LIKE 'h:%') FROM stg_crimes"
    ).fetchone()
    assert keys == (66, 2)  # anti-social behaviour rows get a key from file and row
    month, easting = warehouse.execute("SELECT month, easting FROM stg_crimes WHERE crime_key = 'id00000'").fetchone()
    assert str(month) == "2024-02-01" and abs(easting - 500_300) < 0.5  # round trip through WGS84, 6 decimals


def test_map_point_key_collision_fails_the_file_and_keeps_what_was_loaded(warehouse, settings, tmp_path):
    """A crime gets its point by a 64-bit hash key; a key that stands for another published point must fail the
    load, not move the crime. A real collision is too rare to find, so a stored point is altered to make one."""
    insert_squares(warehouse)
    path = tmp_path / "2024-02-test-street.csv"
    path.write_text(street_csv(good_rows(8)))
    ingest_crime_file(warehouse, force="test", path=path, settings=settings)
    before = warehouse.execute("SELECT * FROM stg_crimes ORDER BY source_row").fetchall()
    warehouse.execute(
        "UPDATE stg_crime_points SET location = 'On or near Elsewhere' WHERE point_key = "
        "(SELECT min(point_key) FROM stg_crime_points)"
    )
    altered = warehouse.execute("SELECT * FROM stg_crimes ORDER BY source_row").fetchall()
    with pytest.raises(RuntimeError, match=r"2024-02-test-street.csv: map point key \d+ .*stands for two different"):
        ingest_crime_file(warehouse, force="test", path=path, settings=settings)
    assert warehouse.execute("SELECT * FROM stg_crimes ORDER BY source_row").fetchall() == altered != before
    assert len(altered) == 8


def test_reader_keeps_file_order_and_quoted_newlines_across_blocks(tmp_path):
    """read_csv_table parses in parallel blocks of 4 MB: a quoted field holding a line break (allowed by RFC 4180)
    in a file of several blocks must not split its row, and source_row must follow the file's order."""
    from hotspots.sources.csvfile import read_csv_table
    from hotspots.validation.crime import POLICE_UK_COLUMNS

    rows = good_rows(150_000)
    for i in (5, 29_999, 44_444, 140_001):
        rows[i]["Location"] = f"On or near\nLine {i}, Bedford"
    path = tmp_path / "2024-02-test-street.csv"
    path.write_text(street_csv(rows))
    assert path.stat().st_size > 4 * (1 << 22)
    table = read_csv_table(path, POLICE_UK_COLUMNS)
    assert table.column("source_row").to_pylist() == list(range(1, 150_001))
    assert table.column("Crime ID").to_pylist() == [r["Crime ID"] for r in rows]
    assert table.column("Location").to_pylist()[44_444] == "On or near\nLine 44444, Bedford"
