"""Small hand-made inputs for the source tests: a 4 x 4 grid of 1 km square areas near Bedford and street
CSV rows whose points fall in known squares (ground truth known by construction)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
from pyproj import Transformer
from shapely.geometry import box

from hotspots.validation.crime import POLICE_UK_COLUMNS

X0, Y0, SIZE, N = 500_000.0, 245_000.0, 1_000.0, 4
TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def code(col: int, row: int) -> str:
    return f"E0100{col}{row}"


def square_areas() -> gpd.GeoDataFrame:
    """16 squares of 1 km, codes E0100<col><row>, in EPSG:27700."""
    cells = [
        (code(c, r), f"Square {c},{r}", box(X0 + c * SIZE, Y0 + r * SIZE, X0 + (c + 1) * SIZE, Y0 + (r + 1) * SIZE))
        for c in range(N)
        for r in range(N)
    ]
    return gpd.GeoDataFrame(
        {"LSOA11CD": [a for a, _, _ in cells], "LSOA11NM": [b for _, b, _ in cells]},
        geometry=[g for _, _, g in cells],
        crs="EPSG:27700",
    )


def write_areas(folder: Path, crs: str = "EPSG:4326", name: str = "areas.geojson") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    square_areas().to_crs(crs).to_file(path, driver="GeoJSON" if path.suffix != ".gpkg" else "GPKG")
    return path


def lonlat_in(col: int, row: int, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
    """Longitude, latitude of a point at fraction (fx, fy) inside square (col, row)."""
    return TO_WGS84.transform(X0 + (col + fx) * SIZE, Y0 + (row + fy) * SIZE)


def street_row(
    i: int,
    col: int,
    row: int,
    *,
    crime_type: str = "Violence and sexual offences",
    month: str = "2024-02",
    crime_id: str | None = None,
    fx: float = 0.5,
    fy: float = 0.5,
) -> dict[str, str]:
    lon, lat = lonlat_in(col, row, fx, fy)
    return {
        "Crime ID": f"id{i:05d}" if crime_id is None else crime_id,
        "Month": month,
        "Reported by": "Test Police",
        "Falls within": "Test Police",
        "Longitude": f"{lon:.6f}",
        "Latitude": f"{lat:.6f}",
        "Location": f"On or near Street {i}",
        "LSOA code": "E09999999",
        "LSOA name": "Wrong 001A",
        "Crime type": crime_type,
        "Last outcome category": "",
        "Context": "",
    }


def good_rows(n: int, start: int = 0) -> list[dict[str, str]]:
    """n valid rows spread over the 16 squares (row i in square (i % 4, (i // 4) % 4))."""
    return [street_row(start + i, i % N, (i // N) % N, fx=0.3 + 0.01 * (i % 40), fy=0.6) for i in range(n)]


def street_csv(rows: list[dict[str, str]], columns: list[str] = POLICE_UK_COLUMNS, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def load_squares(con, settings, folder: Path, force: str = "test") -> dict:
    from hotspots.sources.areas import load_areas

    return load_areas(con, force=force, path=write_areas(folder), settings=settings)


def insert_squares(con, force: str = "test") -> None:
    """The 16 squares straight into stg_areas (for tests of other sources; load_areas has its own tests)."""
    for area_code, name, geom in zip(*(square_areas()[c] for c in ("LSOA11CD", "LSOA11NM", "geometry"))):
        con.execute(
            "INSERT INTO stg_areas VALUES (?, ?, ?, ST_GeomFromText(?), ?, 'squares', now())",
            [force, area_code, name, geom.wkt, geom.area],
        )
