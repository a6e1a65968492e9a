"""Weekly evaluation of the patrol (Cambridge's third T, testing), Mondays 06:00 local.

For each force, evaluates the plan through the last local day: intention to treat for crime count, CCHI harm and
prevalence with randomisation p-values, dose-response, carry-over and displacement (before/after against
matched comparison areas when every hot spot is planned every day). Writes the marts evaluation_runs and
evaluation_estimates and the HTML evaluation report (docs/evaluation.md).
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from hotspots.dag_support import DEFAULT_ARGS, START_DATE, WRITER_POOL, forces, local_now, migrate_warehouse
from hotspots.settings import get_settings

_settings = get_settings()


@dag(
    schedule=CronTriggerTimetable("0 6 * * 1", timezone=_settings.timezone),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "evaluation"],
    doc_md=__doc__,
)
def evaluate_patrol():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def evaluate_week(force: str) -> dict:
        from datetime import timedelta

        from hotspots.pipeline import evaluate_patrol as run

        return run(force, local_now(force).date() - timedelta(days=1))

    forces_served = forces()
    migrate_warehouse() >> forces_served
    evaluate_week.expand(force=forces_served)


evaluate_patrol()
