"""Validate, pseudonymise and load a day of AVL/radio GPS pings; compute daily patrol per area.

Loads landing/<force>/avl/YYYY-MM-DD/ (the interval's UTC day, or params.day) and recomputes daily_patrol for
every local date it touched, then announces the local dates now complete on the daily_patrol asset
(patrol_compliance evaluates exactly those). Each closed local day's feed is checked: feed_missing alerts go to
the data engineers and are delivered here; a day with no ping files then fails the run (never a silent success).
"""

from __future__ import annotations

from airflow.sdk import Metadata, Param, TriggerRule, dag, get_current_context, task

from hotspots.dag_support import (
    DAILY_PATROL,
    DEFAULT_ARGS,
    START_DATE,
    WRITER_POOL,
    deliver_alerts,
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

    @task(trigger_rule=TriggerRule.ALL_DONE, on_failure_callback=[])
    def fail_run_if_feed_missing(results: list[dict]) -> None:
        """Fails the run (no retries) when a force's day had no ping files, after its alert was delivered."""
        from airflow.sdk.exceptions import AirflowFailException

        from hotspots.feed import missing_days_message

        message = missing_days_message(results)
        if message:
            raise AirflowFailException(message)

    forces_served = forces()
    migrate_warehouse() >> forces_served
    loaded = load_pings_and_patrol.expand(force=forces_served)
    announce_daily_patrol(loaded)
    deliver_alerts(loaded) >> fail_run_if_feed_missing(loaded)


ingest_avl()
