"""Validate and load a month of street-level crime per force (data.police.uk archive layout).

Loads landing/<force>/crime/YYYY-MM/*-street.csv for the interval's month (or params.month); bad rows go to
quarantine. Publishes the stg_crimes asset.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from hotspots.dag_support import CRIME, DEFAULT_ARGS, START_DATE, WRITER_POOL, forces, interval_month, migrate_warehouse


@dag(
    schedule="@monthly",
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params={
        "month": Param(None, type=["null", "string"], description="YYYY-MM to load instead of the interval's month"),
    },
    tags=["hotspots", "ingest"],
    doc_md=__doc__,
)
def ingest_crime():
    @task(pool=WRITER_POOL, outlets=[CRIME], map_index_template="{{ force }}")
    def load_crime_month(force: str) -> dict:
        from hotspots.pipeline import ingest_crime as run

        return run(force, interval_month(get_current_context()))

    forces_served = forces()
    migrate_warehouse() >> forces_served
    load_crime_month.expand(force=forces_served)


ingest_crime()
