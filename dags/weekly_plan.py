"""The weekly schedule of the randomised plan, published ahead (each DAG's docstring is its doc_md)."""

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
    schedule=CronTriggerTimetable(
        f"{_settings.plan_publish_time.minute} {_settings.plan_publish_time.hour} * * {_settings.plan_publish_weekday}",
        timezone=_settings.timezone,
    ),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "alerts", "plan"],
)
def weekly_plan():
    """The week's randomised plan, published ahead: HOTSPOTS_PLAN_PUBLISH_WEEKDAY at HOTSPOTS_PLAN_PUBLISH_TIME.

    When HOTSPOTS_PLAN_K is set, draws the plan of the next Monday to Sunday once (a rerun keeps it; a redraw is
    `hotspots plan-week --redraw --reason ...`), stores seed, method and inputs, and sends it to supervisors.
    """

    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def publish_weekly_plan(force: str) -> dict:
        from hotspots.schedule import publish_weekly_plan as publish

        return publish(force, local_now(force).date())

    forces_served = forces()
    migrate_warehouse() >> forces_served
    deliver_alerts(publish_weekly_plan.expand(force=forces_served))


weekly_plan()
