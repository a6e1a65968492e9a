"""The real Bedfordshire samples (../shared/data): 381 LSOAs and three months of street crime, with figures
checked by an independent computation (pandas counts, geopandas point in polygon)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from hotspots.sources.areas import load_areas
from hotspots.sources.police_uk import crime_files, ingest_crime_file


def test_bedfordshire_lsoas_and_three_months(shared_data, warehouse, settings):
    areas = load_areas(warehouse, force="bedfordshire", path=shared_data / "lsoa-2011", settings=settings)
    assert areas["rows_loaded"] == 381 and areas["rows_quarantined"] == 0
    km2 = warehouse.execute("SELECT sum(area_m2) / 1e6 FROM stg_areas").fetchone()[0]
    assert 1200 < km2 < 1270  # Bedfordshire is about 1,235 km2

    files = crime_files(shared_data / "police-uk", force="bedfordshire")
    assert [f.name[:7] for f in files] == ["2024-02", "2024-03", "2024-04"]
    lsoas = gpd.GeoDataFrame(pd.concat([gpd.read_file(p) for p in sorted((shared_data / "lsoa-2011").glob("*.json"))]))
    for path in files:
        counts = ingest_crime_file(warehouse, force="bedfordshire", path=path, settings=settings)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert counts["rows_read"] == len(raw) == counts["rows_loaded"] + counts["rows_quarantined"]
        no_coords = int(((raw["Longitude"] == "") | (raw["Latitude"] == "")).sum())
        assert counts["quarantined_by_reason"]["missing_coordinates"] == no_coords
        assert 0 < counts["quarantined_by_reason"].get("outside_force_area", 0) < 0.02 * len(raw)
        assert set(counts["quarantined_by_reason"]) <= {"missing_coordinates", "outside_force_area"}

    # Independent placement for one month: geopandas point in polygon in EPSG:27700.
    raw = pd.read_csv(files[0], dtype=str, keep_default_na=False)
    raw = raw[(raw["Longitude"] != "") & (raw["Latitude"] != "")]
    points = gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(raw["Longitude"].astype(float), raw["Latitude"].astype(float)),
                              crs="EPSG:4326").to_crs(27700)
    joined = gpd.sjoin(points, lsoas.to_crs(27700)[["LSOA11CD", "geometry"]], predicate="within", how="inner")
    expected = joined["LSOA11CD"].value_counts()
    loaded = dict(warehouse.execute(
        "SELECT area_code, count(*) FROM stg_crimes WHERE source_file = ? AND area_code IS NOT NULL GROUP BY 1",
        [files[0].name]).fetchall())
    busiest = expected.index[0]
    assert loaded[busiest] == expected[busiest] > 20
    assert sum(loaded.values()) == pytest.approx(len(joined), abs=3)  # boundary points may differ by a few
    differing = sum(1 for code, n in expected.items() if loaded.get(code) != n)
    assert differing <= 3
    total = warehouse.execute("SELECT count(*), count(area_code) FROM stg_crimes").fetchone()
    assert total[0] > 14_000 and total[0] - total[1] < 100  # few loaded points outside every LSOA
