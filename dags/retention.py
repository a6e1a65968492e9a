"""Retention of personal data, daily at 03:30 local (docs/privacy.md).

Per force: deletes landed and raw ping files (raw device ids) older than HOTSPOTS_RAW_PING_RETENTION_DAYS,
pseudonymous pings older than HOTSPOTS_PING_RETENTION_DAYS (their daily aggregates stay) and quarantined rows
older than HOTSPOTS_QUARANTINE_RETENTION_DAYS; the task log and table retention_runs say what went.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from hotspots.dag_support import DEFAULT_ARGS, START_DATE, WRITER_POOL, forces, local_now, migrate_warehouse
from hotspots.settings import get_settings

_settings = get_settings()


@dag(
    schedule=CronTriggerTimetable("30 3 * * *", timezone=_settings.timezone),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "privacy"],
    doc_md=__doc__,
)
def retention():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def apply_retention(force: str) -> dict:
        from hotspots.pipeline import apply_retention as run

        return run(force, local_now(force).date())

    forces_served = forces()
    migrate_warehouse() >> forces_served
    apply_retention.expand(force=forces_served)


retention()
