"""Benchmark: hot-spot selection at national scale (placement of crimes in areas, then ranking and publishing).

Builds a grid-ish tiling of irregular polygons in EPSG:27700 (default 35,000 areas, about the number of LSOAs
in England and Wales) and generated crimes (default 18 million: a year of national street-level crime, shaped
like data.police.uk rows), loads them with the pipeline's own loader (hotspots.sources.police_uk.load_relation:
the file's new map points placed by sql/transform/place_points.sql into stg_crime_points, then its rows by
sql/transform/load_crime_records.sql into stg_crime_records, one transaction per monthly file as
ingest_crime_file does) and runs hotspots.selection.select_hotspots. Also
timed: the previous per-row placement (a SPATIAL_JOIN on every row) on a sample, and the baseline, a naive
point-in-polygon join without any spatial prefilter (every point tested against every polygon) on a
subsample, both extrapolated; both are checked against the areas the pipeline stored.

    .venv/bin/python scripts/bench_selection.py [--areas 35000] [--crimes 18000000]
        [--baseline-points 2000] [--repeat 3]

Placement + load + selection runs --repeat times from empty crime tables (the machine's wall time varies by
about 20% from run to run) and the median run is reported. Prints figures; the last line is one JSON object.
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
from hotspots.sources.police_uk import SOURCE, load_relation
from hotspots.warehouse import apply_schema, connect, transaction

FORCE = "national"
MONTHS = 12
FIRST_MONTH = "2023-05-01"
CELL_M = 1200.0
ORIGIN = (150_000.0, 50_000.0)
# Share of street-level crime by category (roughly the national mix); three count for selection.
CRIME_MIX = [
    ("Violence and sexual offences", 0.33),
    ("Robbery", 0.012),
    ("Possession of weapons", 0.01),
    ("Anti-social behaviour", 0.18),
    ("Shoplifting", 0.08),
    ("Other theft", 0.08),
    ("Burglary", 0.05),
    ("Criminal damage and arson", 0.08),
    ("Vehicle crime", 0.07),
    ("Public order", 0.068),
    ("Drugs", 0.04),
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
    ring_x = np.concatenate(
        [
            vx[i, j, None],
            hx[i, j],
            vx[i + 1, j, None],
            wx[i + 1, j],
            vx[i + 1, j + 1, None],
            hx[i, j + 1][:, ::-1],
            vx[i, j + 1, None],
            wx[i, j][:, ::-1],
            vx[i, j, None],
        ],
        axis=1,
    )
    ring_y = np.concatenate(
        [
            vy[i, j, None],
            hy[i, j],
            vy[i + 1, j, None],
            wy[i + 1, j],
            vy[i + 1, j + 1, None],
            hy[i, j + 1][:, ::-1],
            vy[i, j + 1, None],
            wy[i, j][:, ::-1],
            vy[i, j, None],
        ],
        axis=1,
    )
    wkt = ["POLYGON((" + ",".join(f"{x:.1f} {y:.1f}" for x, y in zip(xs, ys)) + "))" for xs, ys in zip(ring_x, ring_y)]
    codes = [f"N{a:04d}{b:04d}" for a, b in zip(i, j)]
    return pa.table({"area_code": codes, "wkt": wkt}), (nx, ny)


def build(con, n_areas: int, n_crimes: int, map_points: int, lean: bool = False) -> dict:
    """Fill stg_areas and the table bench_points (the typed columns load_relation reads, one run per month)."""
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
    # every run generates the same data. Crime i falls in month i % 12.
    cum, edges = 0.0, []
    for crime_type, share in CRIME_MIX:
        cum += share
        edges.append(f"WHEN u_type < {cum / sum(s for _, s in CRIME_MIX):.6f} THEN '{crime_type}'")
    width, height = nx * CELL_M, ny * CELL_M
    # Each map point also carries what data.police.uk prints for it: longitude/latitude (an affine stand-in
    # for the transform; not used for placement), a "On or near ..." street and an LSOA code.
    con.execute(
        f"""CREATE OR REPLACE TABLE bench_map_points AS
        WITH u AS (
            SELECT i, hash(i * 16 + 1) / {2.0**64} AS u1, hash(i * 16 + 2) / {2.0**64} AS u2,
                hash(i * 16 + 3) / {2.0**64} AS u3,
                   hash(i * 16 + 6) % 2000 AS centre
            FROM range({map_points}) t(i)
        ),
        p AS (
            SELECT i AS point_id,
                   round(CASE WHEN u3 < 0.6 THEN {ORIGIN[0]} + u1 * {width}
                        ELSE {ORIGIN[0]} + (hash(centre * 16 + 7) / {2.0**64}) * {width}
                             + 500 * sqrt(-2 * ln(greatest(u1, 1e-12))) * cos(2 * pi() * u2) END) AS easting,
                   round(CASE WHEN u3 < 0.6 THEN {ORIGIN[1]} + u2 * {height}
                        ELSE {ORIGIN[1]} + (hash(centre * 16 + 8) / {2.0**64}) * {height}
                             + 500 * sqrt(-2 * ln(greatest(u1, 1e-12))) * sin(2 * pi() * u2) END) AS northing
            FROM u
        )
        SELECT *, round(-7.5 + (easting - 400000) / 70000, 6) AS lon,
            round(49.75 + (northing + 100000) / 111000, 6) AS lat,
               'On or near ' || ['High Street', 'Church Road', 'Station Road', 'Park Lane', 'Mill Lane', 'School Lane',
                                 'Parking Area', 'Supermarket', 'Petrol Station',
                                     'Nightclub'][1 + (hash(point_id * 16 + 9) % 10)::BIGINT]
                             || ' ' || (hash(point_id * 16 + 10) % 20000) AS location,
               'E0' || lpad((hash(point_id * 16 + 12) % 35000)::VARCHAR, 7, '0') AS file_lsoa_code
        FROM p"""
    )
    # One table in month order (one INSERT per month), so each monthly "file" is a contiguous run of row groups.
    # Crime ID: 64 hex characters as published; empty for anti-social behaviour, as published (the loader
    # then keys the row by a hash of file and row). source_row is unique within the file (and the year).
    con.execute(
        """CREATE OR REPLACE TABLE bench_points (source_row BIGINT, crime_id VARCHAR, month DATE, occurred_at TIMESTAMP,
           crime_type VARCHAR, offence_code VARCHAR, knife_flag BOOLEAN, lon DOUBLE, lat DOUBLE, easting DOUBLE,
           northing DOUBLE, location VARCHAR, file_lsoa_code VARCHAR)"""
    )
    # --lean-rows: the earlier shape of this benchmark (short ids 'c<i>', no lon/lat, location or LSOA code).
    full_id = "CASE WHEN crime_type = 'Anti-social behaviour' THEN '' ELSE sha256('c' || i) END"
    full_cols = "p.lon, p.lat, p.easting, p.northing, p.location, p.file_lsoa_code"
    lean_id, lean_cols = "'c' || i", "NULL, NULL, p.easting, p.northing, NULL, NULL"
    for m in range(MONTHS):
        con.execute(
            f"""INSERT INTO bench_points
            WITH u AS (
                SELECT i, floor({map_points} * pow(hash(i * 16 + 11) / {2.0**64}, 3))::BIGINT AS point_id,
                       hash(i * 16 + 4) / {2.0**64} AS u_type
                FROM range({m}, {n_crimes}, {MONTHS}) t(i)
            ),
            typed AS (SELECT *, CASE {" ".join(edges)} ELSE 'Other crime' END AS crime_type FROM u)
            SELECT i + 1, {lean_id if lean else full_id}, (DATE '{FIRST_MONTH}' + to_months({m}))::DATE,
                NULL, crime_type,
                   NULL, NULL, {lean_cols if lean else full_cols}
            FROM typed JOIN bench_map_points p USING (point_id)"""
        )
    con.execute("CHECKPOINT")  # write the generated data now, not in the first timed commit
    return {"build_s": time.perf_counter() - started, "invalid_polygons": invalid, "grid": [nx, ny]}


class Timer:
    """Wall and CPU seconds of a block (CPU counts every DuckDB thread of this process)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def month_files(con) -> list[tuple[str, str]]:
    """(month, file name) of each monthly file, as ingest_crime file names them."""
    months = [m for (m,) in con.execute("SELECT DISTINCT month::VARCHAR FROM bench_points ORDER BY 1").fetchall()]
    return [(m, f"{m[:7]}-{FORCE}-street.csv") for m in months]


def load_pipeline(con, files: list[tuple[str, str]], by: str) -> Timer:
    """The pipeline's loader (load_relation: delete the file's rows, place and add its new map points, insert
    its rows, count the rows outside), one transaction per file as ingest_crime_file; by 'month' (the DAG's unit)
    or the 'year' as one file. Ends with a CHECKPOINT, so storage work deferred by the commits is timed here too."""
    with Timer() as timer:
        timer.files = []
        if by == "year":
            files = [("", f"{FORCE}-year-street.csv")]
        for month, name in files:
            where = f"WHERE month = DATE '{month}'" if month else ""
            con.execute(f"CREATE OR REPLACE TEMP VIEW bench_file AS SELECT * FROM bench_points {where}")
            with Timer() as one:
                with transaction(con):
                    load_relation(con, "bench_file", force=FORCE, source=SOURCE, source_file=name)
            timer.files.append(one.wall)
        # Deferred storage work (row groups committed through the WAL are compacted here) belongs to the load.
        with Timer() as timer.checkpoint:
            con.execute("CHECKPOINT")
    return timer


def clear(con) -> None:
    """Empty the crime and selection tables (between timed runs, so each run loads from nothing), untimed."""
    for table in ("stg_crime_records", "stg_crime_points", "stg_crime_files", "hotspot_ranking", "selections"):
        con.execute(f"DELETE FROM {table}")
    con.execute("CHECKPOINT")


# The previous sql/transform/place_points.sql (kept here as the comparison): a SPATIAL_JOIN on every row, one
# row kept per row id by a window (lowest area_code on a boundary).
PER_ROW_PLACEMENT = """
WITH areas AS (SELECT area_code, geom FROM stg_areas WHERE force = $force),
points AS (SELECT *, row_number() OVER () AS _place_id, ST_Point(easting, northing) AS _pt FROM bench_rows)
SELECT points.source_row, areas.area_code
FROM points
LEFT JOIN areas ON ST_Intersects(areas.geom, points._pt)
QUALIFY row_number() OVER (PARTITION BY points._place_id ORDER BY areas.area_code) = 1"""


def place_per_row(con, n_rows: int) -> Timer:
    """The previous placement, a SPATIAL_JOIN on every row of a sample (no de-duplication), into a scratch table."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE bench_rows AS SELECT * FROM bench_points USING SAMPLE {n_rows} ROWS "
        "(reservoir, 7)"
    )
    with Timer() as timer:
        con.execute("CREATE OR REPLACE TEMP TABLE bench_rows_placed AS " + PER_ROW_PLACEMENT, {"force": FORCE})
    timer.rows = con.execute("SELECT count(*) FROM bench_rows_placed").fetchone()[0]
    timer.mismatches = con.execute(
        """SELECT count(*) FROM bench_rows_placed r JOIN stg_crimes c ON c.force = $force
            AND c.source_row = r.source_row
           WHERE c.area_code IS DISTINCT FROM r.area_code""",
        {"force": FORCE},
    ).fetchone()[0]
    return timer


def baseline(con, n_points: int) -> dict:
    """Naive point in polygon on a subsample: every point against every polygon, no spatial prefilter."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE bench_sub AS SELECT * FROM bench_points USING SAMPLE {n_points} ROWS "
        "(reservoir, 42)"
    )
    query = """SELECT s.source_row, min(a.area_code) AS area_code
               FROM bench_sub s, stg_areas a
               WHERE a.force = $force AND ST_Contains(a.geom, ST_Point(s.easting, s.northing))::INTEGER = 1
               GROUP BY s.source_row"""
    plan = "\n".join(row[1] for row in con.execute("EXPLAIN " + query, {"force": FORCE}).fetchall())
    if "SPATIAL_JOIN" in plan:
        raise RuntimeError("the baseline query was turned into a SPATIAL_JOIN; it would not be naive")
    started = time.perf_counter()
    con.execute("CREATE OR REPLACE TEMP TABLE bench_naive AS " + query, {"force": FORCE})
    seconds = time.perf_counter() - started
    mismatches = con.execute(
        """SELECT count(*) FROM bench_sub s
           LEFT JOIN bench_naive n USING (source_row)
           JOIN stg_crimes c ON c.force = $force AND c.source_row = s.source_row
           WHERE c.area_code IS DISTINCT FROM n.area_code""",
        {"force": FORCE},
    ).fetchone()[0]
    return {"points": n_points, "seconds": seconds, "mismatches": mismatches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=35_000)
    parser.add_argument("--crimes", type=int, default=18_000_000)
    parser.add_argument("--map-points", type=int, default=750_000, help="Anonymous map points crimes are snapped to.")
    parser.add_argument(
        "--per-row-sample", type=int, default=2_000_000, help="Rows placed one by one (no de-duplication)."
    )
    parser.add_argument("--baseline-points", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores).")
    parser.add_argument(
        "--load-by",
        choices=["month", "year"],
        default="month",
        help="One file per month (as the DAG loads them) or the whole year as one file.",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="Timed runs of placement + load + selection, each from empty crime tables; the median is reported.",
    )
    parser.add_argument(
        "--lean-rows",
        action="store_true",
        help="The earlier data shape: short crime ids, no lon/lat, location or LSOA code.",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-selection-") as tmp:
        settings = Settings(data_dir=Path(tmp), hotspot_count=250)
        con = connect(settings=settings)
        if args.threads:
            con.execute(f"SET threads = {args.threads}")
        apply_schema(con, settings)
        threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
        built = build(con, args.areas, args.crimes, args.map_points, lean=args.lean_rows)
        distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT easting, northing FROM bench_points)").fetchone()[
            0
        ]
        print(
            f"built {args.areas:,} areas ({built['grid'][0]}x{built['grid'][1]} lattice, "
            f"{built['invalid_polygons']} invalid) "
            f"and {args.crimes:,} crimes on {distinct:,} distinct map points in {built['build_s']:.1f} s "
            f"(not timed below); DuckDB threads {threads}"
        )

        files = month_files(con)
        runs = []
        for run in range(args.repeat):
            if run:
                clear(con)
            place = load_pipeline(con, files, args.load_by)
            placed, outside = con.execute(
                "SELECT count(area_code), count(*) - count(area_code) FROM stg_crimes WHERE force = ?", [FORCE]
            ).fetchone()
            points = con.execute("SELECT count(*) FROM stg_crime_points WHERE force = ?", [FORCE]).fetchone()[0]
            stored = placed + outside
            if stored != args.crimes:
                raise RuntimeError(f"stg_crimes holds {stored:,} rows, not the {args.crimes:,} generated")
            print(
                f"run {run + 1}: placement + load (pipeline loader, {len(place.files)} file(s) by {args.load_by}, one "
                f"transaction each): wall {place.wall:.1f} s, CPU {place.cpu:.1f} s "
                f"({args.crimes / place.wall / 1e6:.2f} M "
                f"crimes/s); placed {placed:,}, outside every area {outside:,}; map points stored {points:,}; per file "
                f"{', '.join(f'{s:.2f}' for s in place.files)} s; final CHECKPOINT {place.checkpoint.wall:.2f} s"
            )
            with Timer() as select:
                result = select_hotspots(con, force=FORCE, settings=settings)
            print(
                f"run {run + 1}: selection: wall {select.wall:.2f} s, CPU {select.cpu:.2f} s; "
                f"{len(result['hotspots'])} hot "
                f"spots hold {result['selected_harm_share']:.1%} of harm; Gini {result['gini']:.3f}; "
                f"total {place.wall + select.wall:.1f} s"
            )
            runs.append((place.wall + select.wall, place, select))
        total, place, select = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run

        n_rows = min(args.per_row_sample, args.crimes)
        per_row = place_per_row(con, n_rows)
        per_row_full = per_row.wall / n_rows * args.crimes
        print(
            f"previous placement, a SPATIAL_JOIN per row: {n_rows:,} rows wall {per_row.wall:.1f} s, CPU "
            f"{per_row.cpu:.1f} s "
            f"-> {per_row_full:.0f} s extrapolated to {args.crimes:,}; {per_row.mismatches} rows disagree"
        )

        base = baseline(con, args.baseline_points)
        naive_full = base["seconds"] / base["points"] * args.crimes
        print(
            f"baseline (naive join, no prefilter): {base['points']:,} points in {base['seconds']:.1f} s "
            f"-> {naive_full / 3600:.1f} h extrapolated to {args.crimes:,} ({naive_full / place.wall:,.0f}x slower); "
            f"areas disagree for {base['mismatches']} of {base['points']} sampled points"
        )
        print(
            f"total placement + selection, median of {len(runs)} run(s) "
            f"({', '.join(f'{r[0]:.1f}' for r in runs)} s): wall {total:.1f} s, CPU {place.cpu + select.cpu:.1f} s "
            f"(target < 30 s wall): {'OK' if total < 30 else 'OVER'}"
        )
        con.close()

    print(
        json.dumps(
            {
                "benchmark": "selection_national",
                "areas": args.areas,
                "crimes": args.crimes,
                "map_points": distinct,
                "threads": threads,
                "build_s": round(built["build_s"], 2),
                "load_by": args.load_by,
                "files": len(place.files),
                "place_load_s": round(place.wall, 2),
                "place_load_cpu_s": round(place.cpu, 2),
                "rows": "lean" if args.lean_rows else "police_uk",
                "slowest_file_s": round(max(place.files), 2),
                "file_s": [round(s, 2) for s in place.files],
                "points_stored": points,
                "checkpoint_s": round(place.checkpoint.wall, 2),
                "select_s": round(select.wall, 2),
                "select_cpu_s": round(select.cpu, 2),
                "total_s": round(total, 2),
                "runs_total_s": [round(r[0], 2) for r in runs],
                "placed": placed,
                "outside": outside,
                "hotspots": len(result["hotspots"]),
                "selected_harm_share": round(result["selected_harm_share"], 4),
                "gini": round(result["gini"], 4),
                "per_row_rows": n_rows,
                "per_row_s": round(per_row.wall, 2),
                "per_row_cpu_s": round(per_row.cpu, 2),
                "per_row_extrapolated_s": round(per_row_full, 1),
                "per_row_mismatches": per_row.mismatches,
                "baseline_points": base["points"],
                "baseline_s": round(base["seconds"], 2),
                "baseline_extrapolated_s": round(naive_full, 1),
                "baseline_mismatches": base["mismatches"],
                "target_met": total < 30,
            }
        )
    )


if __name__ == "__main__":
    main()
