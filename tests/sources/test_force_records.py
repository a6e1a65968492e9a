"""Force records extracts: default columns, a force's own column names, Parquet, offence code mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sources_fixtures import TO_WGS84, X0, Y0, insert_squares

from hotspots.sources.force_records import ingest_force_records
from hotspots.validation.crime import offence_codes


def extract(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Ref": [f"R{i:04d}" for i in range(n)],
            "Committed": [f"{1 + i % 28:02d}/03/2024 {i % 24:02d}:30" for i in range(n)],
            "HO Code": ["034B", "8n", "10D", "105A"] * (n // 4),
            "Knife": ["Y", "N", "yes", ""] * (n // 4),
            "X": [X0 + 250 + 1000 * (i % 4) for i in range(n)],
            "Y": [Y0 + 750.0] * n,
        }
    )


MAPPING = {
    "crime_reference": "Ref",
    "occurred_at": "Committed",
    "offence_code": "HO Code",
    "knife_flag": "Knife",
    "easting": "X",
    "northing": "Y",
}


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
    assert rows == [
        ("Violence and sexual offences", "105A", 10, 1),
        ("Possession of weapons", "10D", 10, 1),
        ("Robbery", "34B", 10, 1),
        ("Violence and sexual offences", "8N", 10, 1),
    ]
    first = warehouse.execute(
        "SELECT occurred_at, month, area_code, knife_flag, round(lon, 3), source FROM stg_crimes WHERE "
        "crime_key = 'R0001'"
    ).fetchone()
    assert str(first[0]) == "2024-03-02 01:30:00" and str(first[1]) == "2024-03-01"  # day first, like UK exports
    assert (
        first[2] == "E0100" + "10"
        and first[3] is False
        and first[4] == pytest.approx(TO_WGS84.transform(X0 + 1250, Y0 + 750)[0], abs=0.001)
    )
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


def test_repeated_reference_keeps_the_last_copy(warehouse, settings, tmp_path):
    """An RMS extract lists a record again when it is updated: the last copy of a crime_reference is loaded, the
    earlier ones are quarantined as duplicate_crime_id (docs/force_records.md)."""
    insert_squares(warehouse)
    frame = extract(40).rename(columns={v: k for k, v in MAPPING.items()})
    updates = frame.iloc[[3, 8, 8]].assign(offence_code=["5A", "34B", "10D"])  # R0008 twice: the 10D copy is last
    frame = pd.concat([frame, updates], ignore_index=True)
    path = tmp_path / "rms_2024-03.csv"
    frame.to_csv(path, index=False)
    counts = ingest_force_records(warehouse, force="test", path=path, settings=settings)
    assert counts["rows_loaded"] == 40 and counts["quarantined_by_reason"] == {"duplicate_crime_id": 3}
    kept = dict(
        warehouse.execute(
            "SELECT crime_key, offence_code || '@' || source_row FROM stg_crimes WHERE crime_key IN ('R0003', 'R0008')"
        ).fetchall()
    )
    assert kept == {"R0003": "5A@41", "R0008": "10D@43"}
    assert sorted(r[0] for r in warehouse.execute("SELECT source_row FROM quarantine").fetchall()) == [4, 9, 42]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_extract_of_several_row_groups_keeps_every_record_at_its_own_point(fmt, warehouse, settings, tmp_path):
    """300,000 records (more than two DuckDB row groups) at known points of the 16 squares, plus planted bad rows:
    every stored record has, joined by its reference, the longitude/latitude pyproj gives for its own easting and
    northing and the square it was put in; the quarantine holds exactly the planted rows."""
    from sources_fixtures import SIZE, code

    insert_squares(warehouse)
    n = 300_000
    i = np.arange(n)
    col, row = i % 4, (i // 4) % 4
    fx, fy = 0.05 + 0.9 * ((i * 0.6180339887) % 1), 0.05 + 0.9 * ((i * 0.4142135623) % 1)
    easting, northing = X0 + (col + fx) * SIZE, Y0 + (row + fy) * SIZE
    frame = pd.DataFrame(
        {
            "crime_reference": [f"BD/{k:07d}/24" for k in i],
            "occurred_at": [f"2024-03-{1 + k % 28:02d}T{k % 24:02d}:15:00" for k in range(28 * 24)] * (n // 672)
            + [f"2024-03-01T00:{k % 60:02d}:00" for k in range(n % 672)],
            "offence_code": np.array(["105A", "8N", "34B", "10D", "5A"])[i % 5],
            "knife_flag": np.where(i % 5 == 3, "Y", "N"),
            "easting": easting.round(2),
            "northing": northing.round(2),
            "location": "Street",
        }
    )
    bad = {
        "malformed_occurred_at": i % 401 == 1,
        "unknown_offence_code": i % 307 == 3,
        "missing_coordinates": i % 211 == 5,
        "degrees_in_grid_columns": i % 503 == 7,
        "outside_force_area": i % 701 == 9,
    }
    taken = np.zeros(n, dtype=bool)
    for reason in bad:
        bad[reason] &= ~taken
        taken |= bad[reason]
    frame.loc[bad["malformed_occurred_at"], "occurred_at"] = "yesterday"
    frame.loc[bad["unknown_offence_code"], "offence_code"] = "999Z"
    frame.loc[bad["missing_coordinates"], "easting"] = np.nan
    frame.loc[bad["degrees_in_grid_columns"], ["easting", "northing"]] = [-0.45, 52.13]
    frame.loc[bad["outside_force_area"], "easting"] += 50_000
    repeat = np.flatnonzero((i % 397 == 11) & ~taken)
    frame = pd.concat([frame, frame.iloc[repeat]], ignore_index=True)  # the later copy is kept
    path = tmp_path / f"rms_2024-03.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path)

    counts = ingest_force_records(warehouse, force="test", path=path, settings=settings)
    expected = {reason: int(mask.sum()) for reason, mask in bad.items()} | {"duplicate_crime_id": len(repeat)}
    assert counts["rows_read"] == len(frame) and counts["quarantined_by_reason"] == expected
    expected_rows = {(int(r) + 1, reason) for reason, mask in bad.items() for r in np.flatnonzero(mask)}
    expected_rows |= {(int(r) + 1, "duplicate_crime_id") for r in repeat}
    assert set(warehouse.execute("SELECT source_row, reason FROM quarantine").fetchall()) == expected_rows

    good = ~taken
    lon, lat = TO_WGS84.transform(easting[good].round(2), northing[good].round(2))
    truth = pd.DataFrame(
        {"lon": lon, "lat": lat, "area_code": [code(c, r) for c, r in zip(col[good], row[good])]},
        index=frame["crime_reference"].iloc[:n][good],
    )
    stored = pd.DataFrame(
        warehouse.execute("SELECT crime_key, lon, lat, area_code, source_row FROM stg_crimes").fetchall(),
        columns=["crime_key", "lon", "lat", "area_code", "source_row"],
    ).set_index("crime_key")
    assert len(stored) == len(truth) and set(stored.index) == set(truth.index)
    stored = stored.loc[truth.index]
    assert np.abs(stored["lon"].to_numpy() - truth["lon"].to_numpy()).max() < 1e-7
    assert np.abs(stored["lat"].to_numpy() - truth["lat"].to_numpy()).max() < 1e-7
    assert (stored["area_code"].to_numpy() == truth["area_code"].to_numpy()).all()
    assert set(stored.loc[frame["crime_reference"].iloc[repeat], "source_row"]) == set(n + 1 + np.arange(len(repeat)))
