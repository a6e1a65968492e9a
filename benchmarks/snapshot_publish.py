"""Benchmark: publishing the analyst snapshot without per-device tracks (hotspots.warehouse.publish_snapshot:
file copy, tracks dropped, COPY FROM DATABASE into a fresh file) against the floor, the plain file copy the
snapshot used to be, on the same warehouse in the same run.

    flock /tmp/bench.lock .venv/bin/python -m benchmarks.snapshot_publish --pings 5000000 --repeat 3

The warehouse: the schema, ``--pings`` pseudonymous pings over 90 days and 2,000 devices (stg_pings), and a
daily_patrol row per area and day for 1,000 areas over the same days. Prints the median seconds of each, the
file sizes, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

PINGS = """
INSERT INTO stg_pings SELECT 'bench', printf('%016x', hash(i % 2000)), TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND,
    DATE '2024-01-01' + CAST(i * 90 // $n AS INTEGER), 500000 + hash(i) % 20000, 200000 + hash(i * 7) % 20000,
    (hash(i * 3) % 40)::DOUBLE, 'vehicle', 'bench.csv', now() FROM range($n) AS r(i)
"""
PATROL = """
INSERT INTO daily_patrol SELECT 'bench', printf('A%05d', a), DATE '2024-01-01' + CAST(d AS INTEGER), 30, 45, 3, 1,
    2, 20, 15, now() FROM range(1000) AS x(a), range(90) AS y(d)
"""


def build(settings, pings: int) -> None:
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        con.execute(PINGS, {"n": pings})
        con.execute(PATROL)
        con.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from hotspots.settings import Settings
    from hotspots.warehouse import publish_snapshot

    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        os.environ["HOTSPOTS_DATA_DIR"] = tmp
        settings = Settings(data_dir=Path(tmp))
        build(settings, args.pings)
        publish, floor = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            shutil.copyfile(settings.warehouse_path, Path(tmp) / "plain_copy.duckdb")
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            publish_snapshot(settings)
            publish.append(time.perf_counter() - started)
        figures = {
            "pings": args.pings,
            "publish_s": round(statistics.median(publish), 2),
            "plain_copy_s": round(statistics.median(floor), 2),
            "ratio": round(statistics.median(publish) / statistics.median(floor), 2),
            "warehouse_mb": round(settings.warehouse_path.stat().st_size / 2**20, 1),
            "snapshot_mb": round(settings.snapshot_path.stat().st_size / 2**20, 1),
        }
    print(
        f"publish_snapshot (no tracks): {figures['publish_s']} s   plain file copy (floor): {figures['plain_copy_s']} s"
        f"   ratio {figures['ratio']}x   warehouse {figures['warehouse_mb']} MB -> snapshot {figures['snapshot_mb']} MB"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
