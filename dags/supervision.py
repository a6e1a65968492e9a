"""The supervisors' day: daily_plan in the morning and intraday_check at each in-shift checkpoint (each DAG's
docstring is its doc_md)."""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, MultipleCronTriggerTimetable, dag, task

from hotspots.dag_support import (
    DEFAULT_ARGS,
    START_DATE,
    WRITER_POOL,
    deliver_alerts,
    forces,
    local_now,
    migrate_warehouse,
)
from hotspots.settings import get_settings

_settings = get_settings()


@dag(
    schedule=CronTriggerTimetable("0 8 * * *", timezone=_settings.timezone),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "alerts", "plan"],
)
def daily_plan():
    """The morning randomised plan (Operation Rowan style), 08:00 local.

    When HOTSPOTS_PLAN_K is set, draws k of the hot spots for today's patrol (recorded seed) and sends the plan to
    supervisors. Without it, does nothing.
    """

    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def draw_daily_plan(force: str) -> dict:
        from hotspots.pipeline import publish_plan

        return publish_plan(force, local_now(force).date())

    forces_served = forces()
    migrate_warehouse() >> forces_served
    deliver_alerts(draw_daily_plan.expand(force=forces_served))


@dag(
    schedule=MultipleCronTriggerTimetable(
        *(f"{t.minute} {t.hour} * * *" for t in _settings.checkpoint_times), timezone=_settings.timezone
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "alerts", "intraday"],
)
def intraday_check():
    """The in-shift checkpoints, at HOTSPOTS_CHECKPOINT_TIMES (18:00, 21:00 and 23:00 local).

    Each loads the ping files landed since the last run (a micro-batch), recomputes today's patrol so far, tells
    supervisors which of today's planned hot spots have had no visit yet or are under dose (and, with
    HOTSPOTS_CHECKPOINT_DOSE_NOTICE, which have had their dose), and rewrites the live "today so far" page, while
    there is still time in the patrol window. Each checkpoint's alerts are sent once.
    """

    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def check_no_visit_yet(force: str) -> dict:
        from hotspots.pipeline import intraday_check as run

        return run(force, local_now(force))

    forces_served = forces()
    migrate_warehouse() >> forces_served
    deliver_alerts(check_no_visit_yet.expand(force=forces_served))


daily_plan()
intraday_check()
