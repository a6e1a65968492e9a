"""Area boundaries (LSOAs, a force's own polygons or a square grid) into stg_areas, in EPSG:27700.

Files are read with DuckDB's ST_Read (GeoJSON, GeoPackage, shapefile). The CRS comes from the file (GeoJSON
``crs`` member, RFC 7946 CRS84 when absent, the shapefile's .prj, the GeoPackage's srs); a file that does
not say uses settings.source_crs, and a shapefile without .prj and no setting fails. Coordinates are checked
against the CRS (degrees vs metres) and transformed with always_xy so x is longitude/easting. Invalid
polygons are repaired with ST_MakeValid; features left without a polygon go to quarantine with a reason.
Also here: ``place_points`` (point in polygon for any relation) and ``make_grid`` (square cells).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hotspots.settings import Settings
from hotspots.validation.areas import area_rules
from hotspots.validation.core import InputFileError, quarantine_records, record_validation, validate_frame
from hotspots.warehouse import read_sql, transaction

log = logging.getLogger(__name__)

SOURCE = "areas"
AREA_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
CODE_FIELDS = ("LSOA21CD", "LSOA11CD", "area_code", "code")
NAME_FIELDS = ("LSOA21NM", "LSOA11NM", "area_name", "name")
GEOGRAPHIC = {"OGC:CRS84", "EPSG:4326", "EPSG:4258", "EPSG:4277", "EPSG:4230"}
BNG = "EPSG:27700"


def area_files(paths: Path | list[Path]) -> list[Path]:
    """The boundary files of one area set: each file given, and every boundary file in each folder given
    (sorted by name). A force's area files together form one set (e.g. ONS publishes a county's LSOAs as one
    file per local authority)."""
    files: list[Path] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in AREA_SUFFIXES)
            if not found:
                raise InputFileError(
                    f"{path}: no boundary file ({', '.join(AREA_SUFFIXES)}) in this folder. Drop the LSOA or grid "
                    "boundaries there, or pass the files themselves."
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise InputFileError(f"{path}: boundary file not found. Check the path (a file or a folder of files).")
    return list(dict.fromkeys(files))


def _geojson_declares_crs(path: Path) -> bool:
    with path.open("rb") as handle:
        return re.search(rb'"crs"\s*:', handle.read(65536)) is not None


def source_crs(con: duckdb.DuckDBPyConnection, path: Path, settings: Settings) -> str:
    """The CRS of a boundary file as a string ST_Transform accepts (e.g. 'EPSG:27700')."""
    try:
        # ST_Read first: ST_Read_Meta crashes the process (segfault) on a file GDAL cannot parse, e.g. cut-off GeoJSON.
        con.execute("SELECT * FROM ST_Read(?) LIMIT 0", [str(path)])
        meta = con.execute("SELECT layers FROM ST_Read_Meta(?)", [str(path)]).fetchone()
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split("LINE 1:")[0].split())
        raise InputFileError(
            f"{path}: cannot be read as GeoJSON, GeoPackage or shapefile ({reason}). The file may be cut off or not "
            "a boundary file: download or export it again."
        ) from exc
    fields = (meta[0][0]["geometry_fields"] if meta and meta[0] else None) or [{}]
    if meta and meta[0] and not meta[0][0]["geometry_fields"]:
        raise InputFileError(
            f"{path}: the file has no geometry, so it is not a boundary file. Pass the areas as GeoJSON, GeoPackage "
            "or shapefile with their polygons."
        )
    crs = fields[0].get("crs") or {}
    if path.suffix.lower() in (".geojson", ".json") and not _geojson_declares_crs(path):
        return settings.source_crs or "OGC:CRS84"  # RFC 7946: no crs member means WGS84 longitude/latitude
    if crs.get("auth_name") and crs.get("auth_code"):
        return f"{crs['auth_name']}:{crs['auth_code']}"
    if crs.get("wkt"):
        return crs["wkt"]
    if settings.source_crs:
        return settings.source_crs
    missing = "has no .prj file" if path.suffix.lower() == ".shp" else "does not say which CRS it uses"
    raise InputFileError(
        f"{path}: the file {missing}, so its coordinates cannot be placed on the map. Put the .prj next to "
        "the .shp, or set HOTSPOTS_SOURCE_CRS (e.g. EPSG:27700 for British National Grid, EPSG:4326 for WGS84)."
    )


def _is_geographic(crs: str) -> bool:
    return crs.upper() in GEOGRAPHIC or crs.lstrip().upper().startswith(("GEOGCS", "GEOGCRS"))


def _pick_field(
    columns: list[str], configured: str | None, candidates: tuple[str, ...], *, path: Path, what: str
) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    if configured:
        if configured.lower() not in by_lower:
            raise InputFileError(
                f"{path}: the configured area {what} field {configured!r} is not in the file (fields: {columns}). "
                f"Set HOTSPOTS_AREA_{what.upper()}_FIELD to one of them."
            )
        return by_lower[configured.lower()]
    return next((by_lower[c.lower()] for c in candidates if c.lower() in by_lower), None)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_features(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Temp table area_read: the file's features with source_row, the feature's position in the file (1-based).
    Insertion order is kept for the read so that the rowids of its table follow the file's order."""
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE area_features AS SELECT * FROM ST_Read(?)", [str(path)])
    except duckdb.Error as exc:
        raise InputFileError(f"{path}: cannot be read as GeoJSON, GeoPackage or shapefile ({exc}).") from exc
    finally:
        con.execute("SET preserve_insertion_order = false")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE area_read AS SELECT row_number() OVER (ORDER BY rowid) AS source_row, * "
        "FROM area_features"
    )
    con.execute("DROP TABLE area_features")


def read_area_file(
    con: duckdb.DuckDBPyConnection, path: Path, settings: Settings, *, table: str, seen_codes: dict[str, str]
) -> pd.DataFrame:
    """Read one boundary file into temp table ``table`` (source_row, area_code, area_name, geom in 27700) and
    return the per-feature frame for validation (properties as text plus the derived check columns), in file
    order. ``seen_codes`` maps each code already read in this area set to its file: a code repeated inside a
    file is quarantined, a code that appears in two files fails the set with a message naming both."""
    crs = source_crs(con, path, settings)
    _read_features(con, path)
    rows = con.execute("SELECT count(*) FROM area_read").fetchone()[0]
    if rows == 0:
        raise InputFileError(f"{path}: the file has no features. Export the boundaries again.")
    described = con.execute("DESCRIBE area_read").fetchall()
    geom_col = next((name for name, kind, *_ in described if str(kind).upper().startswith("GEOMETRY")), None)
    columns = [name for name, *_ in described if name not in (geom_col, "OGC_FID", "source_row")]
    if geom_col is None:
        raise InputFileError(f"{path}: no geometry column. Export the boundaries with their polygons.")
    code = _pick_field(columns, settings.area_code_field, CODE_FIELDS, path=path, what="code")
    name = _pick_field(columns, settings.area_name_field, NAME_FIELDS, path=path, what="name")
    if code is None:
        raise InputFileError(
            f"{path}: no area code field found (fields: {columns or 'none - the features have no properties'}; "
            f"looked for {', '.join(CODE_FIELDS)}). Add the codes to the features' properties or set "
            "HOTSPOTS_AREA_CODE_FIELD to the field that holds them."
        )
    extent = con.execute(
        f"SELECT min(ST_XMin({_quote(geom_col)})), min(ST_YMin({_quote(geom_col)})), "
        f"max(ST_XMax({_quote(geom_col)})), max(ST_YMax({_quote(geom_col)})) FROM area_read"
    ).fetchone()
    if extent[0] is not None:
        looks_degrees = all(abs(v) <= 180 for v in extent)
        if _is_geographic(crs) and not looks_degrees:
            raise InputFileError(
                f"{path}: coordinates look like metres (extent {tuple(round(v) for v in extent)}) but the CRS is "
                f"{crs[:40]} (degrees). If they are British National Grid, set HOTSPOTS_SOURCE_CRS=EPSG:27700 "
                "(or fix the file's crs member)."
            )
        if not _is_geographic(crs) and looks_degrees:
            raise InputFileError(
                f"{path}: coordinates look like longitude/latitude degrees (extent {extent}) but the CRS is "
                f"{crs[:40]} (metres). Fix the file's CRS (.prj / crs member) or set HOTSPOTS_SOURCE_CRS=EPSG:4326."
            )
    name_sql = f"CAST({_quote(name)} AS VARCHAR)" if name else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE area_geoms AS
        WITH src AS (
            SELECT source_row,
                   nullif(trim(CAST({_quote(code)} AS VARCHAR)), '') AS area_code,
                   nullif(trim({name_sql}), '') AS area_name,
                   ST_Transform({_quote(geom_col)}, $crs, '{BNG}', always_xy := true)::GEOMETRY AS g
            FROM area_read
        ),
        typed AS (
            SELECT *, CASE WHEN g IS NULL OR ST_IsEmpty(g) THEN NULL
                ELSE ST_GeometryType(g)::VARCHAR END AS geometry_type
            FROM src
        ),
        fixed AS (
            SELECT *,
                   CASE WHEN geometry_type IN ('POLYGON', 'MULTIPOLYGON') THEN
                        CASE WHEN ST_IsValid(g) THEN g ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END END AS geom
            FROM typed
        )
        SELECT source_row, area_code, area_name, geometry_type,
               CASE WHEN geom IS NULL THEN NULL WHEN ST_IsEmpty(geom) OR ST_Area(geom) <= 0 THEN 'unrepairable'
                    WHEN ST_IsValid(g) THEN 'valid' ELSE 'repaired' END AS repair_status,
               geom
        FROM fixed ORDER BY source_row
        """,
        {"crs": crs},
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM area_geoms")
    property_list = ", ".join(f"CAST(r.{_quote(c)} AS VARCHAR) AS {_quote('property_' + c)}" for c in columns)
    frame = con.execute(
        f"""SELECT g.source_row, {property_list + "," if property_list else ""}
                   g.area_code, g.geometry_type, g.repair_status
            FROM {table} g JOIN area_read r USING (source_row) ORDER BY g.source_row"""
    ).df()
    if not columns:
        frame.insert(1, "property_no_properties", None)
    elsewhere = {code: seen_codes[code] for code in frame["area_code"].dropna() if code in seen_codes}
    if elsewhere:
        code, other = next(iter(sorted(elsewhere.items())))
        raise InputFileError(
            f"{path}: area code {code!r} (and {len(elsewhere) - 1} more) is also in {other}. The files of a force's "
            "area set must not overlap: remove the duplicate file from the folder, or pass each area once."
        )
    frame["repeated_area_code"] = (
        frame["area_code"]
        .where(frame["area_code"].notna() & frame["area_code"].duplicated(keep="first"), None)
        .astype(object)
    )
    seen_codes.update({code: path.name for code in frame["area_code"].dropna()})
    frame = frame.astype(object).where(frame.notna(), None)
    log.info("%s: %d features, CRS %s, code field %s", path, rows, crs[:40], code)
    return frame


def load_areas(
    con: duckdb.DuckDBPyConnection, *, force: str, path: Path | list[Path], settings: Settings
) -> dict[str, Any]:
    """Replace the force's rows in stg_areas with the area set in ``path``: a file, a folder of files, or a list
    of files and folders (see area_files)."""
    files = area_files(path)
    with transaction(con):
        con.execute("DELETE FROM stg_areas WHERE force = ?", [force])
        totals: dict[str, Any] = {
            "rows_read": 0,
            "rows_loaded": 0,
            "rows_quarantined": 0,
            "quarantined_by_reason": {},
            "repaired": 0,
            "files": [],
        }
        seen: dict[str, str] = {}
        for number, file in enumerate(files):
            table = f"area_file_{number}"
            frame = read_area_file(con, file, settings, table=table, seen_codes=seen)
            outcome = validate_frame(frame, suite_name="areas", rules=area_rules(), source_file=file.name)
            loaded = outcome.loaded[["source_row"]].astype("int64")
            con.register("areas_loaded", loaded)
            con.execute(
                f"""INSERT INTO stg_areas
                    SELECT ?, area_code, area_name, geom, ST_Area(geom), ?, now()
                    FROM {table} WHERE source_row IN (SELECT source_row FROM areas_loaded)""",
                [force, file.name],
            )
            con.unregister("areas_loaded")
            repaired = int((outcome.loaded["repair_status"] == "repaired").sum())
            quarantine = quarantine_records(outcome.quarantined, force=force, source=SOURCE, source_file=file.name)
            record_validation(
                con, outcome, force=force, source=SOURCE, source_file=file.name, quarantine_frame=quarantine
            )
            counts = outcome.counts()
            for key in ("rows_read", "rows_loaded", "rows_quarantined"):
                totals[key] += counts[key]
            for reason, n in counts["quarantined_by_reason"].items():
                totals["quarantined_by_reason"][reason] = totals["quarantined_by_reason"].get(reason, 0) + n
            totals["repaired"] += repaired
            totals["files"].append(file.name)
            con.execute(f"DROP TABLE {table}")
        if totals["rows_loaded"] == 0:
            raise InputFileError(f"{path}: no valid area was loaded; see the quarantine table for the reasons.")
        totals["crimes_replaced"] = replace_crimes(con, force=force)
    log.info("areas %s: %s", force, totals)
    return totals


def load_area_set(
    con: duckdb.DuckDBPyConnection, *, force: str, path: Path | list[Path], settings: Settings
) -> dict[str, Any]:
    """The force's area set from its boundary files, as settings.area_unit says: the polygons themselves (lsoa,
    load_areas) or square cells of settings.grid_cell_m over their outline (grid, make_grid). The one door of
    ingest_areas and of the commands that take --areas."""
    if settings.area_unit == "grid":
        return make_grid(con, force=force, settings=settings, boundary_path=path, cell_m=settings.grid_cell_m)
    return load_areas(con, force=force, path=path, settings=settings)


def write_grid(con: duckdb.DuckDBPyConnection, *, force: str, out: Path) -> Path:
    """The force's areas (a grid made by make_grid) as GeoJSON in British National Grid (crs member EPSG:27700,
    so the squares stay exact), with properties area_code and area_name: a file load_areas reads back as is."""
    import json

    rows = con.execute(
        "SELECT area_code, area_name, ST_AsGeoJSON(geom) FROM stg_areas WHERE force = ? ORDER BY area_code", [force]
    ).fetchall()
    features = [
        {"type": "Feature", "properties": {"area_code": code, "area_name": name}, "geometry": json.loads(geometry)}
        for code, name, geometry in rows
    ]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}) + "\n")
    return out


class NoAreasLoaded(RuntimeError):
    """A step that places points ran before the force's areas were loaded (a step run out of order)."""


def force_extent(con: duckdb.DuckDBPyConnection, force: str) -> tuple[float, float, float, float]:
    """Bounding box (xmin, ymin, xmax, ymax) of the force's areas in EPSG:27700."""
    extent = con.execute(
        "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) FROM "
        "stg_areas WHERE force = ?",
        [force],
    ).fetchone()
    if extent is None or extent[0] is None:
        raise NoAreasLoaded(
            f"No areas loaded for force '{force}': run the ingest_areas task (hotspots.sources.areas.load_areas) "
            "before loading crime, so crimes can be placed and checked against the force area."
        )
    return extent


def outside_distance(x: pd.Series, y: pd.Series, extent: tuple[float, float, float, float]) -> pd.Series:
    """Metres from each point to the bounding box (0 inside; NaN without coordinates)."""
    xmin, ymin, xmax, ymax = extent
    dx = np.fmax(np.fmax(xmin - x, x - xmax), 0.0)
    dy = np.fmax(np.fmax(ymin - y, y - ymax), 0.0)
    return pd.Series(np.hypot(dx, dy), index=x.index)


def transform_points(
    con: duckdb.DuckDBPyConnection, x: pd.Series, y: pd.Series, *, source: str, target: str
) -> tuple[pd.Series, pd.Series]:
    """Transform coordinate columns with always_xy (x = longitude/easting); NaN stays NaN. Each point carries
    its position as an explicit id through the query (connections set preserve_insertion_order=false, so a
    SELECT's rows do not come back in input order) and the result is ordered by it."""
    frame = pd.DataFrame(
        {"i": np.arange(len(x), dtype="int64"), "x": x.to_numpy(dtype="float64"), "y": y.to_numpy(dtype="float64")}
    )
    con.register("points_to_transform", frame)
    try:
        out = con.execute(
            "SELECT i, ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT i, CASE WHEN x IS NOT NULL AND y IS NOT NULL "
            "AND NOT isnan(x) AND NOT isnan(y) THEN ST_Transform(ST_Point(x, y), ?, ?, always_xy := true) END AS p "
            "FROM points_to_transform) ORDER BY i",
            [source, target],
        ).fetchnumpy()
    finally:
        con.unregister("points_to_transform")
    if not np.array_equal(np.asarray(out["i"]), frame["i"].to_numpy()):
        raise RuntimeError("transform_points: a point was lost or repeated in the transform")
    as_float = [np.asarray(pd.Series(out[c]).astype("float64")) for c in ("x", "y")]
    return pd.Series(as_float[0], index=x.index), pd.Series(as_float[1], index=x.index)


def place_points(con: duckdb.DuckDBPyConnection, relation: str, *, force: str) -> duckdb.DuckDBPyRelation:
    """Every row of ``relation`` (a table/view name with easting, northing in EPSG:27700 and no area_code)
    plus the area_code of the force's area containing the point (NULL outside every area or without
    coordinates; on a shared boundary the lowest area_code). One SQL statement (sql/transform/place_points.sql:
    each distinct point placed once by a DuckDB SPATIAL_JOIN, then joined back to every row), so it scales to
    whole national files. The relation is lazy (it streams into whatever consumes it) and reads the temp view
    points_to_place and the variable hotspots_place_force: consume it before the next call. Row order is not
    kept: order the result if it matters."""
    con.execute("SET VARIABLE hotspots_place_force = ?", [force])
    con.execute(f"CREATE OR REPLACE TEMP VIEW points_to_place AS SELECT * FROM {relation}")
    return con.sql(read_sql("transform/place_points"))


def replace_crimes(con: duckdb.DuckDBPyConnection, *, force: str) -> int:
    """Place the force's stored crime points again in its current areas (called whenever the areas are
    replaced, in the same transaction, so stg_crimes never points at areas that are gone); returns the number
    of crimes whose area_code changed."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE crime_points AS SELECT point_key, easting, northing FROM stg_crime_points "
        "WHERE force = ? AND easting IS NOT NULL AND northing IS NOT NULL",
        [force],
    )
    placed = place_points(con, "crime_points", force=force)  # noqa: F841 (read by DuckDB by name)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE crime_points_moved AS
           SELECT p.point_key, p.area_code FROM placed p JOIN stg_crime_points s USING (point_key)
           WHERE s.area_code IS DISTINCT FROM p.area_code"""
    )
    changed = con.execute(
        "SELECT count(*) FROM stg_crime_records JOIN crime_points_moved USING (point_key)"
    ).fetchone()[0]
    con.execute(
        """UPDATE stg_crime_points SET area_code = m.area_code
           FROM crime_points_moved m WHERE stg_crime_points.point_key = m.point_key"""
    )
    con.execute("DROP TABLE crime_points")
    con.execute("DROP TABLE crime_points_moved")
    if changed:
        log.info("areas %s: %d stored crimes placed in a different area", force, changed)
    return int(changed)


def _boundary_parts(
    con: duckdb.DuckDBPyConnection,
    force: str,
    boundary_path: Path | list[Path] | None,
    settings: Settings,
    tile_m: float,
) -> None:
    """Temp table grid_boundary(geom): the boundary (the files' polygons) cut into tiles so the cell join stays a
    fast spatial join."""
    if boundary_path is None:
        force_extent(con, force)
        con.execute("CREATE OR REPLACE TEMP TABLE grid_boundary AS SELECT geom FROM stg_areas WHERE force = ?", [force])
        return
    parts = []
    for number, file in enumerate(area_files(boundary_path)):
        crs = source_crs(con, file, settings)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE grid_boundary_src_{number} AS "
            "SELECT ST_Transform(geom, ?, ?, always_xy := true)::GEOMETRY AS g FROM ST_Read(?)",
            [crs, BNG, str(file)],
        )
        parts.append(f"SELECT ST_MakeValid(g) AS g FROM grid_boundary_src_{number}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE grid_boundary AS
        WITH b AS ({" UNION ALL ".join(parts)}),
        ext AS (SELECT floor(min(ST_XMin(g)) / $t) AS c0, floor(min(ST_YMin(g)) / $t) AS r0,
                       ceil(max(ST_XMax(g)) / $t) AS c1, ceil(max(ST_YMax(g)) / $t) AS r1 FROM b),
        tiles AS (SELECT ST_MakeEnvelope(c * $t, r * $t, (c + 1) * $t, (r + 1) * $t) AS tile
                  FROM ext, range(c0::BIGINT, c1::BIGINT) AS cs(c), range(r0::BIGINT, r1::BIGINT) AS rs(r))
        SELECT ST_Intersection(b.g, tiles.tile) AS geom FROM b JOIN tiles ON ST_Intersects(b.g, tiles.tile)""",
        {"t": tile_m},
    )


def make_grid(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    settings: Settings,
    boundary_path: Path | list[Path] | None = None,
    cell_m: float = 150.0,
) -> dict[str, Any]:
    """Replace the force's areas with square cells of ``cell_m`` metres covering the boundary (``boundary_path``,
    or the union of the force's current areas). Cells are whole squares (equal areas, comparable harm) aligned
    to the British National Grid origin: code G<cell>_<col>_<row> with col = floor(easting / cell_m), so a
    cell keeps its code when the boundary changes. A cell is kept when more than 0.01% of it lies inside the
    boundary (slivers from reprojection or touching edges do not make a cell)."""
    if cell_m <= 0:
        raise ValueError("cell_m must be positive")
    size = f"{cell_m:g}"
    with transaction(con):
        _boundary_parts(con, force, boundary_path, settings, tile_m=max(cell_m * 20, 2000.0))
        con.execute(
            read_sql("transform/grid_cells", settings),
            {"c": cell_m},
        )
        cells = con.execute("SELECT count(*) FROM grid_cells").fetchone()[0]
        if cells == 0:
            raise InputFileError(f"{boundary_path or 'stg_areas'}: the boundary is empty; no grid cells were made.")
        source_file = (
            "+".join(p.name for p in area_files(boundary_path)) if boundary_path else f"grid:{force}:stg_areas"
        )
        con.execute("DELETE FROM stg_areas WHERE force = ?", [force])
        con.execute(
            f"""INSERT INTO stg_areas
            SELECT $force, 'G{size}_' || c || '_' || r, '{size} m cell ' || c || ',' || r
                , geom, ST_Area(geom), $src, now()
            FROM grid_cells ORDER BY c, r""",
            {"force": force, "src": source_file},
        )
        replaced = replace_crimes(con, force=force)
    counts = {
        "rows_read": cells,
        "rows_loaded": cells,
        "rows_quarantined": 0,
        "quarantined_by_reason": {},
        "cells": cells,
        "cell_m": cell_m,
        "area_m2": cells * cell_m * cell_m,
        "crimes_replaced": replaced,
        "files": [source_file],
    }
    log.info("grid %s: %s", force, counts)
    return counts
