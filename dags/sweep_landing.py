"""Pick up late and corrected GPS files by themselves, every 15 minutes.

Finds the processed UTC days whose landing folder holds a ping file that is new or changed since it was loaded
(landed_files), reloads those days (the file's rows replaced, daily_patrol recomputed), re-evaluates compliance and
alerts for the dates touched that were evaluated before and every evaluated day after them, and delivers what that
raised. Days never loaded are left to ingest_avl.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from hotspots.dag_support import DEFAULT_ARGS, START_DATE, WRITER_POOL, deliver_alerts, forces, migrate_warehouse


@dag(
    schedule="*/15 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "ingest", "patrol", "late"],
    doc_md=__doc__,
)
def sweep_landing():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def reload_late_files(force: str) -> dict:
        from hotspots.pipeline import sweep_landing as sweep

        return sweep(force)

    forces_served = forces()
    migrate_warehouse() >> forces_served
    deliver_alerts(reload_late_files.expand(force=forces_served))


sweep_landing()
