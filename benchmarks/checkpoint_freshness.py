"""Benchmark of in-shift freshness: from a ping file landing to the supervisors' Slack message being accepted, through
the real checkpoint path, against the full reload of the day so far (the path before micro-batches), same run.

    flock /tmp/bench.lock .venv/bin/python -m benchmarks.checkpoint_freshness [--pings 10000000] [--repeat 2]

The data: the AVL benchmark's synthetic county and day (benchmarks.ingest_avl.build: 1,000 devices over UTC day
2024-03-31, planted faults included), written as 96 files of 15 minutes (a 10 M day: about 104,000 pings a file;
--batch-files 2 lands 30 minutes at once). The files up to 19:00 UTC (20:00 local) are loaded first (the day so far:
about 7.9 M pings), 21 areas are the hot spots, and HOTSPOTS_CHECKPOINT_DOSE_NOTICE is on, so every checkpoint has a
message. Then, alternating, each round lands the next batch in landing/ and:

- checkpoint (micro-batch): `hotspots.runner.run_dag("intraday_check", when=When(day, at))`, the steps
  `hotspots run intraday_check --at HH:MM` and the DAG run: migrate, the checkpoint (only the files new since the
  last run, today's patrol so far, no_visit_yet / dose_delivered, feed checks, the live page), delivery;
- baseline (full reload): `ingest_avl` of every file of the day so far, then the same checkpoint and delivery.

Clock: from the rename that lands the batch to the `ts` the local Slack Web API server (tests/helpers/
slack_api_server.py, in this process) gives the message carrying that checkpoint's alerts. Not included: the
scheduler's delay before a checkpoint's task starts, and the import of Great Expectations (once per worker process,
reported apart). The target is 5 minutes during the patrol window. Figures: docs/benchmarks.md, Checkpoint
freshness.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import ROOT, peak_rss_mb, run_child
from benchmarks.ingest_avl import DAY, FORCE, KEY

FILES = 96  # 15-minute files
PRELOADED = 76  # files 00..75: the day up to 19:00 UTC, 20:00 local
HOTSPOTS = 21
TARGET_S = 300


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")}
    env.update(
        {
            "HOTSPOTS_DATA_DIR": str(root / "data"),
            "HOTSPOTS_PSEUDONYM_KEY": KEY,
            "HOTSPOTS_FORCES": FORCE,
            "HOTSPOTS_CHECKPOINT_DOSE_NOTICE": "true",
            "AIRFLOW_HOME": str(root / "airflow"),
        }
    )
    return env


def _slack_server():
    """The tests' local Slack Web API (tests/helpers/slack_api_server.py), started in this process."""
    sys.path.insert(0, str(ROOT / "tests" / "helpers"))
    from slack_api_server import SlackApiServer, _handler

    state = SlackApiServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


def _setup(settings) -> list[str]:
    """The county into stg_areas and a selection of HOTSPOTS areas in force on DAY (not timed)."""
    from hotspots.warehouse import open_warehouse

    areas = json.loads((settings.force_landing(FORCE) / "areas.json").read_text())
    codes = sorted(code for code, _ in areas)[:: len(areas) // HOTSPOTS][:HOTSPOTS]
    with open_warehouse(settings=settings) as con:
        for code, wkt in areas:
            con.execute(
                "INSERT INTO stg_areas SELECT ?, ?, ?, g, ST_Area(g), 'synthetic', now() FROM "
                "(SELECT ST_GeomFromText(?) AS g)",
                [FORCE, code, code, wkt],
            )
        con.execute(
            "INSERT INTO selections VALUES (?, 'bench', ?, NULL, '{}', ?, ?, [], now()::TIMESTAMP)",
            [FORCE, DAY - timedelta(days=1), codes, codes],
        )
        for rank, code in enumerate(codes, start=1):
            con.execute(
                "INSERT INTO hotspot_ranking VALUES (?, 'bench', ?, ?, 10, 100, 0.1, 0.5, ?, true)",
                [FORCE, code, code, rank],
            )
    return codes


def _full_reload_checkpoint(now_local: datetime, settings, slack) -> None:
    """The baseline: every file of the day so far reloaded, then the same checkpoint steps and delivery."""
    from hotspots import pipeline

    for day in pipeline.utc_days_so_far(now_local):
        pipeline.ingest_avl(FORCE, day, settings, as_of=now_local)
    pipeline.intraday_check(FORCE, now_local, settings)
    pipeline.deliver_alerts(settings=settings, slack=slack, smtp=None)


def run_rounds(repeat: int, batch_files: int) -> dict[str, Any]:
    """In this (fresh) process: preload the day so far, then `repeat` rounds of (checkpoint, baseline)."""
    started = time.perf_counter()
    import great_expectations  # noqa: F401  (a worker imports it once; reported apart)

    gx_import_s = time.perf_counter() - started
    from hotspots import pipeline
    from hotspots.alerts.targets import SlackTarget
    from hotspots.runner import When, run_dag
    from hotspots.settings import get_settings

    state, server = _slack_server()
    os.environ["AIRFLOW_CONN_SLACK_API_DEFAULT"] = json.dumps(
        {"conn_type": "slack", "password": state.token, "extra": {"base_url": state.base_url}}
    )
    settings = get_settings()
    hotspots = _setup(settings)
    folder = settings.force_landing(FORCE) / "avl" / DAY.isoformat()
    held = folder.parent / "held"
    held.mkdir()
    files = sorted(folder.glob("pings-*.csv"))
    for path in files[PRELOADED:]:
        shutil.move(path, held / path.name)
    zone = ZoneInfo(settings.timezone)
    start = time.perf_counter()
    preload = pipeline.ingest_avl(FORCE, DAY, settings, as_of=datetime(2024, 3, 31, 19, tzinfo=timezone.utc))
    preload_s = time.perf_counter() - start
    rounds: dict[str, list[dict]] = {"checkpoint": [], "baseline": []}
    landed = PRELOADED
    for number in range(repeat):
        for path_name in ("checkpoint", "baseline"):
            batch = files[landed : landed + batch_files]
            landed += batch_files
            end_utc = datetime.combine(DAY, datetime.min.time(), tzinfo=timezone.utc) + timedelta(minutes=15 * landed)
            now_local = end_utc.astimezone(zone)
            tag = now_local.strftime("%H:%M")
            rows = sum(1 for path in batch for _ in (held / path.name).open()) - len(batch)
            before = len(state.delivered())
            landed_at = time.time()
            for path in batch:
                os.replace(held / path.name, path)  # the batch lands
            clock, cpu = time.perf_counter(), time.process_time()
            if path_name == "checkpoint":
                run = run_dag(
                    "intraday_check", settings=settings, forces=[FORCE], when=When(day=DAY, at=now_local.time())
                )
                steps = {s["task"]: s["seconds"] for s in run.steps}
            else:
                _full_reload_checkpoint(now_local, settings, SlackTarget(conn_id=settings.slack_conn_id))
                steps = {}
            wall = time.perf_counter() - clock
            posted = [
                m for m in state.delivered()[before:] if any(tag in (b.get("block_id") or "") for b in m["blocks"])
            ]
            assert posted, f"no Slack message for the {tag} checkpoint"
            rounds[path_name].append(
                {
                    "round": number + 1,
                    "as_of": tag,
                    "batch_files": len(batch),
                    "batch_pings": rows,
                    "freshness_s": round(float(posted[0]["ts"]) - landed_at, 3),
                    "wall_s": round(wall, 3),
                    "cpu_s": round(time.process_time() - cpu, 3),
                    "sections": sum(len([b for b in m["blocks"] if b["type"] == "section"]) for m in posted),
                    "steps_s": steps,
                }
            )
    server.shutdown()
    return {
        "gx_import_s": round(gx_import_s, 2),
        "preload_pings": preload["rows_read"],
        "preload_s": round(preload_s, 2),
        "hotspots": len(hotspots),
        "rounds": rounds,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_benchmark(n_pings: int, n_devices: int, repeat: int, batch_files: int, root: Path | None = None) -> dict:
    root = Path(root or tempfile.mkdtemp(prefix="hotspots-bench-checkpoint-"))
    start = time.perf_counter()
    built = run_child(
        "checkpoint_freshness",
        ["--child", "build", "--root", str(root), "--arg", json.dumps([n_pings, n_devices, FILES])],
        env=_env(root),
    )
    print(f"built {built['pings']:,} pings in {FILES} files of 15 min in {time.perf_counter() - start:.1f} s")
    result = run_child(
        "checkpoint_freshness",
        ["--child", "rounds", "--root", str(root), "--arg", json.dumps([repeat, batch_files])],
        env=_env(root),
    )
    print(
        f"day so far: {result['preload_pings']:,} pings loaded in {result['preload_s']:.1f} s (not timed); "
        f"{result['hotspots']} hot spots; GX import {result['gx_import_s']:.2f} s (once per worker, not timed)"
    )
    for name, rows in result["rounds"].items():
        for row in rows:
            print(
                f"  {name:<10} as of {row['as_of']}: {row['batch_pings']:,} pings in {row['batch_files']} file(s) "
                f"-> Slack {row['freshness_s']:.2f} s after landing (wall {row['wall_s']:.2f} s, "
                f"CPU {row['cpu_s']:.2f} s, {row['sections']} hot spots in the message) {row['steps_s'] or ''}"
            )
    fresh = median(r["freshness_s"] for r in result["rounds"]["checkpoint"])
    base = median(r["freshness_s"] for r in result["rounds"]["baseline"])
    print(
        f"freshness (median): checkpoint {fresh:.2f} s, full reload {base:.2f} s ({base / fresh:.1f}x), "
        f"target {TARGET_S} s: {'met' if fresh <= TARGET_S else 'MISSED'}; peak RSS {result['peak_rss_mb']:,} MB"
    )
    return {
        "benchmark": "checkpoint_freshness",
        "pings": built["pings"],
        "files": FILES,
        "batch_pings": [r["batch_pings"] for r in result["rounds"]["checkpoint"]],
        "day_so_far_pings": result["preload_pings"],
        "freshness_s": fresh,
        "baseline_freshness_s": base,
        "speedup": round(base / fresh, 1),
        "target_s": TARGET_S,
        "target_met": fresh <= TARGET_S,
        **result,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch-files", type=int, default=1, help="15-minute files landed per round")
    parser.add_argument("--child", choices=("build", "rounds"))
    parser.add_argument("--root", type=Path)
    parser.add_argument("--arg")
    args = parser.parse_args(argv)
    if args.child == "build":
        from benchmarks.ingest_avl import build

        print(json.dumps(build(args.root, *json.loads(args.arg))))
    elif args.child == "rounds":
        print(json.dumps(run_rounds(*json.loads(args.arg)), default=str))
    else:
        print(json.dumps(run_benchmark(args.pings, args.devices, args.repeat, args.batch_files, root=args.root)))


if __name__ == "__main__":
    main()
