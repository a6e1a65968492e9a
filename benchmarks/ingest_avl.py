"""Benchmark of the real AVL step: a day of GPS pings in hourly CSV drops through hotspots.pipeline.ingest_avl
(raw copy, DuckDB read, the nine rules, Great Expectations, load, daily patrol, data docs), against DuckDB's
read_csv of the same files (the floor: merely reading them), timed in the same run.

    flock /tmp/bench.lock .venv/bin/hotspots bench ingest-avl [--pings 10000000] [--devices 1000] [--files 24]

The data: the synthetic county of the patrol benchmark (381 irregular areas over 36 x 34 km, inserted into
stg_areas); devices drive, walk and park (benchmarks.patrol_minutes.synthetic_pings, one ping every ~8.6 s at 10 M)
over UTC day 2024-03-31 (the day British Summer Time starts), written as --files CSV drops in
landing/<force>/avl/2024-03-31/ (hourly for 24). 0.02% of the rows for each of the nine rules are planted faults
(bad device id, unparseable time, a time 10 days old, no coordinates, lon/lat swapped, speed -5, unit 'bicycle',
an exact copy of a row, a 7 km spike), so every quarantine path runs. The step and the floor each run in a fresh
process (peak RSS is the step's own); Great Expectations is imported before the clock starts (a worker imports
it once) and the import is reported apart. Stages: the step's thread (raw copy, waiting for the reader, checks, GX,
waiting for the loader, daily patrol, data docs) and the two threads it overlaps (read and type the next file;
load the previous one). Figures: docs/benchmarks.md "AVL ingest (issue 12)".
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.common import StageClock, median_run, peak_rss_mb, run_child

FORCE = "bench"
DAY = date(2024, 3, 31)
KEY = "benchmark-pseudonym-key-not-a-secret"
FAULT_SHARE = 0.0002  # per rule
KINDS = (
    "invalid_device_id",
    "bad_timestamp",
    "timestamp_outside_window",
    "missing_coordinates",
    "outside_force_area",
    "invalid_speed",
    "invalid_unit_type",
    "duplicate_ping",
    "impossible_jump",
)
# The step's own thread, in order; "read" (reader thread) and "load" (loader thread) overlap it, so they are
# reported beside it (the waits are the part of them not hidden).
STAGES = ("raw_copy", "wait_for_read", "checks", "gx", "wait_for_load", "daily_patrol", "data_docs")
OVERLAPPED = ("read", "load")


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")}
    env.update({"HOTSPOTS_DATA_DIR": str(root / "data"), "HOTSPOTS_PSEUDONYM_KEY": KEY, "HOTSPOTS_FORCES": FORCE})
    return env


def build(root: Path, n_pings: int, n_devices: int, n_files: int, seed: int = 5) -> dict[str, Any]:
    """Land the areas and the day's ping files under root/data/landing/<force>/; returns what was planted."""
    import duckdb
    import shapely
    from pyproj import Transformer

    from benchmarks.patrol_minutes import synthetic_areas, synthetic_pings

    landing = root / "data" / "landing" / FORCE
    landing.mkdir(parents=True, exist_ok=True)
    areas = synthetic_areas()
    with open(landing / "areas.json", "w") as handle:
        json.dump([[code, shapely.to_wkt(geom)] for code, geom in areas], handle)

    pings = synthetic_pings(n_pings, n_devices, seed=seed)
    n = len(pings["ts"])
    ts = (pings["ts"].astype("datetime64[s]") + np.timedelta64(3600, "s")).astype("int64")  # 00:00Z .. 24:00Z
    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(pings["easting"], pings["northing"])
    rng = np.random.default_rng(seed)
    kind = np.zeros(n, np.int8)
    per_kind = max(1, int(n * FAULT_SHARE))
    chosen = rng.choice(n, per_kind * len(KINDS), replace=False)
    for code in range(len(KINDS)):
        kind[chosen[code :: len(KINDS)]] = code + 1
    copies = np.flatnonzero(kind == KINDS.index("duplicate_ping") + 1)
    order = np.concatenate([np.arange(n), copies])
    is_copy = np.concatenate([np.zeros(n, bool), np.ones(copies.size, bool)])
    kind[copies] = 0  # the first copy is a good row; the repeat is the fault
    frame = {
        "k": np.arange(order.size),
        "device": pings["device_key"][order],
        "ts": ts[order],
        "lon": lon[order],
        "lat": lat[order],
        "speed": pings["speed_kmh"][order],
        "kind": np.where(is_copy, KINDS.index("duplicate_ping") + 1, kind[order]).astype(np.int8),
        "copy": is_copy,
        "unit": (pings["device_key"][order] % 3 == 0),
    }
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("generated", frame)
    con.execute(
        """
        CREATE TABLE drops AS SELECT
            k, copy, ts, CAST((ts - $day_start) * $files // 86400 AS INTEGER) AS part,
            CASE WHEN kind = 1 THEN 'bad id!' ELSE printf('AVL-%04d', device) END AS device_id,
            CASE WHEN kind = 2 THEN 'not-a-time'
                 ELSE strftime(make_timestamp((ts - CASE WHEN kind = 3 THEN 864000 ELSE 0 END) * 1000000),
                               '%Y-%m-%dT%H:%M:%SZ') END AS "timestamp",
            CASE WHEN kind = 4 THEN NULL WHEN kind = 5 THEN printf('%.7f', lat)
                 ELSE printf('%.7f', lon + CASE WHEN kind = 9 THEN 0.1 ELSE 0 END) END AS lon,
            CASE WHEN kind = 4 THEN NULL WHEN kind = 5 THEN printf('%.7f', lon) ELSE printf('%.7f', lat) END AS lat,
            CASE WHEN kind = 6 THEN '-5' WHEN isnan(speed) THEN NULL ELSE printf('%.1f', speed) END AS speed_kmh,
            CASE WHEN kind = 7 THEN 'bicycle' WHEN unit THEN 'foot' ELSE 'vehicle' END AS unit_type
        FROM generated
    """,
        {"files": n_files, "day_start": int(np.datetime64(DAY.isoformat(), "s").astype("int64"))},
    )
    folder = landing / "avl" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for part in range(n_files):
        path = folder / f"pings-{part:02d}.csv"
        con.execute(
            f'COPY (SELECT device_id, "timestamp", lon, lat, speed_kmh, unit_type FROM drops '
            f"WHERE part = {part} ORDER BY ts, copy, k) TO '{path}' (HEADER)"
        )
        paths.append(path)
    planted = {reason: per_kind for reason in KINDS}
    con.close()
    return {
        "pings": n + copies.size,
        "paths": [str(p) for p in paths],
        "planted": planted,
        "bytes": sum(p.stat().st_size for p in paths),
    }


def run_step(repeat: int) -> dict[str, Any]:
    """In this (fresh) process: the areas into stg_areas, then the real ingest_avl step `repeat` times."""
    start = time.perf_counter()
    import great_expectations  # noqa: F401  (a worker imports it once; reported apart)

    gx_import_s = time.perf_counter() - start
    import hotspots.patrol
    from hotspots import pipeline
    from hotspots.settings import get_settings
    from hotspots.sources import avl
    from hotspots.warehouse import open_warehouse

    settings = get_settings()
    with open_warehouse(settings=settings) as con:  # the synthetic county straight into stg_areas (not timed)
        con.execute("DELETE FROM stg_areas WHERE force = ?", [FORCE])
        for code, wkt in json.loads((settings.force_landing(FORCE) / "areas.json").read_text()):
            con.execute(
                "INSERT INTO stg_areas SELECT ?, ?, ?, g, ST_Area(g), 'synthetic', now() FROM "
                "(SELECT ST_GeomFromText(?) AS g)",
                [FORCE, code, code, wkt],
            )
    stages = StageClock()
    stages.wrap(pipeline, "_to_raw", "raw_copy")
    stages.wrap(hotspots.patrol, "compute_daily_patrol", "daily_patrol")
    stages.wrap(pipeline, "build_data_docs", "data_docs")
    runs = []
    for _ in range(repeat):
        stages.seconds.clear()
        rss_before = peak_rss_mb()
        start, cpu = time.perf_counter(), time.process_time()
        result = pipeline.ingest_avl(FORCE, DAY, settings)
        wall = time.perf_counter() - start
        runs.append(
            {
                "wall_s": wall,
                "cpu_s": time.process_time() - cpu,
                "result": result,
                "rss_before_mb": rss_before,
                "stages": {**stages.seconds, **avl.STAGE_SECONDS},
            }
        )
    run = median_run(runs, lambda r: r["wall_s"])
    return {"gx_import_s": gx_import_s, "runs_wall_s": [r["wall_s"] for r in runs], **run, "peak_rss_mb": peak_rss_mb()}


def run_floor(paths: list[str]) -> dict[str, Any]:
    """In this (fresh) process: DuckDB read_csv of the same files into a table (all columns materialised)."""
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    rows = con.execute("CREATE TABLE pings AS SELECT * FROM read_csv(?)", [paths]).fetchone()[0]
    return {"floor_s": time.perf_counter() - start, "rows": rows, "peak_rss_mb": peak_rss_mb()}


def _child(what: str, root: Path, arg: Any) -> dict[str, Any]:
    return run_child("ingest_avl", ["--child", what, "--root", str(root), "--arg", json.dumps(arg)], env=_env(root))


def run_benchmark(
    n_pings: int,
    n_devices: int,
    n_files: int,
    repeat: int,
    echo: Callable[[str], None] = print,
    root: Path | None = None,
) -> dict[str, Any]:
    """Build the day, time the floor and the step (each in a fresh process) and return the figures."""
    root = Path(root or tempfile.mkdtemp(prefix="hotspots-bench-avl-"))
    start = time.perf_counter()
    built = _child("build", root, [n_pings, n_devices, n_files])  # the parent stays small: children inherit its peak
    build_s = time.perf_counter() - start
    echo(
        f"built {built['pings']:,} pings in {n_files} files ({built['bytes'] / 1e6:,.0f} MB) in {build_s:.1f} s "
        f"under {root}"
    )
    floor = _child("floor", root, built["paths"])
    echo(
        f"floor: DuckDB read_csv of the same files into a table: {floor['floor_s']:.2f} s, {floor['rows']:,} rows, "
        f"peak RSS {floor['peak_rss_mb']:,.0f} MB"
    )
    step = _child("step", root, repeat)
    result = step["result"]
    wall = step["wall_s"]
    echo(
        f"ingest_avl: {wall:.2f} s wall ({step['cpu_s']:.1f} s CPU), "
        f"runs {[round(w, 2) for w in step['runs_wall_s']]}, "
        f"peak RSS {step['peak_rss_mb']:,.0f} MB (after ingest_areas: {step['rss_before_mb']:,.0f} MB); "
        f"GX import {step['gx_import_s']:.2f} s (before the clock)"
    )
    stages = {name: round(step["stages"].get(name, 0.0), 3) for name in (*STAGES, *OVERLAPPED)}
    other = wall - sum(stages[name] for name in STAGES)
    for name, seconds in [*((n, stages[n]) for n in STAGES), ("other", other)]:
        echo(f"  {name:<14} {seconds:7.2f} s  {100 * seconds / wall:5.1f}%")
    for name in OVERLAPPED:
        echo(f"  ({name} thread {stages[name]:.2f} s, {100 * stages[name] / wall:.1f}% of the wall time, overlapped)")
    echo(
        f"rows read {result['rows_read']:,}, loaded {result['rows_loaded']:,}, "
        f"quarantined {result['rows_quarantined']:,}: "
        f"{result['quarantined_by_reason']}"
    )
    # every planted fault is caught (a spike as a device's first ping has no earlier ping to jump from, and the
    # synthetic walk leaves some real pings beyond the margin, so those two counts may differ a little)
    agree = result["rows_read"] == built["pings"] == floor["rows"] and all(
        result["quarantined_by_reason"].get(reason, 0) > 0.9 * n for reason, n in built["planted"].items()
    )
    figures = {
        "benchmark": "ingest_avl",
        "pings": built["pings"],
        "devices": n_devices,
        "files": n_files,
        "wall_s": round(wall, 2),
        "cpu_s": round(step["cpu_s"], 2),
        "runs_wall_s": [round(w, 2) for w in step["runs_wall_s"]],
        "pings_per_s": round(built["pings"] / wall),
        "peak_rss_mb": round(step["peak_rss_mb"]),
        "floor_s": round(floor["floor_s"], 2),
        "ratio_to_read_csv": round(wall / floor["floor_s"], 2),
        "floor_peak_rss_mb": round(floor["peak_rss_mb"]),
        "gx_import_s": round(step["gx_import_s"], 2),
        "stages_s": stages,
        "rows_loaded": result["rows_loaded"],
        "rows_quarantined": result["rows_quarantined"],
        "quarantined_by_reason": result["quarantined_by_reason"],
        "planted": built["planted"],
        "agree": agree,
        "target_met": wall <= 30 and wall <= 10 * floor["floor_s"] and step["peak_rss_mb"] <= 2048,
    }
    echo(
        f"{figures['pings_per_s']:,} pings/s; {figures['ratio_to_read_csv']}x the read_csv floor; targets "
        f"(30 s, 10x, 2 GB) {'met' if figures['target_met'] else 'MISSED'}"
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=("build", "step", "floor"))
    parser.add_argument("--root", type=Path)
    parser.add_argument("--arg")
    args = parser.parse_args(argv)
    if args.child == "build":
        print(json.dumps(build(args.root, *json.loads(args.arg))))
    elif args.child == "step":
        print(json.dumps(run_step(json.loads(args.arg)), default=str))
    elif args.child == "floor":
        print(json.dumps(run_floor(json.loads(args.arg))))
    else:
        print(json.dumps(run_benchmark(args.pings, args.devices, args.files, args.repeat, root=args.root)))


if __name__ == "__main__":
    main()
