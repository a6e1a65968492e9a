"""Force records extracts: default columns, a force's own column names, Parquet, offence code mapping."""

from __future__ import annotations

import pandas as pd
import pytest

from hotspots.sources.force_records import ingest_force_records
from hotspots.validation.crime import offence_codes
from sources_fixtures import TO_WGS84, X0, Y0, insert_squares


def extract(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({
        "Ref": [f"R{i:04d}" for i in range(n)],
        "Committed": [f"{1 + i % 28:02d}/03/2024 {i % 24:02d}:30" for i in range(n)],
        "HO Code": ["034B", "8n", "10D", "105A"] * (n // 4),
        "Knife": ["Y", "N", "yes", ""] * (n // 4),
        "X": [X0 + 250 + 1000 * (i % 4) for i in range(n)],
        "Y": [Y0 + 750.0] * n,
    })


MAPPING = {"crime_reference": "Ref", "occurred_at": "Committed", "offence_code": "HO Code", "knife_flag": "Knife",
           "easting": "X", "northing": "Y"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_force_records_with_own_column_names(fmt, warehouse, settings, tmp_path):
    insert_squares(warehouse)
    path = tmp_path / f"rms_2024-03.{fmt}"
    frame = extract()
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path)
    counts = ingest_force_records(warehouse, force="test", path=path, settings=settings, columns=MAPPING)
    assert counts["rows_read"] == counts["rows_loaded"] == 40 and counts["knife_crimes"] == 20
    rows = warehouse.execute(
        "SELECT crime_type, offence_code, count(*), count(DISTINCT area_code) FROM stg_crimes GROUP BY ALL ORDER BY 2"
    ).fetchall()
    assert rows == [("Violence and sexual offences", "105A", 10, 1), ("Possession of weapons", "10D", 10, 1),
                    ("Robbery", "34B", 10, 1), ("Violence and sexual offences", "8N", 10, 1)]
    first = warehouse.execute(
        "SELECT occurred_at, month, area_code, knife_flag, round(lon, 3), source FROM stg_crimes WHERE crime_key = 'R0001'"
    ).fetchone()
    assert str(first[0]) == "2024-03-02 01:30:00" and str(first[1]) == "2024-03-01"  # day first, like UK exports
    assert first[2] == "E0100" + "10" and first[3] is False and first[4] == pytest.approx(TO_WGS84.transform(X0 + 1250, Y0 + 750)[0], abs=0.001)
    assert first[5] == "force_records"
    assert ingest_force_records(warehouse, force="test", path=path, settings=settings, columns=MAPPING) == counts
    assert warehouse.execute("SELECT count(*) FROM stg_crimes").fetchone()[0] == 40


def test_offence_code_table_is_complete():
    table = pd.read_csv("include/hotspots/data/offence_codes.csv", dtype=str)
    categories = set(pd.read_csv("include/hotspots/data/cchi_categories.csv")["crime_type"])
    assert 30 <= len(table) <= 60 and table["offence_code"].is_unique
    assert set(table["crime_type"]) <= categories
    assert table.set_index("offence_code").loc["1", "cchi_weight"] == "5475"
    assert offence_codes()["34B"] == "Robbery"
