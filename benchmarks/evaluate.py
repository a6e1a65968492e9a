"""Benchmark of the evaluation (hotspots.evaluation.estimators.evaluate_frame) with 2,000 re-draws of the plan.

Sizes: a Rowan-size trial (21 hot spots x 90 days, 7 drawn a day; target <= 5 s) and 300 hot spots x 365 days
(100 drawn a day; target <= 30 s). The floor, measured in the same run, is the cost of the re-draws alone: 2,000
whole plans drawn with the plan's own method (plan.day_seed and plan.draw, one call per day), which any
randomisation inference with that method has to pay; the evaluation adds the statistics, the count models,
the bootstrap, dose-response and carry-over. Each figure is the median of --repeat runs; with --workers 2 the
re-draws are shared by two processes (HOTSPOTS_EVALUATION_WORKERS).

    flock /tmp/bench.lock .venv/bin/python benchmarks/evaluate.py [--repeat 3] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

SIZES = (("rowan", 21, 90, 7, 5.0), ("large", 300, 365, 100, 30.0))
REDRAWS = 2000


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(repeat: int = 3, workers: tuple[int, ...] = (1, 2)) -> dict:
    from hotspots.evaluation import inference
    from hotspots.evaluation.estimators import Options, evaluate_frame
    from hotspots.evaluation.simulate import simulate_trial

    results = {}
    for name, areas, days, k, target in SIZES:
        trial = simulate_trial(areas=areas, days=days, k=k, rate_ratio=0.6, stray=0.1, seed=1)
        m = inference.matrices(trial.frame, ["count"])
        design = inference.Design.of(m)
        seeds = inference.replicate_seeds(REDRAWS, 0)

        def floor() -> None:
            for s in seeds:
                inference.draw_plan(design, s, trial.force)

        row = {
            "hotspots": areas,
            "days": days,
            "k": k,
            "redraws": REDRAWS,
            "target_s": target,
            "floor_redraws_s": round(_median_seconds(floor, repeat), 3),
        }
        for w in workers:
            opts = Options(redraws=REDRAWS, force=trial.force, workers=w)
            out: dict = {}

            def evaluate() -> None:
                out.update(evaluate_frame(trial.frame, opts, delivered=True))

            row[f"evaluate_s_workers_{w}"] = round(_median_seconds(evaluate, repeat), 3)
            row[f"count_rate_ratio_workers_{w}"] = out["itt"]["count"]["rate_ratio"]
            row[f"count_p_workers_{w}"] = out["itt"]["count"]["p_value"]
        row["same_answer_any_workers"] = len({row[f"count_p_workers_{w}"] for w in workers}) == 1
        results[name] = row
        print(
            f"{name}: {areas} x {days}, {REDRAWS} re-draws: "
            + ", ".join(f"evaluate {row[f'evaluate_s_workers_{w}']:.2f} s ({w} worker(s))" for w in workers)
            + f"; floor (the re-draws alone, 1 process) {row['floor_redraws_s']:.2f} s; target {target:g} s",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="Comma-separated worker counts to time.")
    args = parser.parse_args()
    results = run(args.repeat, tuple(int(w) for w in args.workers.split(",")))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
