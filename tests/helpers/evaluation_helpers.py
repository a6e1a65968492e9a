"""A simulated trial with planted truth, written as files and loaded into a warehouse (tests/evaluation)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from hotspots.evaluation.simulate import TrialFiles


def load_trial(con, files: TrialFiles, *, force: str, settings) -> None:
    """Areas, force records, the plan (daily_plan) and the delivered dose (daily_patrol) of a written trial."""
    from hotspots.commands.inputs import load_area_files
    from hotspots.harm import load_harm_weights
    from hotspots.sources.force_records import ingest_force_records

    load_area_files(con, force=force, paths=[files.areas], settings=settings)
    load_harm_weights(con, settings)
    ingest_force_records(con, force=force, path=files.records, settings=settings)
    now = datetime(2025, 1, 1)
    plan = pd.read_csv(files.plan)
    con.executemany(
        "INSERT INTO daily_plan VALUES (?, ?, ?, 's1', ?, NULL, 7, 21, 0, 0, ?)",
        [[force, r.date, r.area_code, r.planned, now] for r in plan.itertuples()],
    )
    patrol = pd.read_csv(files.patrol)
    con.executemany(
        "INSERT INTO daily_patrol VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        [
            [force, r.area_code, r.date, r.patrol_minutes, r.officer_minutes, r.visits, r.koper_visits, 1]
            + [r.window_minutes, now]
            for r in patrol.itertuples()
        ],
    )
    con.execute("CHECKPOINT")
