"""Benchmark of the real crime step: a national month of data.police.uk street files through
hotspots.pipeline.ingest_crime (read, Great Expectations validation, placement, load), against DuckDB's
read_csv of the same files (the floor: merely reading them), timed in the same run.

    flock /tmp/bench.lock .venv/bin/hotspots bench ingest-crime [--rows 500000] [--forces 43] [--single]

The data: 43 forces (the territorial forces of England and Wales), each a square block of 1 km areas in its own
part of the British National Grid, loaded into stg_areas first; one street CSV per force for 2024-02 shaped like
data.police.uk's (64-hex Crime ID, empty for anti-social behaviour; 6-decimal WGS84 coordinates snapped to about
one map point per three crimes; "On or near ..." locations; 2021 LSOA codes; the national crime-type and outcome
mix), with 2.5% of rows without coordinates, 0.3% far outside (at sea) and 1% repeated Crime IDs (half exact
copies, half with another outcome). Rows per force are skewed as in the real archive (the Met about a seventh).
The timed step runs in a fresh process (so peak RSS is the step's own), with Great Expectations imported before
the clock starts (a worker imports it once). Figures: docs/benchmarks.md "Crime ingest (issue 12)".
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from benchmarks.common import StageClock, peak_rss_mb, run_child

MONTH = "2024-02"
FORCES = [
    "avon-and-somerset",
    "bedfordshire",
    "cambridgeshire",
    "cheshire",
    "city-of-london",
    "cleveland",
    "cumbria",
    "derbyshire",
    "devon-and-cornwall",
    "dorset",
    "durham",
    "dyfed-powys",
    "essex",
    "gloucestershire",
    "greater-manchester",
    "gwent",
    "hampshire",
    "hertfordshire",
    "humberside",
    "kent",
    "lancashire",
    "leicestershire",
    "lincolnshire",
    "merseyside",
    "metropolitan",
    "norfolk",
    "north-wales",
    "north-yorkshire",
    "northamptonshire",
    "northumbria",
    "nottinghamshire",
    "south-wales",
    "south-yorkshire",
    "staffordshire",
    "suffolk",
    "surrey",
    "sussex",
    "thames-valley",
    "warwickshire",
    "west-mercia",
    "west-midlands",
    "west-yorkshire",
    "wiltshire",
]
BIG = {
    "metropolitan": 9.0,
    "west-midlands": 3.0,
    "greater-manchester": 3.0,
    "west-yorkshire": 3.0,
    "thames-valley": 2.0,
    "kent": 2.0,
    "hampshire": 2.0,
    "lancashire": 2.0,
    "avon-and-somerset": 2.0,
}
CRIME_MIX = [
    ("Violence and sexual offences", 0.33),
    ("Anti-social behaviour", 0.18),
    ("Shoplifting", 0.08),
    ("Other theft", 0.08),
    ("Criminal damage and arson", 0.08),
    ("Vehicle crime", 0.07),
    ("Public order", 0.068),
    ("Burglary", 0.05),
    ("Drugs", 0.04),
    ("Other crime", 0.012),
    ("Robbery", 0.012),
    ("Theft from the person", 0.01),
    ("Bicycle theft", 0.01),
    ("Possession of weapons", 0.01),
]
OUTCOMES = [
    ("Investigation complete; no suspect identified", 0.32),
    ("Unable to prosecute suspect", 0.28),
    ("Under investigation", 0.2),
    ("Awaiting court outcome", 0.05),
    ("Status update unavailable", 0.03),
    ("Action to be taken by another organisation", 0.02),
    ("Local resolution", 0.02),
    ("Formal action is not in the public interest", 0.01),
    ("Offender given a caution", 0.01),
    ("Court result unavailable", 0.01),
    ("Further investigation is not in the public interest", 0.01),
    ("Offender sent to prison", 0.01),
    ("Defendant found not guilty", 0.01),
    ("Offender fined", 0.01),
    ("Suspect charged as part of another case", 0.01),
]
CELL_M = 1000.0
MISSING, ELSEWHERE, REPEATED = 0.025, 0.003, 0.01


def force_rows(total: int, forces: list[str]) -> dict[str, int]:
    """Rows per force: a weight of 1 for most forces, more for the big ones (the Met about a fifth)."""
    weights = np.array([BIG.get(f, 1.0) for f in forces])
    rows = np.floor(weights / weights.sum() * total).astype(int)
    rows[int(np.argmax(weights))] += total - rows.sum()
    return dict(zip(forces, rows.tolist()))


def block_origin(k: int) -> tuple[float, float]:
    """South-west corner of force k's 90 km block (7 x 7 blocks of 100 km)."""
    return 60_000.0 + (k % 7) * 100_000.0, 20_000.0 + (k // 7) * 100_000.0


def grid_side(rows: int) -> int:
    """Cells per side of a force's square block: about 14 crimes a month per area, as LSOAs hold."""
    return int(min(90, max(8, np.ceil(np.sqrt(rows / 14)))))


def insert_areas(con: Any, force: str, k: int, rows: int) -> int:
    """Block k's areas (side x side squares of 1 km) straight into stg_areas under ``force``; returns how many."""
    x0, y0 = block_origin(k)
    side = grid_side(rows)
    con.execute(
        """INSERT INTO stg_areas
           SELECT ?, printf('B%02d-%03d-%03d', ?, i, j), printf('Area %d %d', i, j),
                  ST_MakeEnvelope(? + i * ?, ? + j * ?, ? + (i + 1) * ?, ? + (j + 1) * ?), ? * ?, 'bench', now()
           FROM range(?) a(i), range(?) b(j)""",
        [force, k, x0, CELL_M, y0, CELL_M, x0, CELL_M, y0, CELL_M, CELL_M, CELL_M, side, side],
    )
    return side * side


def street_frame(force: str, k: int, rows: int, seed: int) -> pd.DataFrame:
    """One force-month street file in the data.police.uk shape (see the module docstring)."""
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    x0, y0 = block_origin(k)
    side = grid_side(rows) * CELL_M
    n_points = max(50, rows // 3)
    px, py = x0 + rng.uniform(50, side - 50, n_points), y0 + rng.uniform(50, side - 50, n_points)
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(px, py)
    # 'Elsewhere' rows: a point in the North Sea, east of every force's block (outside_force_area in both layouts).
    far_lon, far_lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        830_000.0, 300_000.0 + k
    )
    words = ("High", "Church", "Station", "Park", "Mill", "London", "Victoria", "Green", "Kings", "Queens")
    kinds = ("Street", "Road", "Lane", "Close", "Avenue", "Way", "Drive", "Crescent")
    places = [f"{w} {s}" for w in words for s in kinds] + ["Supermarket", "Parking Area", "Petrol Station", "Nightclub"]
    streets = np.array([f"On or near {name}" for name in places])
    base = rows - int(rows * REPEATED)
    point = np.minimum((rng.random(base) ** 2.5 * n_points).astype(int), n_points - 1)
    types = np.array([t for t, _ in CRIME_MIX])[rng.choice(len(CRIME_MIX), base, p=_p(CRIME_MIX))]
    outcomes = np.array([o for o, _ in OUTCOMES])[rng.choice(len(OUTCOMES), base, p=_p(OUTCOMES))]
    asb = types == "Anti-social behaviour"
    hexes = rng.bytes(32 * base).hex()
    ids = np.array([hexes[64 * i : 64 * i + 64] for i in range(base)], dtype=object)
    ids[asb] = ""
    outcomes = outcomes.astype(object)
    outcomes[asb] = ""
    lsoa = np.array([f"E0{1000000 + (p * 7) % 30000:07d}" for p in range(n_points)])
    frame = pd.DataFrame(
        {
            "Crime ID": ids,
            "Month": MONTH,
            "Reported by": f"{force.replace('-', ' ').title()} Police",
            "Falls within": f"{force.replace('-', ' ').title()} Police",
            "Longitude": np.char.mod("%.6f", np.asarray(lon)[point]).astype(object),
            "Latitude": np.char.mod("%.6f", np.asarray(lat)[point]).astype(object),
            "Location": streets[point % len(streets)].astype(object),
            "LSOA code": lsoa[point].astype(object),
            "LSOA name": np.char.add(f"{force[:6].title()} ", (point % 900).astype(str)),
            "Crime type": types,
            "Last outcome category": outcomes,
            "Context": "",
        }
    )
    missing = rng.random(base) < MISSING
    frame.loc[missing, ["Longitude", "Latitude", "LSOA code", "LSOA name"]] = ""
    frame.loc[missing, "Location"] = "No Location"
    elsewhere = ~missing & (rng.random(base) < ELSEWHERE)
    frame.loc[elsewhere, "Longitude"], frame.loc[elsewhere, "Latitude"] = f"{far_lon:.6f}", f"{far_lat:.6f}"
    with_id = np.flatnonzero(~asb)
    copies = frame.iloc[rng.choice(with_id, rows - base, replace=False)].copy()
    changed = rng.random(len(copies)) < 0.5
    copies.loc[changed, "Last outcome category"] = "Under investigation"
    frame = pd.concat([frame, copies], ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _p(mix: list[tuple[str, float]]) -> np.ndarray:
    weights = np.array([w for _, w in mix])
    return weights / weights.sum()


def build(root: Path, rows: int, forces: list[str], *, national: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    """Write each force's street CSV and load its areas: under the force itself (a force's deployment, one DAG task
    per force) or, when ``national``, all under one force 'national' (landing/national/crime/<month>/)."""
    from hotspots.settings import Settings
    from hotspots.warehouse import open_warehouse

    settings = Settings(data_dir=root)
    per_force = force_rows(rows, forces)
    started = time.perf_counter()
    areas = 0
    with open_warehouse(settings=settings) as con:
        for force in forces:
            areas += insert_areas(con, "national" if national else force, FORCES.index(force), per_force[force])
    files = []
    for k, force in enumerate(forces):
        folder = settings.force_landing("national" if national else force) / "crime" / MONTH
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{MONTH}-{force}-street.csv"
        street_frame(force, FORCES.index(force), per_force[force], seed=k + 1).to_csv(path, index=False)
        files.append(str(path))
    echo(
        f"built {len(forces)} street file(s), {rows:,} rows (largest {max(per_force.values()):,}, smallest "
        f"{min(per_force.values()):,}), {areas:,} areas of 1 km, in {time.perf_counter() - started:.1f} s (not timed)"
    )
    return {"files": files, "areas": areas, "tasks": ["national"] if national else forces}


# ------------------------------------------------------------------------------------------------------------
# The timed run (a fresh process: python -m benchmarks.ingest_crime --run ROOT FORCE...)


def run_step(root: Path, forces: list[str]) -> dict[str, Any]:
    """Import GX, then run pipeline.ingest_crime for every force (the timed part) with stage clocks."""
    started = time.perf_counter()
    import great_expectations  # noqa: F401  (a worker imports it once; timed apart)

    from hotspots import pipeline
    from hotspots.settings import Settings
    from hotspots.sources import force_records, police_uk
    from hotspots.validation import core

    import_s = time.perf_counter() - started
    clock = StageClock()
    for module, name, stage in (
        (pipeline, "_to_raw", "copy to raw"),
        (police_uk, "read_csv_table", "read CSV (Arrow)"),
        (police_uk, "police_uk_checks", "check columns"),
        (police_uk, "force_extent", "force extent"),
        (police_uk, "transform_distinct", "transform to EPSG:27700"),
        (police_uk, "validate_checks", "great expectations"),
        (police_uk, "row_reasons", "row reasons"),
        (police_uk, "typed_rows", "register the file"),
        (police_uk, "load_relation", "place + load"),
        (police_uk, "record_run", "record validation"),
        (pipeline, "build_data_docs", "data docs"),
    ):
        clock.wrap(module, name, stage)
    clock.wrap_context(pipeline, "open_warehouse", "open + close warehouse")
    clock.wrap_context(police_uk, "transaction", "begin + commit")
    del force_records
    settings = Settings(data_dir=root)
    counts = []
    started = time.perf_counter()
    for force in forces:
        core._CONTEXTS.clear()  # each DAG task is its own process, with its own GX context and data docs
        counts.append(pipeline.ingest_crime(force, MONTH, settings))
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "import_gx_s": import_s,
        "stages": clock.seconds,
        "peak_rss_mb": peak_rss_mb(),
        "counts": counts,
    }


def read_csv_floor(files: list[str]) -> float:
    """DuckDB read_csv of the same files (one call, the dialect and the text columns given, so no sniffing)
    into a table, in a fresh connection: the floor."""
    import duckdb

    from hotspots.validation.crime import POLICE_UK_COLUMNS

    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in POLICE_UK_COLUMNS) + "}"
    con = duckdb.connect(config={"preserve_insertion_order": "false"})
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {columns})",
        [files],
    )
    seconds = time.perf_counter() - started
    con.close()
    return seconds


SHAPES = {
    "national": "the month's files in one ingest_crime call (force 'national', one area set for all)",
    "per_force": "one ingest_crime call per force, as the DAG maps the task (each call opens the warehouse, "
    "a new GX context, its data docs)",
    "single": "one file of all the rows (one force)",
}


def run_benchmark(
    rows: int = 500_000,
    n_forces: int = 43,
    shapes: tuple[str, ...] = ("national", "single"),
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Each shape built in a new data folder, its ingest timed in a fresh process against the read_csv floor of
    the same files. The JSON's top-level figures are the first shape's."""
    figures: dict[str, Any] = {"benchmark": "ingest_crime", "rows": rows, "forces": n_forces}
    for shape in shapes:
        forces = ["metropolitan"] if shape == "single" else FORCES[:n_forces]
        with tempfile.TemporaryDirectory(prefix=f"bench_crime_{shape}_") as tmp:
            root = Path(tmp)
            echo(f"== {shape}: {SHAPES[shape]}")
            built = build(root, rows, forces, national=shape == "national", echo=echo)
            floor_s = read_csv_floor(built["files"])
            env = dict(os.environ, HOTSPOTS_DATA_DIR=str(root))
            env.pop("HOTSPOTS_AREAS_PATH", None)
            step = run_child("ingest_crime", ["--run", str(root), *built["tasks"]], env=env)
            floor_s = min(floor_s, read_csv_floor(built["files"]))
            figures[shape] = _report(step, floor_s, rows, echo)
    main = figures[shapes[0]]
    figures.update({k: main[k] for k in ("rows_per_s", "wall_s", "floor_s", "ratio_to_read_csv", "peak_rss_mb")})
    figures["target_met"] = main["wall_s"] <= 4.0 and main["ratio_to_read_csv"] <= 5.0
    return figures


def _report(step: dict[str, Any], floor_s: float, rows: int, echo: Callable[[str], None]) -> dict[str, Any]:
    wall = step["wall_s"]
    totals = {k: sum(c[k] for c in step["counts"]) for k in ("rows_read", "rows_loaded", "rows_quarantined")}
    reasons: dict[str, int] = {}
    for counts in step["counts"]:
        for reason, n in counts["quarantined_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    if totals["rows_read"] != rows:
        raise RuntimeError(f"{totals['rows_read']} rows read, {rows} written")
    echo(
        f"ingest_crime: {wall:.2f} s wall, {rows / wall:,.0f} rows/s, peak RSS {step['peak_rss_mb']:.0f} MB "
        f"(Great Expectations imported before the clock: {step['import_gx_s']:.1f} s)"
    )
    echo(
        f"    read {totals['rows_read']:,}, loaded {totals['rows_loaded']:,}, "
        f"quarantined {totals['rows_quarantined']:,}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items()))
    )
    echo(f"DuckDB read_csv of the same files (floor): {floor_s:.2f} s; ingest / floor = {wall / floor_s:.1f}x")
    stages = dict(sorted(step["stages"].items(), key=lambda kv: -kv[1]))
    for stage, seconds in stages.items():
        echo(f"    {stage:26s} {seconds:6.2f} s  {seconds / wall:6.1%}")
    other = wall - sum(stages.values())
    echo(f"    {'other':26s} {other:6.2f} s  {other / wall:6.1%}")
    return {
        "wall_s": round(wall, 3),
        **totals,
        "quarantined_by_reason": reasons,
        "rows_per_s": round(rows / wall),
        "floor_s": round(floor_s, 3),
        "ratio_to_read_csv": round(wall / floor_s, 2),
        "peak_rss_mb": round(step["peak_rss_mb"]),
        "import_gx_s": round(step["import_gx_s"], 2),
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "tasks": len(step["counts"]),
    }


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--run":
    import logging

    logging.disable(logging.WARNING)
    result = run_step(Path(sys.argv[2]), sys.argv[3:])
    print(json.dumps(result, default=str))
