"""Benchmark of the patrol method: synthetic county, N pings, fast method vs SPATIAL_JOIN vs geopandas.

    flock /tmp/bench.lock .venv/bin/hotspots bench patrol-minutes [--pings N]

Figures are recorded in docs/benchmarks.md ("Patrol minutes"). The synthetic county and pings are also the data
of benchmarks/ingest_avl.py. The patrol parameters are the settings' (hotspots.settings).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from benchmarks.common import median_run, peak_rss_mb, timed
from hotspots.patrol.core import PatrolParams, PingArrays, patrol_minutes
from hotspots.patrol.grid import AreaIndex

REGION_M = (36_000.0, 34_000.0)  # about Bedfordshire's 1,235 km2
ORIGIN = (495_000.0, 215_000.0)  # British National Grid, near Bedford
DAY_START = np.datetime64("2024-03-30T23:00:00", "us")  # local midnight of Sunday 31 March (BST starts)


def synthetic_areas(n_areas: int = 381, seed: int = 1) -> list[tuple[str, Any]]:
    """Irregular polygons tiling the region: a Voronoi tiling with denser towns, edges densified and bent by
    one smooth displacement field (shared edges stay shared), ~30-100 vertices each."""
    rng = np.random.default_rng(seed)
    w, h = REGION_M
    towns = np.array([[0.3 * w, 0.6 * h], [0.7 * w, 0.35 * h], [0.5 * w, 0.8 * h]])
    n_town = n_areas // 4
    town_pts = towns[rng.integers(0, len(towns), n_town)] + rng.normal(0, 3500, (n_town, 2))
    seeds = np.vstack([town_pts, rng.uniform((0, 0), (w, h), (n_areas - n_town, 2))])
    seeds = np.clip(seeds, 1, (w - 1, h - 1))
    frame = shapely.box(0, 0, w, h)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    cells = cells[np.lexsort((shapely.get_y(shapely.centroid(cells)), shapely.get_x(shapely.centroid(cells))))]
    # one segment length for all, so a shared edge gets the same vertices from both sides
    step = float(np.median(shapely.length(cells))) / 60
    out = []
    for k, cell in enumerate(cells):
        ring = shapely.get_coordinates(shapely.segmentize(cell.exterior, step))
        poly = shapely.Polygon(ring + _bend(ring) + ORIGIN)
        out.append((f"E{k:05d}", poly if poly.is_valid else shapely.make_valid(poly)))
    return out


def _bend(xy: np.ndarray) -> np.ndarray:
    """Smooth displacement (amplitude 30 m, gradient < 1, so the tiling stays a tiling)."""
    x, y = xy[:, 0], xy[:, 1]
    dx = 30 * np.sin(x / 170.0 + 1.3) * np.cos(y / 230.0 + 0.4)
    dy = 30 * np.cos(x / 210.0 + 2.1) * np.sin(y / 190.0 + 0.7)
    return np.column_stack([dx, dy])


def synthetic_pings(n_pings: int, n_devices: int = 1000, seed: int = 2) -> dict[str, np.ndarray]:
    """One day of pings from n_devices, in time order: patrol (slow), transit (fast) and parked spells,
    ~5% of pings missing, half the devices report speed."""
    rng = np.random.default_rng(seed)
    per_dev = int(np.ceil(n_pings / n_devices / 0.95)) + 1
    period_us = int(86_400_000_000 // per_dev)
    w, h = REGION_M
    spell = max(1, per_dev // 300)
    n_spells = -(-per_dev // spell)
    state_speed = np.array([0.0, 5.0, 15.0, 45.0])  # parked, foot, slow drive, transit (km/h)
    kmh = state_speed[rng.integers(0, 4, (n_devices, n_spells))] * rng.uniform(0.6, 1.4, (n_devices, n_spells))
    kmh = np.repeat(kmh, spell, axis=1)[:, :per_dev].astype(np.float32)
    heading = np.cumsum(rng.normal(0, 0.15, (n_devices, per_dev)).astype(np.float32), axis=1)
    step = kmh * np.float32(period_us / 3.6e9)
    x = np.cumsum(step * np.cos(heading), axis=1, dtype=np.float64)
    x += rng.uniform(0, w, (n_devices, 1))
    y = np.cumsum(step * np.sin(heading), axis=1, dtype=np.float64)
    y += rng.uniform(0, h, (n_devices, 1))
    del heading, step
    x = ORIGIN[0] + _fold(x, w)
    y = ORIGIN[1] + _fold(y, h)
    reports = rng.random(n_devices) < 0.5
    speed = np.where(reports[:, None], kmh, np.float32(np.nan))
    del kmh
    # time-major layout: ping k of every device, devices at evenly spaced phases within the period
    dev = np.tile(np.arange(n_devices, dtype=np.int32), per_dev)
    ts = (
        DAY_START.astype(np.int64)
        + np.arange(per_dev, dtype=np.int64)[:, None] * period_us
        + (np.arange(n_devices, dtype=np.int64) * (period_us // n_devices))[None, :]
    ).ravel()
    keep = rng.random(ts.size) >= 0.05
    keep[np.cumsum(keep) > n_pings] = False
    return {
        "device_key": dev[keep],
        "ts": ts[keep].view("datetime64[us]"),
        "easting": x.T.ravel()[keep],
        "northing": y.T.ravel()[keep],
        "speed_kmh": speed.T.ravel()[keep].astype(np.float64),
    }


def _fold(v: np.ndarray, size: float) -> np.ndarray:
    """Reflect a walk back into [0, size] (a triangle wave)."""
    v = np.mod(v, 2 * size)
    return np.where(v > size, 2 * size - v, v)


def run_benchmark(
    n_pings: int = 10_000_000, n_devices: int = 1000, subsample: int = 1_000_000, repeat: int = 3, echo: Any = print
) -> dict[str, Any]:
    """Run (a) the fast method on all pings (the median of `repeat` runs), (b) the DuckDB SPATIAL_JOIN and
    (c) geopandas on a subsample of whole devices, check all agree exactly, and return the figures."""
    import duckdb

    from benchmarks.patrol_reference import compare, geopandas_patrol, spatial_join_patrol
    from hotspots.settings import get_settings
    from hotspots.warehouse import load_spatial

    params = PatrolParams.from_settings(get_settings())
    areas = synthetic_areas()
    vertices = [len(shapely.get_coordinates(g)) - 1 for _, g in areas]
    echo(
        f"areas: {len(areas)} irregular polygons tiling {REGION_M[0] / 1000:.0f} x {REGION_M[1] / 1000:.0f} km, "
        f"vertices min/median/max {min(vertices)}/{int(np.median(vertices))}/{max(vertices)}"
    )
    warm = synthetic_pings(20_000, 20, seed=3)
    patrol_minutes(warm, areas, params)  # compile or load the numba cache; not timed
    pings = synthetic_pings(n_pings, n_devices)
    n = len(pings["ts"])
    echo(f"pings: {n:,} from {n_devices} devices over one local day (31 March 2024, the spring DST change)")
    rss_before = peak_rss_mb()

    def fast() -> Any:
        index = AreaIndex.build(areas, params.buffer_m)
        return patrol_minutes(pings, index, params), index

    runs = [timed("fast (grid + numba)", n, fast) for _ in range(repeat)]
    (result, index), t_fast = median_run(runs, lambda run: run[1].seconds)
    rss_fast = peak_rss_mb()
    stats = index.stats()
    build_s = timed("grid", 0, lambda: AreaIndex.build(areas, params.buffer_m))[1].seconds
    echo(
        f"(a) fast method, all pings: {t_fast.seconds:.2f} s = {t_fast.per_s / 1e6:.2f} M pings/s, the median of "
        f"{repeat} runs ({', '.join(f'{t.seconds:.2f}' for _, t in runs)} s; each includes the grid build, "
        f"{build_s:.2f} s; cell {stats['cell_m']:.0f} m, {stats['certain_share']:.0%} of cell entries need no "
        f"geometry test); {len(result)} area-days"
    )
    echo(f"    peak RSS {rss_fast:.0f} MB (generated pings alone: {rss_before:.0f} MB)")

    n_sub_dev = max(1, int(round(n_devices * min(1.0, subsample / n))))
    mask = pings["device_key"] < n_sub_dev
    sub = PingArrays.from_input({k: v[mask] for k, v in pings.items()})
    m = len(sub.ts)
    echo(
        f"subsample for (b) and (c): the {n_sub_dev} first devices, {m:,} pings (whole devices, so the same semantics)"
    )
    sub_fast, t_sub = timed("fast", m, lambda: patrol_minutes(sub, areas, params))
    con = duckdb.connect()
    load_spatial(con)
    sub_sql, t_sql = timed("spatial join", m, lambda: spatial_join_patrol(con, sub, areas, params))
    sub_gpd, t_gpd = timed("geopandas", m, lambda: geopandas_patrol(sub, areas, params))
    diff_sql = compare(sub_sql, sub_fast)
    diff_gpd = compare(sub_sql, sub_gpd)
    agree = not diff_sql and not diff_gpd
    echo(f"(a) fast on subsample:       {t_sub.per_s / 1e6:8.2f} M pings/s")
    echo(f"(b) DuckDB SPATIAL_JOIN:     {t_sql.per_s / 1e6:8.2f} M pings/s")
    echo(f"(c) geopandas sjoin + numba: {t_gpd.per_s / 1e6:8.2f} M pings/s")
    echo(
        f"agreement on the subsample ({len(sub_sql)} area-days): "
        f"{'exact' if agree else 'DIFFERENT: ' + '; '.join((diff_sql + diff_gpd)[:5])}"
    )
    figures = {
        "pings": n,
        "devices": n_devices,
        "areas": len(areas),
        "seconds": round(t_fast.seconds, 3),
        "runs_s": [round(t.seconds, 3) for _, t in runs],
        "pings_per_s": round(t_fast.per_s),
        "grid_build_s": round(build_s, 3),
        "subsample_pings": m,
        "spatial_join_pings_per_s": round(t_sql.per_s),
        "geopandas_pings_per_s": round(t_gpd.per_s),
        "speedup_vs_spatial_join": round(t_fast.per_s / t_sql.per_s, 1),
        "speedup_vs_geopandas": round(t_fast.per_s / t_gpd.per_s, 1),
        "peak_rss_mb_fast": round(rss_fast),
        "peak_rss_mb": round(peak_rss_mb()),
        "agree": agree,
    }
    echo(
        f"speed-up vs SPATIAL_JOIN {figures['speedup_vs_spatial_join']}x, "
        f"vs geopandas {figures['speedup_vs_geopandas']}x"
    )
    return figures
