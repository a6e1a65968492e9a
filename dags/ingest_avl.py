"""Validate, pseudonymise and load a day of AVL/radio GPS pings; compute daily patrol per area."""

from __future__ import annotations

from airflow.sdk import Metadata, Param, dag, get_current_context, task

from hotspots.dag_support import DAILY_PATROL, DEFAULT_ARGS, START_DATE, WRITER_POOL, forces, interval_day


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params={"day": Param(None, type=["null", "string"], description="UTC day (YYYY-MM-DD) to load instead of the interval's")},
    tags=["hotspots", "ingest", "patrol"],
    doc_md="Loads landing/<force>/avl/YYYY-MM-DD/ (UTC day) and recomputes daily_patrol for every local date it touched.",
)
def ingest_avl():
    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def load(force: str) -> dict:
        from hotspots.pipeline import ingest_avl as run

        return run(force, interval_day(get_current_context()))

    @task(outlets=[DAILY_PATROL])
    def announce(results: list[dict]):
        """Publish the complete local dates per force; patrol_compliance evaluates exactly these."""
        complete = {r["force"]: r["complete_dates"] for r in results if r.get("complete_dates")}
        yield Metadata(DAILY_PATROL, {"complete_dates": complete})

    announce(load.expand(force=forces()))


ingest_avl()
