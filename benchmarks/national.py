"""bench national: K synthetic forces' daily pipeline through the real steps (hotspots.runner, the DAGs' own
functions) into a DuckLake catalogued on PostgreSQL, by one writer, then by W writers in parallel processes.

Figures: wall time of both, speed-up, the parallel fraction p (Amdahl: S = 1 / ((1 - p) + p / W)), the commit
overhead of one small lake transaction, the snapshots (commits) each run made, and the extrapolation to 43 forces
on N workers, T(43, N) = 43 * t_force * ((1 - p) + p / N), with t_force the single writer's seconds per force
(docs/benchmarks.md "National deployment (issue 19)"). The last line is JSON.

    python -m benchmarks.national --forces 8 --writers 2
    python -m benchmarks.national worker FORCE,FORCE  (one writer: the forces given, in series; env gives settings)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import ROOT

SAMPLE = dict(n_areas=40, hotspot_count=5, crime_months=("2024-04",), avl_days=1, n_devices=6)
EXTRAPOLATE_FORCES = 43
EXTRAPOLATE_WORKERS = (2, 4, 8, 16, 43)
PG = "host=127.0.0.1 user=postgres"


def run_forces(forces: list[str]) -> dict[str, Any]:
    """The daily pipeline of ``forces`` in series, in this process (settings from the environment)."""
    from hotspots.demo import avl_folder_days
    from hotspots.runner import When, run_dag
    from hotspots.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    for force in forces:
        run_dag("ingest_areas", settings=settings, forces=[force], when=When())
        run_dag("ingest_crime", settings=settings, forces=[force], when=When(month=SAMPLE["crime_months"][0]))
        run_dag("select_hotspots", settings=settings, forces=[force], when=When())
        days = avl_folder_days(settings.landing_dir, force)
        for day in days:
            run_dag("ingest_avl", settings=settings, forces=[force], when=When(day=day))
        dates = tuple(_local_dates(settings, force))
        run_dag("patrol_compliance", settings=settings, forces=[force], when=When(dates=dates))
    return {"forces": forces, "seconds": time.perf_counter() - started}


def _local_dates(settings, force: str) -> list:
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        rows = con.execute("SELECT DISTINCT date FROM daily_patrol WHERE force = ? ORDER BY date", [force]).fetchall()
    return [d for (d,) in rows]


def _pg(sql: str) -> None:
    import psycopg2

    admin = psycopg2.connect(f"dbname=postgres {PG}")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql)
    admin.close()


def _env(data_dir: Path, catalog: str, forces: list[str]) -> dict[str, str]:
    from hotspots.generate import SAMPLE_PSEUDONYM_KEY

    keep = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")}
    return keep | {
        "HOTSPOTS_DATA_DIR": str(data_dir),
        "HOTSPOTS_FORCES": ",".join(forces),
        "HOTSPOTS_HOTSPOT_COUNT": str(SAMPLE["hotspot_count"]),
        "HOTSPOTS_PSEUDONYM_KEY": SAMPLE_PSEUDONYM_KEY,
        "HOTSPOTS_FEED_GAP_MINUTES": "180",
        "HOTSPOTS_FEED_MIN_DEVICES": "20",
        "HOTSPOTS_WAREHOUSE_CATALOG": "ducklake",
        "HOTSPOTS_LAKE_CATALOG": catalog,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }


def _writers(env: dict[str, str], groups: list[list[str]]) -> float:
    """Wall seconds of one writer process per group, all started together."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.national", "worker", ",".join(group)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for group in groups
    ]
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"writer of {proc.args[-1]} failed:\n{err[-4000:]}")
    return time.perf_counter() - started


def _commit_seconds(env: dict[str, str], commits: int = 20) -> float:
    """Median wall time of one small lake transaction (a row in and out of area_teams): the commit's cost."""
    from hotspots.settings import Settings
    from hotspots.warehouse import open_warehouse, transaction

    settings = Settings(**{k.removeprefix("HOTSPOTS_").lower(): v for k, v in env.items() if k.startswith("HOTSPOTS_")})
    seconds = []
    with open_warehouse(settings) as con:
        for _ in range(commits):
            started = time.perf_counter()
            with transaction(con):
                con.execute("INSERT INTO area_teams VALUES ('bench-commit', 'X', 'x', now())")
            with transaction(con):
                con.execute("DELETE FROM area_teams WHERE force = 'bench-commit'")
            seconds.append((time.perf_counter() - started) / 2)
    return statistics.median(seconds)


def _compare(single: dict[str, str], parallel: dict[str, str]) -> tuple[dict, int, int]:
    """Marts differences between the two lakes, and each lake's snapshots (commits)."""
    from hotspots.lake import marts_differences
    from hotspots.settings import Settings
    from hotspots.warehouse import LAKE, connect, lake_attach_sql

    def settings_of(env):
        return Settings(**{k.removeprefix("HOTSPOTS_").lower(): v for k, v in env.items() if k.startswith("HOTSPOTS_")})

    one, many = settings_of(single), settings_of(parallel)
    con = connect(settings=many)
    try:
        con.execute(lake_attach_sql(one, alias="single", read_only=True))
        snapshots = [con.execute(f"SELECT count(*) FROM {db}.snapshots()").fetchone()[0] for db in ("single", LAKE)]
        return marts_differences(con, "single", LAKE), snapshots[0], snapshots[1]
    finally:
        con.close()


def run_benchmark(forces: int, writers: int, echo: Callable[[str], None] = print) -> dict[str, Any]:
    from hotspots.generate import generate_sample

    names = [f"force{i:02d}" for i in range(1, forces + 1)]
    tag = uuid.uuid4().hex[:8]
    catalogs = {run: f"hotspots_lake_bench_{run}_{tag}" for run in ("single", "parallel")}
    with tempfile.TemporaryDirectory(prefix="hotspots-bench-national-") as folder:
        envs = {}
        for run, database in catalogs.items():
            data_dir = Path(folder) / run
            for seed, name in enumerate(names, 100):
                generate_sample(data_dir, seed=seed, force=name, **SAMPLE)
            _pg(f'CREATE DATABASE "{database}"')
            envs[run] = _env(data_dir, f"postgres:dbname={database} {PG}", names)
        try:
            echo(f"{forces} forces, each {SAMPLE}: one writer ...")
            single_s = _writers(envs["single"], [names])
            echo(f"  single writer {single_s:.1f} s; {writers} writers in parallel ...")
            groups = [names[i::writers] for i in range(writers)]
            parallel_s = _writers(envs["parallel"], groups)
            echo(f"  {writers} parallel writers {parallel_s:.1f} s")
            commit_s = _commit_seconds(envs["parallel"])
            differences, single_commits, parallel_commits = _compare(envs["single"], envs["parallel"])
        finally:
            for database in catalogs.values():
                _pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    speedup = single_s / parallel_s
    fraction = max(0.0, min(1.0, (1 - 1 / speedup) / (1 - 1 / writers))) if writers > 1 else 0.0
    per_force = single_s / forces
    extrapolated = {
        str(n): round(EXTRAPOLATE_FORCES * per_force * ((1 - fraction) + fraction / n), 1) for n in EXTRAPOLATE_WORKERS
    }
    return {
        "forces": forces,
        "writers": writers,
        "single_writer_s": round(single_s, 2),
        "parallel_s": round(parallel_s, 2),
        "speedup": round(speedup, 3),
        "parallel_fraction": round(fraction, 3),
        "seconds_per_force": round(per_force, 2),
        "commit_s": round(commit_s, 4),
        "commits_single": single_commits,
        "commits_parallel": parallel_commits,
        "commit_overhead_share": round(commit_s * parallel_commits / (parallel_s * writers), 4),
        f"extrapolated_{EXTRAPOLATE_FORCES}_forces_s_by_workers": extrapolated,
        "marts_equal": all(rows == 0 for pair in differences.values() for rows in pair),
        "marts_differences": {t: list(d) for t, d in differences.items() if d != (0, 0)},
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["worker"]:
        print(json.dumps(run_forces(argv[1].split(","))))
        return
    import argparse

    parser = argparse.ArgumentParser(prog="benchmarks.national")
    parser.add_argument("--forces", type=int, default=8)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(run_benchmark(args.forces, args.writers)))


if __name__ == "__main__":
    main(sys.argv[1:])
