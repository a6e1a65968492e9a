"""Area boundaries: CRS detection and transform with the right axis order, field detection, grid, placement."""

from __future__ import annotations

import json

import pytest
from sources_fixtures import X0, Y0, square_areas, write_areas
from warehouse_rows import insert_crimes

from hotspots.sources.areas import load_areas, make_grid, place_points


@pytest.mark.parametrize(
    "crs,name",
    [("EPSG:4326", "a.geojson"), ("EPSG:27700", "a.geojson"), ("EPSG:27700", "a.gpkg"), ("EPSG:4326", "a.shp")],
)
def test_any_crs_lands_in_bng_with_x_easting(crs, name, warehouse, settings, tmp_path):
    path = tmp_path / name
    square_areas().to_crs(crs).to_file(
        path, driver={"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile"}[name[2:]]
    )
    if name.endswith("geojson") and crs == "EPSG:27700":
        assert "27700" in json.dumps(json.loads(path.read_text()).get("crs"))  # an explicit crs member
    counts = load_areas(warehouse, force="test", path=path, settings=settings)
    assert counts["rows_loaded"] == 16 and counts["rows_quarantined"] == 0
    xmin, ymin, xmax, ymax, area = warehouse.execute(
        "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)), sum(area_m2) "
        "FROM stg_areas"
    ).fetchone()
    assert (xmin, ymin, xmax, ymax) == pytest.approx((X0, Y0, X0 + 4000, Y0 + 4000), abs=0.5)
    assert area == pytest.approx(16e6, rel=1e-4)


def test_configured_fields_and_idempotent_reload(warehouse, settings, tmp_path, monkeypatch):
    from hotspots.settings import reload_settings

    path = tmp_path / "own.geojson"
    square_areas().rename(columns={"LSOA11CD": "beat", "LSOA11NM": "beat_name"}).to_crs("EPSG:4326").to_file(path)
    monkeypatch.setenv("HOTSPOTS_AREA_CODE_FIELD", "beat")
    monkeypatch.setenv("HOTSPOTS_AREA_NAME_FIELD", "beat_name")
    configured = reload_settings()
    first = load_areas(warehouse, force="test", path=path, settings=configured)
    assert load_areas(warehouse, force="test", path=path, settings=configured) == first
    assert warehouse.execute("SELECT count(*), min(area_name) FROM stg_areas").fetchone() == (16, "Square 0,0")
    monkeypatch.setenv("HOTSPOTS_AREA_CODE_FIELD", "ward")
    from hotspots.validation.core import InputFileError

    with pytest.raises(InputFileError, match="'ward' is not in the file"):
        load_areas(warehouse, force="test", path=path, settings=reload_settings())
    assert warehouse.execute("SELECT count(*) FROM stg_areas").fetchone()[0] == 16  # failed reload rolled back


def test_place_points_each_row_once_with_repeated_null_and_boundary_points(warehouse, settings, tmp_path):
    """place_points places each distinct coordinate once and joins it back: every input row comes out once
    (identical rows too), NULL coordinates and points outside get NULL, a point on a shared edge or corner
    goes to the lowest code, and another force's areas are ignored."""
    # areas written in EPSG:27700, so edges and corners are exact (no reprojection)
    load_areas(warehouse, force="test", path=write_areas(tmp_path, crs="EPSG:27700"), settings=settings)
    warehouse.execute(
        "INSERT INTO stg_areas SELECT 'other', 'A000', 'other force', geom, area_m2, source_file, loaded_at "
        "FROM stg_areas WHERE area_code = 'E010011'"
    )
    warehouse.execute(
        "CREATE TABLE pts AS SELECT * FROM (VALUES (1, 500075.0, 245075.0), (2, 500075.0, 245075.0), (3, "
        "500075.0, 245075.0), "
        "(4, 501000.0, 245500.0), (5, 501000.0, 246000.0), (6, NULL, 245075.0), (7, 500075.0, NULL), (8, NULL, NULL), "
        "(9, 499000.0, 245000.0), (10, 501500.0, 246500.0), (10, 501500.0, 246500.0)) t(id, easting, northing)"
    )
    rows = place_points(warehouse, "pts", force="test").project("id, area_code").order("id, area_code").fetchall()
    assert rows == [
        (1, "E010000"),
        (2, "E010000"),
        (3, "E010000"),
        (4, "E010000"),
        (5, "E010000"),
        (6, None),
        (7, None),
        (8, None),
        (9, None),
        (10, "E010011"),
        (10, "E010011"),
    ]
    # the same answer as testing every row on its own against every area (no de-duplication, no spatial index)
    naive = warehouse.execute(
        """SELECT p.id, (SELECT min(a.area_code) FROM stg_areas a WHERE a.force = 'test'
                         AND ST_Intersects(a.geom, ST_Point(p.easting, p.northing))) FROM pts p ORDER BY 1, 2"""
    ).fetchall()
    assert rows == naive


def test_grid_cells_and_place_points(warehouse, settings, tmp_path):
    load_areas(warehouse, force="test", path=write_areas(tmp_path), settings=settings)
    warehouse.execute(
        "CREATE TABLE pts AS SELECT * FROM (VALUES (1, 500075.0, 245075.0), (2, 503999.0, 248999.0), "
        "(3, 499000.0, 245000.0), (4, 501000.0, 245500.0), (5, NULL, NULL)) t(id, easting, northing)"
    )
    placed = dict(place_points(warehouse, "pts", force="test").project("id, area_code").fetchall())
    # point 4 lies on the boundary between squares (0,0) and (1,0): the lowest code wins
    assert placed == {1: "E010000", 2: "E010033", 3: None, 4: "E010000", 5: None}
    boundary = tmp_path / "boundary.geojson"
    square_areas().dissolve().to_crs("EPSG:4326").to_file(boundary)
    counts = make_grid(warehouse, force="test", settings=settings, boundary_path=boundary, cell_m=150)
    # 4 km square from 500000: columns 3333..3359 (500000/150 = 3333.3), 27 x 27 whole cells, none clipped
    assert counts["cells"] == 27 * 27
    codes = {c for (c,) in warehouse.execute("SELECT area_code FROM stg_areas").fetchall()}
    assert "G150_3333_1633" in codes and "G150_3359_1659" in codes and len(codes) == 729
    assert warehouse.execute("SELECT min(area_m2), max(area_m2) FROM stg_areas").fetchone() == (22500.0, 22500.0)
    assert dict(place_points(warehouse, "pts", force="test").project("id, area_code").fetchall())[1] == "G150_3333_1633"
    assert make_grid(warehouse, force="test", settings=settings, cell_m=1000)["cells"] == 5 * 5  # from stg_areas


def test_replacing_areas_places_the_stored_crimes_again(warehouse, settings, tmp_path):
    """Crimes are placed at load; when the force's areas are replaced (new boundaries, or a grid instead of
    LSOAs) every stored crime must follow, in the same transaction, or selection would rank areas that are gone."""
    load_areas(warehouse, force="test", path=write_areas(tmp_path, crs="EPSG:27700"), settings=settings)
    insert_crimes(
        warehouse,
        """INSERT INTO stg_crimes (force, source, crime_key, month, crime_type, easting, northing,
            area_code, source_file, source_row)
           SELECT 'test', 'police_uk', 'c' || i, DATE '2024-01-01', 'Robbery', e, n, NULL, 'f.csv', i
           FROM (VALUES (1, 500075.0, 245075.0), (2, 500075.0, 245075.0), (3, 503999.0, 248999.0),
               (4, 499000.0, 245000.0),
                        (5, NULL, NULL), (6, 501000.0, 245500.0)) t(i, e, n)""",
    )
    insert_crimes(
        warehouse, "INSERT INTO stg_crimes SELECT * REPLACE ('other' AS force) FROM stg_crimes"
    )  # another force's rows

    def areas_of(force="test"):
        return dict(
            warehouse.execute(
                "SELECT crime_key, area_code FROM stg_crimes WHERE force = ? ORDER BY 1", [force]
            ).fetchall()
        )

    assert make_grid(warehouse, force="test", settings=settings, cell_m=1000)["crimes_replaced"] == 4
    assert areas_of() == {
        "c1": "G1000_500_245",
        "c2": "G1000_500_245",
        "c3": "G1000_503_248",
        "c4": None,
        "c5": None,
        "c6": "G1000_500_245",
    }  # 501000 is the west edge of column 501: the lowest code wins
    assert set(areas_of("other").values()) == {None}  # untouched
    counts = load_areas(warehouse, force="test", path=write_areas(tmp_path, crs="EPSG:27700"), settings=settings)
    assert counts["crimes_replaced"] == 4
    assert areas_of() == {"c1": "E010000", "c2": "E010000", "c3": "E010033", "c4": None, "c5": None, "c6": "E010000"}
