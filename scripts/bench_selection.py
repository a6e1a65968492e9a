"""Benchmark: hot-spot selection at national scale (placement of crimes in areas, then ranking and publishing).

Builds a grid-ish tiling of irregular polygons in EPSG:27700 (default 35,000 areas, about the number of LSOAs
in England and Wales) and generated crimes (default 18 million: a year of national street-level crime),
places every crime by point in polygon with the pipeline's own SQL (sql/transform/place_points.sql via
hotspots.sources.areas.place_points) and runs hotspots.selection.select_hotspots. The baseline is a naive
point-in-polygon join without any spatial prefilter (every point tested against every polygon) on a
subsample, extrapolated; it also checks that both give the same areas.

    .venv/bin/python scripts/bench_selection.py [--areas 35000] [--crimes 18000000] [--baseline-points 2000]

Prints figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from hotspots.selection import select_hotspots
from hotspots.settings import Settings
from hotspots.sources.areas import place_points
from hotspots.warehouse import apply_schema, connect

FORCE = "national"
CELL_M = 1200.0
ORIGIN = (150_000.0, 50_000.0)
# Share of street-level crime by category (roughly the national mix); three count for selection.
CRIME_MIX = [
    ("Violence and sexual offences", 0.33), ("Robbery", 0.012), ("Possession of weapons", 0.01),
    ("Anti-social behaviour", 0.18), ("Shoplifting", 0.08), ("Other theft", 0.08), ("Burglary", 0.05),
    ("Criminal damage and arson", 0.08), ("Vehicle crime", 0.07), ("Public order", 0.068), ("Drugs", 0.04),
]


def tiling(n_areas: int, seed: int = 1) -> tuple[pa.Table, tuple[int, int]]:
    """n_areas irregular polygons tiling a rectangle: a jittered lattice with wiggly shared edges (16 vertices)."""
    nx = int(math.sqrt(n_areas * 0.875))
    ny = math.ceil(n_areas / nx)
    rng = np.random.default_rng(seed)
    vx = (np.arange(nx + 1)[:, None] + rng.uniform(-0.2, 0.2, (nx + 1, ny + 1))) * CELL_M + ORIGIN[0]
    vy = (np.arange(ny + 1)[None, :] + rng.uniform(-0.2, 0.2, (nx + 1, ny + 1))) * CELL_M + ORIGIN[1]
    t = np.array([0.25, 0.5, 0.75])

    def edge_points(ax, ay, bx, by, wiggle):
        """Three points along each edge a->b, pushed sideways by `wiggle` (shared by both neighbours)."""
        dx, dy = bx - ax, by - ay
        length = np.hypot(dx, dy)
        nxv, nyv = -dy / length, dx / length
        px = ax[..., None] + t * dx[..., None] + wiggle * CELL_M * nxv[..., None]
        py = ay[..., None] + t * dy[..., None] + wiggle * CELL_M * nyv[..., None]
        return px, py

    hx, hy = edge_points(vx[:-1, :], vy[:-1, :], vx[1:, :], vy[1:, :], rng.uniform(-0.08, 0.08, (nx, ny + 1, 3)))
    wx, wy = edge_points(vx[:, :-1], vy[:, :-1], vx[:, 1:], vy[:, 1:], rng.uniform(-0.08, 0.08, (nx + 1, ny, 3)))
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    i, j = i.ravel()[:n_areas], j.ravel()[:n_areas]
    ring_x = np.concatenate([
        vx[i, j, None], hx[i, j], vx[i + 1, j, None], wx[i + 1, j], vx[i + 1, j + 1, None],
        hx[i, j + 1][:, ::-1], vx[i, j + 1, None], wx[i, j][:, ::-1], vx[i, j, None]], axis=1)
    ring_y = np.concatenate([
        vy[i, j, None], hy[i, j], vy[i + 1, j, None], wy[i + 1, j], vy[i + 1, j + 1, None],
        hy[i, j + 1][:, ::-1], vy[i, j + 1, None], wy[i, j][:, ::-1], vy[i, j, None]], axis=1)
    wkt = [
        "POLYGON((" + ",".join(f"{x:.1f} {y:.1f}" for x, y in zip(xs, ys)) + "))"
        for xs, ys in zip(ring_x, ring_y)
    ]
    codes = [f"N{a:04d}{b:04d}" for a, b in zip(i, j)]
    return pa.table({"area_code": codes, "wkt": wkt}), (nx, ny)


def build(con, n_areas: int, n_crimes: int, map_points: int) -> dict:
    """Fill stg_areas and the table bench_points (easting, northing, month, crime_type, crime_id)."""
    started = time.perf_counter()
    areas, (nx, ny) = tiling(n_areas)
    con.register("area_wkt", areas)
    con.execute(
        """INSERT INTO stg_areas SELECT ?, area_code, area_code, g, ST_Area(g), 'bench', now()
           FROM (SELECT area_code, ST_GeomFromText(wkt) AS g FROM area_wkt)""",
        [FORCE],
    )
    con.unregister("area_wkt")
    invalid = con.execute("SELECT count(*) FROM stg_areas WHERE NOT ST_IsValid(geom)").fetchone()[0]
    # data.police.uk snaps every crime to one of "over 750,000 anonymous map points" (police.uk, location
    # anonymisation). Map points: 60% spread evenly, 40% around 2,000 centres (sd 500 m); crimes pick map
    # points with a strong skew (u^3), as street crime concentrates. Randomness from hash() of row numbers, so
    # every run generates the same data.
    cum, edges = 0.0, []
    for crime_type, share in CRIME_MIX:
        cum += share
        edges.append(f"WHEN u_type < {cum / sum(s for _, s in CRIME_MIX):.6f} THEN '{crime_type}'")
    width, height = nx * CELL_M, ny * CELL_M
    con.execute(
        f"""CREATE OR REPLACE TABLE bench_map_points AS
        WITH u AS (
            SELECT i, hash(i * 16 + 1) / {2.0**64} AS u1, hash(i * 16 + 2) / {2.0**64} AS u2, hash(i * 16 + 3) / {2.0**64} AS u3,
                   hash(i * 16 + 6) % 2000 AS centre
            FROM range({map_points}) t(i)
        )
        SELECT i AS point_id,
               round(CASE WHEN u3 < 0.6 THEN {ORIGIN[0]} + u1 * {width}
                    ELSE {ORIGIN[0]} + (hash(centre * 16 + 7) / {2.0**64}) * {width}
                         + 500 * sqrt(-2 * ln(greatest(u1, 1e-12))) * cos(2 * pi() * u2) END) AS easting,
               round(CASE WHEN u3 < 0.6 THEN {ORIGIN[1]} + u2 * {height}
                    ELSE {ORIGIN[1]} + (hash(centre * 16 + 8) / {2.0**64}) * {height}
                         + 500 * sqrt(-2 * ln(greatest(u1, 1e-12))) * sin(2 * pi() * u2) END) AS northing
        FROM u"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE bench_points AS
        WITH u AS (
            SELECT i, floor({map_points} * pow(hash(i * 16 + 11) / {2.0**64}, 3))::BIGINT AS point_id,
                   hash(i * 16 + 4) / {2.0**64} AS u_type, hash(i * 16 + 5) % 12 AS m
            FROM range({n_crimes}) t(i)
        )
        SELECT 'c' || i AS crime_id, i + 1 AS source_row, p.easting, p.northing,
               (DATE '2023-05-01' + to_months(m::INTEGER))::DATE AS month,
               CASE {' '.join(edges)} ELSE 'Other crime' END AS crime_type
        FROM u JOIN bench_map_points p USING (point_id)"""
    )
    return {"build_s": time.perf_counter() - started, "invalid_polygons": invalid, "grid": [nx, ny]}


class Timer:
    """Wall and CPU seconds of a block (CPU counts every DuckDB thread of this process)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


INSERT_CRIMES = f"""INSERT INTO stg_crimes (force, source, crime_key, month, crime_type, easting, northing, area_code,
                                    source_file, source_row, loaded_at)
    SELECT '{FORCE}', 'police_uk', crime_id, month, crime_type, easting, northing, area_code,
           'bench', source_row, now()
    FROM {{placed}}"""


def place_by_map_point(con) -> Timer:
    """Place each distinct map point once with the pipeline's place_points, join back, load stg_crimes."""
    with Timer() as timer:
        with Timer() as timer.place:
            con.execute("CREATE OR REPLACE TEMP TABLE bench_distinct AS SELECT DISTINCT easting, northing FROM bench_points")
            located = place_points(con, "bench_distinct", force=FORCE)  # noqa: F841 (read by DuckDB by name)
            con.execute("CREATE OR REPLACE TEMP TABLE bench_located AS SELECT easting, northing, area_code FROM located")
        with Timer() as timer.load:
            con.execute(
                INSERT_CRIMES.format(placed="""(SELECT b.*, l.area_code FROM bench_points b
                    LEFT JOIN bench_located l ON b.easting = l.easting AND b.northing = l.northing)""")
            )
    return timer


def place_per_row(con, n_rows: int) -> Timer:
    """The pipeline's place_points on every row of a sample (no de-duplication), into a scratch table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE bench_rows AS SELECT * FROM bench_points LIMIT {n_rows}")
    with Timer() as timer:
        placed = place_points(con, "bench_rows", force=FORCE)  # noqa: F841 (read by DuckDB by name)
        con.execute("CREATE OR REPLACE TEMP TABLE bench_rows_placed AS SELECT crime_id, area_code FROM placed")
    mismatches = con.execute(
        """SELECT count(*) FROM bench_rows_placed r JOIN stg_crimes c ON c.force = $force AND c.crime_key = r.crime_id
           WHERE c.area_code IS DISTINCT FROM r.area_code""",
        {"force": FORCE},
    ).fetchone()[0]
    timer.mismatches = mismatches
    return timer


def baseline(con, n_points: int) -> dict:
    """Naive point in polygon on a subsample: every point against every polygon, no spatial prefilter."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE bench_sub AS SELECT * FROM bench_points USING SAMPLE {n_points} ROWS (reservoir, 42)")
    query = """SELECT s.crime_id, min(a.area_code) AS area_code
               FROM bench_sub s, stg_areas a
               WHERE a.force = $force AND ST_Contains(a.geom, ST_Point(s.easting, s.northing))::INTEGER = 1
               GROUP BY s.crime_id"""
    plan = "\n".join(row[1] for row in con.execute("EXPLAIN " + query, {"force": FORCE}).fetchall())
    if "SPATIAL_JOIN" in plan:
        raise RuntimeError("the baseline query was turned into a SPATIAL_JOIN; it would not be naive")
    started = time.perf_counter()
    con.execute("CREATE OR REPLACE TEMP TABLE bench_naive AS " + query, {"force": FORCE})
    seconds = time.perf_counter() - started
    mismatches = con.execute(
        """SELECT count(*) FROM bench_sub s
           LEFT JOIN bench_naive n USING (crime_id)
           JOIN stg_crimes c ON c.force = $force AND c.crime_key = s.crime_id
           WHERE c.area_code IS DISTINCT FROM n.area_code""",
        {"force": FORCE},
    ).fetchone()[0]
    return {"points": n_points, "seconds": seconds, "mismatches": mismatches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=35_000)
    parser.add_argument("--crimes", type=int, default=18_000_000)
    parser.add_argument("--map-points", type=int, default=750_000, help="Anonymous map points crimes are snapped to.")
    parser.add_argument("--per-row-sample", type=int, default=2_000_000, help="Rows placed one by one (no de-duplication).")
    parser.add_argument("--baseline-points", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-selection-") as tmp:
        settings = Settings(data_dir=Path(tmp), hotspot_count=250)
        con = connect(settings=settings)
        if args.threads:
            con.execute(f"SET threads = {args.threads}")
        apply_schema(con, settings)
        threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
        built = build(con, args.areas, args.crimes, args.map_points)
        distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT easting, northing FROM bench_points)").fetchone()[0]
        print(f"built {args.areas:,} areas ({built['grid'][0]}x{built['grid'][1]} lattice, {built['invalid_polygons']} invalid) "
              f"and {args.crimes:,} crimes on {distinct:,} distinct map points in {built['build_s']:.1f} s "
              f"(not timed below); DuckDB threads {threads}")

        place = place_by_map_point(con)
        placed, outside = con.execute(
            "SELECT count(area_code), count(*) - count(area_code) FROM stg_crimes WHERE force = ?", [FORCE]
        ).fetchone()
        print(f"placement + load (each map point once): wall {place.wall:.1f} s, CPU {place.cpu:.1f} s "
              f"({args.crimes / place.wall / 1e6:.2f} M crimes/s); placed {placed:,}, outside every area {outside:,}")
        print(f"  of which: distinct map points + place_points: wall {place.place.wall:.1f} s, CPU {place.place.cpu:.1f} s; "
              f"join back + insert into stg_crimes: wall {place.load.wall:.1f} s, CPU {place.load.cpu:.1f} s")

        with Timer() as select:
            result = select_hotspots(con, force=FORCE, settings=settings)
        print(f"selection: wall {select.wall:.2f} s, CPU {select.cpu:.2f} s; {len(result['hotspots'])} hot spots hold "
              f"{result['selected_harm_share']:.1%} of harm; Gini {result['gini']:.3f}")

        n_rows = min(args.per_row_sample, args.crimes)
        per_row = place_per_row(con, n_rows)
        per_row_full = per_row.wall / n_rows * args.crimes
        print(f"pipeline place_points row by row: {n_rows:,} rows wall {per_row.wall:.1f} s, CPU {per_row.cpu:.1f} s "
              f"-> {per_row_full:.0f} s extrapolated to {args.crimes:,}; {per_row.mismatches} rows disagree")

        base = baseline(con, args.baseline_points)
        naive_full = base["seconds"] / base["points"] * args.crimes
        print(f"baseline (naive join, no prefilter): {base['points']:,} points in {base['seconds']:.1f} s "
              f"-> {naive_full / 3600:.1f} h extrapolated to {args.crimes:,} ({naive_full / place.wall:,.0f}x slower); "
              f"areas disagree for {base['mismatches']} of {base['points']} sampled points")
        total = place.wall + select.wall
        print(f"total placement + selection: wall {total:.1f} s, CPU {place.cpu + select.cpu:.1f} s "
              f"(target < 30 s wall): {'OK' if total < 30 else 'OVER'}")
        con.close()

    print(json.dumps({
        "benchmark": "selection_national", "areas": args.areas, "crimes": args.crimes, "map_points": distinct,
        "threads": threads, "build_s": round(built["build_s"], 2),
        "place_load_s": round(place.wall, 2), "place_load_cpu_s": round(place.cpu, 2),
        "place_s": round(place.place.wall, 2), "place_cpu_s": round(place.place.cpu, 2),
        "load_s": round(place.load.wall, 2), "load_cpu_s": round(place.load.cpu, 2),
        "select_s": round(select.wall, 2), "select_cpu_s": round(select.cpu, 2), "total_s": round(total, 2),
        "placed": placed, "outside": outside, "hotspots": len(result["hotspots"]),
        "selected_harm_share": round(result["selected_harm_share"], 4), "gini": round(result["gini"], 4),
        "per_row_rows": n_rows, "per_row_s": round(per_row.wall, 2), "per_row_cpu_s": round(per_row.cpu, 2),
        "per_row_extrapolated_s": round(per_row_full, 1), "per_row_mismatches": per_row.mismatches,
        "baseline_points": base["points"], "baseline_s": round(base["seconds"], 2),
        "baseline_extrapolated_s": round(naive_full, 1), "baseline_mismatches": base["mismatches"],
        "target_met": total < 30,
    }))


if __name__ == "__main__":
    main()
