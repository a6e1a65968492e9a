"""The bad-input corpus: every broken input has one expected outcome, either a clear InputFileError (naming the
file and column) or rows quarantined with a reason. Inputs are built here from small strings and GeoDataFrames.
Invariant checked on every loaded file: rows read = rows loaded + rows quarantined."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box
from sources_fixtures import X0, Y0, good_rows, square_areas, street_csv, street_row

MONTH_FILE = "2024-02-test-street.csv"


@dataclass
class Case:
    id: str
    kind: str  # police_uk | areas | force_records
    build: Callable[[Path], Path]  # writes the input under tmp_path and returns its path
    error: str | None = None  # regex the InputFileError message must match
    quarantined: dict | None = None  # expected quarantined_by_reason
    check: Callable | None = None  # extra assertions (con, counts)


def crime_text(tmp: Path, text: str | bytes) -> Path:
    path = tmp / MONTH_FILE
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def rows_with(changes: dict[int, dict], n: int = 200) -> list[dict]:
    rows = good_rows(n)
    for i, change in changes.items():
        rows[i].update(change)
    return rows


def swapped(row: dict) -> dict:
    return {"Longitude": row["Latitude"], "Latitude": row["Longitude"]}


def police(case_id, rows=None, *, text=None, columns=None, **expect) -> Case:
    def build(tmp: Path) -> Path:
        if text is not None:
            return crime_text(tmp, text(tmp) if callable(text) else text)
        return crime_text(tmp, street_csv(rows, **({"columns": columns} if columns else {})))

    return Case(case_id, "police_uk", build, **expect)


def areas_case(
    case_id, frame_fn, *, name="areas.geojson", driver="GeoJSON", drop_prj=False, raw=None, **expect
) -> Case:
    def build(tmp: Path) -> Path:
        folder = tmp / "areas"
        folder.mkdir()
        path = folder / name
        if raw is not None:
            path.write_text(raw)
            return path
        frame_fn().to_file(path, driver=driver)
        if drop_prj:
            path.with_suffix(".prj").unlink()
        return path

    return Case(case_id, "areas", build, **expect)


def five_by_five(extra=None, codes=None) -> gpd.GeoDataFrame:
    geoms = [
        box(X0 + c * 500, Y0 + r * 500, X0 + (c + 1) * 500, Y0 + (r + 1) * 500) for c in range(5) for r in range(5)
    ]
    names = codes or [f"E02{i:05d}" for i in range(25)]
    if extra:
        names, geoms = names + [extra[0]], geoms + [extra[1]]
    return gpd.GeoDataFrame({"LSOA21CD": names, "LSOA21NM": names}, geometry=geoms, crs="EPSG:27700")


def force_csv(tmp: Path, changes: dict[int, dict] | None = None, drop: str | None = None, n: int = 120) -> Path:
    cols = ["crime_reference", "occurred_at", "offence_code", "knife_flag", "easting", "northing", "location"]
    lines = [",".join(c for c in cols if c != drop)]
    for i in range(n):
        row = {
            "crime_reference": f"BD/{i:05d}/24",
            "occurred_at": f"2024-02-{1 + i % 28:02d}T{i % 24:02d}:15:00",
            "offence_code": ["105A", "8N", "34B", "10D", "5A"][i % 5],
            "knife_flag": "Y" if i % 5 == 3 else "N",
            "easting": f"{X0 + 100 + (i % 38) * 100:.0f}",
            "northing": f"{Y0 + 250 + (i % 3) * 1000:.0f}",
            "location": f"Street {i}",
        }
        row.update((changes or {}).get(i, {}))
        lines.append(",".join(str(row[c]) for c in cols if c != drop))
    path = tmp / "rms_2024-02.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def latin1_check(con, counts):
    assert con.execute("SELECT count(*) FROM stg_crimes WHERE location = 'On or near Café Lane'").fetchone()[0] == 1


def margin_check(con, counts):
    assert counts["events_outside"] == 1  # 1.2 km outside the squares: inside the 2 km margin, loaded unplaced


def asb_check(con, counts):
    assert con.execute("SELECT count(*) FROM stg_crimes WHERE crime_type = 'Anti-social behaviour'").fetchone()[0] == 3


def repaired_check(con, counts):
    assert counts["repaired"] == 1
    area = con.execute("SELECT area_m2 FROM stg_areas WHERE area_code = 'E01000000'").fetchone()[0]
    assert area == pytest.approx(500 * 500 / 2)  # bow-tie: two triangles of a quarter each


def bowtie() -> gpd.GeoDataFrame:
    frame = square_areas()
    frame.loc[0, "geometry"] = Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    frame.loc[0, "LSOA11CD"] = "E01000000"
    return frame.assign(
        geometry=frame.geometry.scale(0.5, 0.5, origin=(X0, Y0)).where(frame.index == 0, frame.geometry)
    )


FAR_LONDON = {"Longitude": "-0.127800", "Latitude": "51.507400"}
JUST_OUTSIDE = {"Longitude": "", "Latitude": ""}  # filled below from the grid


def just_outside() -> dict:
    from sources_fixtures import TO_WGS84

    lon, lat = TO_WGS84.transform(X0 + 4000 + 1200, Y0 + 2000)
    return {"Longitude": f"{lon:.6f}", "Latitude": f"{lat:.6f}"}


CASES = [
    police(
        "missing_column",
        good_rows(50),
        columns=[c for c in street_csv([]).strip().split(",") if c != "Crime type"],
        error=r"required column 'Crime type' is missing",
    ),
    police(
        "renamed_header",
        text=lambda t: street_csv(good_rows(50)).replace("Latitude", "Lat", 1),
        error=r"'Latitude' is missing.*'Lat'",
    ),
    police(
        "semicolon_delimiter",
        text=lambda t: street_csv(good_rows(20)).replace(",", ";"),
        error="separated by semicolons",
    ),
    police("tab_delimiter", text=lambda t: street_csv(good_rows(20)).replace(",", "\t"), error="separated by tabs"),
    police("empty_file", text="", error="the file is empty"),
    police("header_only", text=lambda t: street_csv([]), error="header but no data rows"),
    police(
        "ragged_line",
        text=lambda t: street_csv(good_rows(20)) + "a,b,c,d,e,f,g,h,i,j,k,l,m,n\n",
        error="cannot be parsed as CSV",
    ),
    police(
        "non_utf8_latin1_fallback",
        text=lambda t: street_csv(rows_with({3: {"Location": "On or near Café Lane"}})).encode("latin-1"),
        quarantined={},
        check=latin1_check,
    ),
    police(
        "lat_lon_swapped_rows",
        rows_with({i: swapped(r) for i, r in enumerate(good_rows(200)) if i in (5, 17, 42)}),
        quarantined={"lat_lon_swapped": 3},
    ),
    police(
        "lat_lon_swapped_whole_file",
        [r | swapped(r) for r in good_rows(50)],
        error=r"lat_lon_swapped.*beyond its tolerance",
    ),
    police(
        "grid_reference_in_degree_columns",
        rows_with(
            {7: {"Longitude": "501234", "Latitude": "246789"}, 8: {"Longitude": "502000.5", "Latitude": "245100"}}
        ),
        quarantined={"grid_reference_in_degree_columns": 2},
    ),
    police("malformed_month", rows_with({9: {"Month": "02/2024"}}), quarantined={"malformed_month": 1}),
    police(
        "duplicated_rows",
        good_rows(200)
        + good_rows(2, start=10)
        + [street_row(900, 1, 1, crime_type="Anti-social behaviour", crime_id="")] * 3,
        quarantined={"duplicate_crime_id": 2},
        check=asb_check,
    ),
    police("unknown_crime_type", rows_with({11: {"Crime type": "Knife crime"}}), quarantined={"unknown_crime_type": 1}),
    police(
        "missing_coordinates",
        rows_with({i: {"Longitude": "", "Latitude": ""} for i in (1, 2, 3)} | {4: {"Longitude": "n/a"}}),
        quarantined={"missing_coordinates": 4},
    ),
    police(
        "too_many_missing_coordinates",
        rows_with({i: {"Longitude": "", "Latitude": ""} for i in range(40)}),
        error=r"missing_coordinates.*on column 'lon'.*40 rows",
    ),
    police(
        "outside_force_area",
        rows_with({20: FAR_LONDON, 21: FAR_LONDON, 22: just_outside()}),
        quarantined={"outside_force_area": 2},
        check=margin_check,
    ),
    areas_case("self_intersecting_polygon", bowtie, quarantined={}, check=repaired_check),
    areas_case(
        "geojson_without_properties",
        None,
        raw='{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,"geometry":'
        '{"type":"Polygon","coordinates":[[[-0.4,52.1],[-0.39,52.1],[-0.39,52.11],[-0.4,52.1]]]}}]}',
        error="no area code field found",
    ),
    areas_case(
        "shapefile_without_prj",
        square_areas,
        name="areas.shp",
        driver="ESRI Shapefile",
        drop_prj=True,
        error=r"has no \.prj file.*HOTSPOTS_SOURCE_CRS",
    ),
    areas_case(
        "metres_in_geojson_without_crs",
        None,
        raw='{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"A1"},"geometry":'
        '{"type":"Polygon","coordinates":[[[500000,245000],[501000,245000],[501000,246000],[500000,245000]]]}}]}',
        error=r"look like metres.*HOTSPOTS_SOURCE_CRS=EPSG:27700",
    ),
    areas_case(
        "point_among_polygons", lambda: five_by_five(("E02099999", Point(X0, Y0))), quarantined={"not_a_polygon": 1}
    ),
    areas_case(
        "duplicate_area_code",
        lambda: five_by_five(codes=["E0200001"] + [f"E02{i:05d}" for i in range(1, 25)]),
        quarantined={"duplicate_area_code": 1},
    ),
    areas_case(
        "unrepairable_polygon",
        lambda: five_by_five(("E02088888", Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 20, Y0 + 20)]))),
        quarantined={"invalid_geometry": 1},
    ),
    Case(
        "force_records_missing_column",
        "force_records",
        lambda t: force_csv(t, drop="knife_flag"),
        error=r"'knife_flag' is missing.*columns=",
    ),
    Case(
        "force_records_degrees_in_grid_columns",
        "force_records",
        lambda t: force_csv(t, {2: {"easting": "-0.45", "northing": "52.13"}}),
        quarantined={"degrees_in_grid_columns": 1},
    ),
    Case(
        "force_records_unknown_offence_code_and_bad_date",
        "force_records",
        lambda t: force_csv(t, {4: {"offence_code": "999Z"}, 6: {"occurred_at": "yesterday"}}),
        quarantined={"unknown_offence_code": 1, "malformed_occurred_at": 1},
    ),
]
