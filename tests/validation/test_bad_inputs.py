"""Every case of the bad-input corpus (tests/helpers/bad_input_cases.py) through its loader: a clear InputFileError
(naming the file and column) or rows quarantined with a reason; rows read = rows loaded + rows quarantined."""

from __future__ import annotations

import pytest
from bad_input_cases import CASES, Case
from sources_fixtures import insert_squares, square_areas

from hotspots.validation.core import InputFileError


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, warehouse, settings, tmp_path):
    from hotspots.sources.areas import load_areas
    from hotspots.sources.force_records import ingest_force_records
    from hotspots.sources.police_uk import ingest_crime_file

    if case.kind != "areas":
        insert_squares(warehouse)
    path = case.build(tmp_path)
    run = {
        "police_uk": lambda: ingest_crime_file(warehouse, force="test", path=path, settings=settings),
        "force_records": lambda: ingest_force_records(warehouse, force="test", path=path, settings=settings),
        "areas": lambda: load_areas(warehouse, force="test", path=path, settings=settings),
    }[case.kind]
    if case.error:
        with pytest.raises(InputFileError, match=case.error) as raised:
            run()
        assert path.name in str(raised.value) or str(path.parent) in str(raised.value)
        if case.kind != "areas":
            assert warehouse.execute("SELECT count(*) FROM stg_crimes").fetchone()[0] == 0
        return
    counts = run()
    assert counts["quarantined_by_reason"] == case.quarantined
    assert counts["rows_read"] == counts["rows_loaded"] + counts["rows_quarantined"]
    stored = dict(
        warehouse.execute(
            "SELECT reason, count(*) FROM quarantine WHERE source_file = ? GROUP BY 1", [path.name]
        ).fetchall()
    )
    assert stored == case.quarantined
    run_row = warehouse.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM validation_runs WHERE source_file = ?", [path.name]
    ).fetchone()
    assert run_row == (counts["rows_read"], counts["rows_loaded"], counts["rows_quarantined"])
    if case.check:
        case.check(warehouse, counts)


def test_shapefile_without_prj_loads_with_source_crs(warehouse, settings, tmp_path, monkeypatch):
    from hotspots.settings import reload_settings
    from hotspots.sources.areas import load_areas

    path = tmp_path / "areas.shp"
    square_areas().to_file(path, driver="ESRI Shapefile")
    path.with_suffix(".prj").unlink()
    monkeypatch.setenv("HOTSPOTS_SOURCE_CRS", "EPSG:27700")
    counts = load_areas(warehouse, force="test", path=path, settings=reload_settings())
    assert counts["rows_loaded"] == 16
    assert warehouse.execute("SELECT round(sum(area_m2)) FROM stg_areas").fetchone()[0] == 16_000_000


def test_corpus_is_large_enough():
    assert len(CASES) >= 15
