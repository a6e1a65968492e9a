"""Area sets and row order: a force's area files load together; nothing is paired by position above one row group."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from hotspots.sources.areas import load_areas, transform_points
from hotspots.validation.core import InputFileError

ROW_GROUP = 122_880


def test_transform_points_keeps_each_point_with_its_row(warehouse):
    """The issue's case: 1,000,000 ascending longitudes came back with 235 inversions."""
    n = 1_000_000
    lon = pd.Series(np.linspace(-1.0, 0.0, n), index=np.arange(n) * 3 + 5)  # a non-default index is kept
    lat = pd.Series(np.full(n, 52.0), index=lon.index)
    lon.iloc[[10, 500_000]] = np.nan  # missing coordinates stay missing, in their rows
    x, y = transform_points(warehouse, lon, lat, source="EPSG:4326", target="EPSG:27700")
    assert list(x.index) == list(lon.index)
    assert x.isna().to_numpy().nonzero()[0].tolist() == [10, 500_000]
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon.to_numpy(), lat.to_numpy())
    ok = lon.notna().to_numpy()
    np.testing.assert_allclose(x.to_numpy()[ok], ex[ok], atol=0.01)
    np.testing.assert_allclose(y.to_numpy()[ok], ey[ok], atol=0.01)
    assert (np.diff(x.dropna().to_numpy()) > 0).all()


def _squares_geojson(path, cols: int, rows: int, cell_m: float = 10.0, repeat_at: int | None = None) -> list[str]:
    """A GeoJSON in EPSG:27700 of cols x rows squares, feature i coded by its position; optionally feature
    ``repeat_at`` (0-based) carries the code of feature 0. Returns the codes in file order."""
    x0, y0 = 500_000.0, 200_000.0
    codes = []
    with path.open("w") as handle:
        handle.write(
            '{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:27700"}},"features":['
        )
        for i in range(cols * rows):
            c, r = divmod(i, rows)
            code = f"C{c}_{r}" if i != repeat_at else "C0_0"
            codes.append(code)
            xa, ya = x0 + c * cell_m, y0 + r * cell_m
            ring = [[xa, ya], [xa + cell_m, ya], [xa + cell_m, ya + cell_m], [xa, ya + cell_m], [xa, ya]]
            handle.write(
                ("," if i else "")
                + json.dumps(
                    {
                        "type": "Feature",
                        "properties": {"area_code": code, "area_name": f"cell {i}"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    },
                    separators=(",", ":"),
                )
            )
        handle.write("]}")
    return codes


@pytest.mark.slow
def test_area_file_of_several_row_groups_keeps_codes_with_their_polygons(warehouse, settings, tmp_path):
    cols, rows = 500, 520  # 260,000 features, more than two row groups
    path = tmp_path / "cells.geojson"
    codes = _squares_geojson(path, cols, rows, repeat_at=200_001)
    assert len(codes) > 2 * ROW_GROUP
    counts = load_areas(warehouse, force="big", path=path, settings=settings)
    assert counts["rows_read"] == cols * rows
    assert counts["rows_loaded"] == cols * rows - 1
    assert counts["quarantined_by_reason"] == {"duplicate_area_code": 1}
    misplaced = warehouse.execute(
        """SELECT count(*) FROM stg_areas
           WHERE force = 'big' AND area_code <> 'C' || floor((ST_X(ST_Centroid(geom)) - 500000) / 10)::BIGINT || '_'
                 || floor((ST_Y(ST_Centroid(geom)) - 200000) / 10)::BIGINT"""
    ).fetchone()[0]
    assert misplaced == 0
    names = warehouse.execute(
        "SELECT count(*) FROM stg_areas WHERE force = 'big' AND area_name <> 'cell ' || "
        "(split_part(area_code[2:], '_', 1)::INT * 520 + split_part(area_code, '_', 2)::INT)"
    ).fetchone()[0]
    assert names == 0
    row, raw = warehouse.execute("SELECT source_row, raw_row FROM quarantine WHERE source = 'areas'").fetchone()
    assert row == 200_002  # 1-based position in the file
    assert json.loads(raw)["property_area_name"] == "cell 200001"


def test_every_area_file_of_the_folder_loads_as_one_set(settings, shared_data):
    """ONS publishes Bedfordshire's LSOAs as three files (one per local authority): all three are the force's areas."""
    from hotspots.pipeline import ingest_areas
    from hotspots.warehouse import open_snapshot

    folder = settings.force_landing("bedfordshire") / "areas"
    folder.mkdir(parents=True)
    features = 0
    for file in sorted((shared_data / "lsoa-2011").glob("*.json")):
        shutil.copy(file, folder / file.name)
        features += len(json.loads(file.read_text())["features"])
    counts = ingest_areas("bedfordshire", settings)
    assert counts["rows_loaded"] == features == 381
    assert sorted(counts["files"]) == ["E06000032.json", "E06000055.json", "E06000056.json"]
    with open_snapshot(settings, live=True) as con:
        by_file = dict(con.execute("SELECT source_file, count(*) FROM stg_areas GROUP BY ALL").fetchall())
    assert set(by_file) == {"E06000032.json", "E06000055.json", "E06000056.json"} and sum(by_file.values()) == 381


def test_a_code_in_two_files_fails_naming_both(warehouse, settings, tmp_path):
    folder = tmp_path / "areas"
    folder.mkdir()
    _squares_geojson(folder / "a.geojson", 2, 2)
    _squares_geojson(folder / "b.geojson", 3, 1)  # C0_0 is in both
    load_areas(warehouse, force="t", path=folder / "a.geojson", settings=settings)
    with pytest.raises(InputFileError, match=r"b\.geojson: area code 'C0_0' \(and 1 more\) is also in a\.geojson"):
        load_areas(warehouse, force="t", path=folder, settings=settings)
    assert warehouse.execute("SELECT count(*) FROM stg_areas WHERE force = 't'").fetchone()[0] == 4  # rolled back
    counts = load_areas(
        warehouse, force="t", path=[folder / "a.geojson", tmp_path / "areas" / "a.geojson"], settings=settings
    )
    assert counts["rows_loaded"] == 4  # the same file named twice is one file
