"""Validate, pseudonymise and load a day of AVL/radio GPS pings; compute daily patrol per area.

Loads landing/<force>/avl/YYYY-MM-DD/ (the interval's UTC day, or params.day) and recomputes daily_patrol for
every local date it touched, then announces the local dates now complete on the daily_patrol asset
(patrol_compliance evaluates exactly those).
"""

from __future__ import annotations

from airflow.sdk import Metadata, Param, dag, get_current_context, task

from hotspots.dag_support import (
    DAILY_PATROL,
    DEFAULT_ARGS,
    START_DATE,
    WRITER_POOL,
    forces,
    interval_day,
    migrate_warehouse,
)


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params={
        "day": Param(
            None,
            type=["null", "string"],
            description="UTC day (YYYY-MM-DD) to load instead of the interval's",
        ),
    },
    tags=["hotspots", "ingest", "patrol"],
    doc_md=__doc__,
)
def ingest_avl():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def load_pings_and_patrol(force: str) -> dict:
        from hotspots.pipeline import ingest_avl as run

        return run(force, interval_day(get_current_context()))

    @task(outlets=[DAILY_PATROL])
    def announce_daily_patrol(results: list[dict]):
        """The daily_patrol asset event: the complete local dates per force."""
        complete = {r["force"]: r["complete_dates"] for r in results if r.get("complete_dates")}
        yield Metadata(DAILY_PATROL, {"complete_dates": complete})

    forces_served = forces()
    migrate_warehouse() >> forces_served
    announce_daily_patrol(load_pings_and_patrol.expand(force=forces_served))


ingest_avl()
