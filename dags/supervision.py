"""Supervisors' day: the morning randomised plan (Operation Rowan style) and the evening 'no visit yet' check."""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from hotspots.dag_support import DEFAULT_ARGS, START_DATE, WRITER_POOL, deliver, forces
from hotspots.settings import get_settings

_settings = get_settings()


def _local_now():
    from zoneinfo import ZoneInfo

    context = get_current_context()
    return context["logical_date"].astimezone(ZoneInfo(get_settings().timezone))


@dag(
    schedule=CronTriggerTimetable("0 8 * * *", timezone=_settings.timezone),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "alerts", "plan"],
    doc_md="08:00 local: when HOTSPOTS_PLAN_K is set, draw k of the hot spots for today's patrol (recorded seed) "
    "and send the plan to supervisors. Without it, does nothing.",
)
def daily_plan():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def plan(force: str) -> dict:
        from hotspots.pipeline import publish_plan

        return publish_plan(force, _local_now().date())

    deliver(plan.expand(force=forces()))


@dag(
    schedule=CronTriggerTimetable(
        f"{_settings.intraday_check.minute} {_settings.intraday_check.hour} * * *", timezone=_settings.timezone
    ),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "alerts", "intraday"],
    doc_md="At HOTSPOTS_INTRADAY_CHECK (20:00 local): load today's pings so far and tell supervisors which of "
    "today's planned hot spots have had no visit yet, while there is still time in the patrol window.",
)
def intraday_check():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def check(force: str) -> dict:
        from hotspots.pipeline import intraday_check as run

        return run(force, _local_now())

    deliver(check.expand(force=forces()))


daily_plan()
intraday_check()
