"""Load each force's crime, daily: data.police.uk street months (landed files, else the API) and its own records.

load_crime_months looks for every month of the look-back window that data.police.uk has published by now (months
that ended HOTSPOTS_CRIME_PUBLICATION_LAG_DAYS ago) and every month with a file in landing/<force>/crime/, and
loads those not loaded yet or whose file changed: a month published or republished late is picked up by the next
run, its rows replaced. A month with no street file comes from the API by the force's boundary when the force
counts police_uk; a window month still missing raises feed_missing for the data engineers (delivered here).
params.month loads that one month instead. load_force_records (first) loads the new or changed extracts of
landing/<force>/records/. Bad rows go to quarantine. The stg_crimes asset (which re-runs selection) is announced
only when crime was loaded.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from hotspots.dag_support import (
    CRIME,
    DEFAULT_ARGS,
    START_DATE,
    WRITER_POOL,
    deliver_alerts,
    forces,
    migrate_warehouse,
    run_day,
)


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "month": Param(None, type=["null", "string"], description="YYYY-MM to load instead of the catch-up"),
    },
    tags=["hotspots", "ingest", "late"],
    doc_md=__doc__,
)
def ingest_crime():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def load_crime_months(force: str) -> dict:
        from hotspots.pipeline import catch_up_crime
        from hotspots.pipeline import ingest_crime as load_month

        context = get_current_context()
        month = (context.get("params") or {}).get("month")
        return load_month(force, str(month)) if month else catch_up_crime(force, run_day(context))

    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def load_force_records(force: str) -> dict:
        from hotspots.pipeline import ingest_force_records

        return ingest_force_records(force)

    @task(outlets=[CRIME])
    def announce_new_crime(months: list[dict], records: list[dict]) -> dict:
        """The stg_crimes asset event (select_hotspots runs on it), only when some crime was loaded."""
        from airflow.sdk.exceptions import AirflowSkipException

        from hotspots.pipeline import crime_loaded

        loaded = crime_loaded(list(months), list(records))
        if not loaded:
            raise AirflowSkipException("No new or changed crime: the selection stands.")
        return loaded

    forces_served = forces()
    migrate_warehouse() >> forces_served
    records = load_force_records.expand(force=forces_served)
    months = load_crime_months.expand(force=forces_served)
    records >> months  # a force's records first: with crime_source auto they decide whether police_uk counts
    announce_new_crime(months, records)
    deliver_alerts(months)


ingest_crime()
