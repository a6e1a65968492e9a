"""Patrol minutes straight from files (the `hotspots patrol-minutes` command): nothing is stored, device ids
only live in memory as integer codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.patrol.core import PatrolParams, patrol_minutes
from hotspots.sources.avl import parse_columns, parse_times, read_ping_file

CODE_FIELDS = ("LSOA21CD", "LSOA11CD", "area_code", "code")


def read_areas(paths: list[Path], *, code_field: str | None = None, source_crs: str | None = None) -> list[tuple[str, Any]]:
    """(area_code, polygon in EPSG:27700) from area files; x stays easting/longitude (always_xy)."""
    import geopandas as gpd

    areas: list[tuple[str, Any]] = []
    for path in paths:
        frame = gpd.read_file(path)
        if frame.crs is None:
            if not source_crs:
                raise ValueError(f"{path}: the file does not declare a CRS; set HOTSPOTS_SOURCE_CRS (e.g. EPSG:27700).")
            frame = frame.set_crs(source_crs)
        fields = [code_field] if code_field else [f for f in CODE_FIELDS if f in frame.columns]
        if not fields or fields[0] not in frame.columns:
            raise ValueError(f"{path}: no area code column (looked for {code_field or CODE_FIELDS}); set HOTSPOTS_AREA_CODE_FIELD.")
        frame = frame.to_crs(27700)
        areas += [(str(code), geom) for code, geom in zip(frame[fields[0]], frame.geometry) if geom is not None and not geom.is_empty]
    return areas


def read_pings(paths: list[Path], columns: dict[str, str] | None) -> tuple[pd.DataFrame, int]:
    """Pings [device_key (in-memory code), ts, easting, northing, speed_kmh] and the number of unusable rows."""
    from pyproj import Transformer

    frames, skipped = [], 0
    for path in paths:
        raw = read_ping_file(path, columns)
        ts = parse_times(raw["time"])
        if "easting" in raw.columns:
            x = pd.to_numeric(raw["easting"], errors="coerce").to_numpy("float64")
            y = pd.to_numeric(raw["northing"], errors="coerce").to_numpy("float64")
        else:
            lon = pd.to_numeric(raw["lon"], errors="coerce").to_numpy("float64")
            lat = pd.to_numeric(raw["lat"], errors="coerce").to_numpy("float64")
            x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat)
        speed = pd.to_numeric(raw["speed"], errors="coerce") if "speed" in raw.columns else pd.Series(np.nan, index=raw.index)
        frame = pd.DataFrame({"device": raw["device"].astype(str).str.strip(), "ts": ts, "easting": x, "northing": y,
                              "speed_kmh": speed.to_numpy("float64")})
        usable = frame["device"].ne("") & frame["ts"].notna() & np.isfinite(frame["easting"]) & np.isfinite(frame["northing"])
        skipped += int((~usable).sum())
        frames.append(frame[usable])
    pings = pd.concat(frames, ignore_index=True)
    pings["device_key"] = pd.factorize(pings.pop("device"))[0]
    return pings, skipped


def patrol_from_files(
    ping_paths: list[Path], area_paths: list[Path], *, settings: Any, columns: str | None = None, **overrides: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Daily patrol per area from ping files and area files, with a summary."""
    params = PatrolParams.from_settings(settings, **overrides)
    areas = read_areas(area_paths, code_field=settings.area_code_field, source_crs=settings.source_crs)
    pings, skipped = read_pings(ping_paths, parse_columns(columns))
    result = patrol_minutes(pings, areas, params)
    summary = {
        "rows": len(result),
        "areas": len(areas),
        "pings_used": len(pings),
        "pings_skipped": skipped,
        "dates": sorted({d.isoformat() for d in result["date"]}),
        "patrol_minutes": round(float(result["patrol_minutes"].sum()), 6),
        "params": {k: (str(v) if not isinstance(v, (int, float, type(None))) else v) for k, v in params.__dict__.items()},
    }
    return result, summary
