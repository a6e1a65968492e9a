"""Plain implementations of the patrol semantics, to check the fast method exactly: the oracles of
tests/patrol/test_patrol.py and the comparisons of the patrol benchmark (benchmarks/patrol_minutes.py).

- spatial_join_patrol: everything in DuckDB SQL (sql/transform/patrol_spatial_join.sql), areas found with a
  SPATIAL_JOIN on ST_DWithin.
- geopandas_patrol: areas found with geopandas.sjoin(predicate="dwithin"), the rest as reference_figures.
- reference_figures: the figures from (ping, area) pairs found by any method, one plain sweep per area.

Not part of the runtime package; tests import it as ``benchmarks.patrol_reference`` (pytest's pythonpath is the
repository root, pyproject.toml).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import shapely

from hotspots.patrol import kernels
from hotspots.patrol.core import (
    OUTPUT_COLUMNS,
    US_PER_MINUTE,
    Days,
    PatrolParams,
    PingArrays,
    empty_result,
    figures_frame,
    koper_us,
    ping_days,
)
from hotspots.warehouse import read_sql


def ping_intervals(p: PingArrays, params: PatrolParams) -> np.ndarray:
    """End of each ping's presence interval; end == ts marks a ping that is not patrol (see
    kernels.presence_intervals)."""
    n_dev = max(p.n_dev, 1)
    return kernels.presence_intervals(
        p.dev, n_dev, p.ts, p.x, p.y, p.speed, params.gap_us, params.speed_limit, kernels.chunk_count(p.ts.size, n_dev)
    )


def reference_figures(
    p: PingArrays,
    end: np.ndarray,
    pair_ping: np.ndarray,
    pair_area: np.ndarray,
    days: Days,
    n_areas: int,
    params: PatrolParams,
) -> tuple[np.ndarray, ...]:
    """The figures of core.fast_figures from (ping, area) pairs found by another method, pairs in time order (the
    plain way: group the presence records by area, then one sweep per area; see kernels.sweep_areas)."""
    area_ptr, start, stop, device = kernels.group_by_area(
        pair_ping.astype(np.int64, copy=False), pair_area.astype(np.int64, copy=False), n_areas, p.ts, end, p.dev
    )
    return kernels.sweep_areas(
        area_ptr, start, stop, device, max(p.n_dev, 1), days.midnights, days.win, koper_us(params)
    )


def spatial_join_patrol(con: Any, pings: Any, areas: Sequence[tuple[str, Any]], params: PatrolParams) -> pd.DataFrame:
    """Daily patrol computed by the reference SQL on a DuckDB connection with spatial loaded."""
    p = pings if isinstance(pings, PingArrays) else PingArrays.from_input(pings)
    if p.ts.size == 0:
        return empty_result()
    codes = [str(c) for c, _ in areas]
    days = ping_days(p, params)
    ref_pings = pd.DataFrame(
        {"ping_id": np.arange(p.ts.size), "device": p.dev, "ts_us": p.ts, "x": p.x, "y": p.y, "speed": p.speed}
    )
    ref_areas = pd.DataFrame({"area_idx": np.arange(len(codes)), "wkb": shapely.to_wkb([g for _, g in areas])})
    ref_days = pd.DataFrame(
        {
            "day_idx": np.arange(days.count),
            "day_lo": days.midnights[:-1],
            "day_hi": days.midnights[1:],
            "w1lo": days.win[:, 0, 0],
            "w1hi": days.win[:, 0, 1],
            "w2lo": days.win[:, 1, 0],
            "w2hi": days.win[:, 1, 1],
        }
    )
    con.register("ref_pings", ref_pings)
    con.register("ref_days", ref_days)
    con.register("ref_areas_wkb", ref_areas)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_areas AS SELECT area_idx, ST_GeomFromWKB(wkb) AS geom FROM ref_areas_wkb"
    )
    try:
        out = con.execute(
            read_sql("transform/patrol_spatial_join"),
            {
                "gap_us": params.gap_us,
                "max_speed": params.max_speed_kmh,
                "buffer_m": float(params.buffer_m),
                "koper_us": koper_us(params),
            },
        ).df()
    finally:
        con.execute("DROP TABLE IF EXISTS ref_areas")
        for name in ("ref_pings", "ref_days", "ref_areas_wkb"):
            con.unregister(name)
    if out.empty:
        return empty_result()
    return pd.DataFrame(
        {
            "area_code": np.asarray(codes, dtype=object)[out["area_idx"].to_numpy()],
            "date": [days.date(d) for d in out["day_idx"]],
            "patrol_minutes": out["patrol_us"].to_numpy(np.int64) / US_PER_MINUTE,
            "officer_minutes": out["officer_us"].to_numpy(np.int64) / US_PER_MINUTE,
            "visits": out["visits"].to_numpy(np.int64),
            "koper_visits": out["koper_visits"].to_numpy(np.int64),
            "devices": out["devices"].to_numpy(np.int64),
            "window_minutes": out["window_us"].to_numpy(np.int64) / US_PER_MINUTE,
            "longest_visit_minutes": out["longest_window_us"].to_numpy(np.int64) / US_PER_MINUTE,
        }
    ).sort_values(["area_code", "date"], ignore_index=True)


def geopandas_patrol(pings: Any, areas: Sequence[tuple[str, Any]], params: PatrolParams) -> pd.DataFrame:
    """Daily patrol with the area assignment done by geopandas.sjoin (predicate dwithin)."""
    import geopandas as gpd

    p = pings if isinstance(pings, PingArrays) else PingArrays.from_input(pings)
    if p.ts.size == 0:
        return empty_result()
    end = ping_intervals(p, params)
    idx = np.flatnonzero(end > p.ts)
    points = gpd.GeoDataFrame({"ping": idx}, geometry=gpd.points_from_xy(p.x[idx], p.y[idx]), crs=27700)
    polygons = gpd.GeoDataFrame({"area": np.arange(len(areas))}, geometry=[g for _, g in areas], crs=27700)
    joined = gpd.sjoin(points, polygons, how="inner", predicate="dwithin", distance=params.buffer_m)
    pairs = joined[["ping", "area"]].sort_values(["ping", "area"])
    days = ping_days(p, params)
    figures = reference_figures(p, end, pairs["ping"].to_numpy(), pairs["area"].to_numpy(), days, len(areas), params)
    return figures_frame(figures, [str(c) for c, _ in areas], days)


def compare(expected: pd.DataFrame, actual: pd.DataFrame) -> list[str]:
    """Differences between two results (exact: minutes are exact multiples of a microsecond)."""
    key = ["area_code", "date"]
    merged = expected.merge(actual, on=key, how="outer", suffixes=("_exp", "_act"), indicator=True)
    problems = [
        f"{r.area_code} {r.date}: only in {'expected' if r._merge == 'left_only' else 'actual'}"
        for r in merged[merged["_merge"] != "both"].itertuples()
    ]
    both = merged[merged["_merge"] == "both"]
    for column in [c for c in OUTPUT_COLUMNS if c not in key]:
        bad = both[both[f"{column}_exp"] != both[f"{column}_act"]]
        problems += [
            f"{r.area_code} {r.date}: {column} {getattr(r, column + '_exp')} != {getattr(r, column + '_act')}"
            for r in bad.itertuples()
        ]
    return problems
