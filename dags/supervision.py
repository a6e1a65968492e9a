"""The supervisors' day: daily_plan in the morning and intraday_check in the evening (each DAG's docstring is its
doc_md)."""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

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
    schedule=CronTriggerTimetable(
        f"{_settings.intraday_check.minute} {_settings.intraday_check.hour} * * *", timezone=_settings.timezone
    ),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "alerts", "intraday"],
)
def intraday_check():
    """The evening 'no visit yet' check, at HOTSPOTS_INTRADAY_CHECK (20:00 local).

    Loads today's pings so far and tells supervisors which of today's planned hot spots have had no visit yet,
    while there is still time in the patrol window.
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
