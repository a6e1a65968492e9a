"""Compare each hot spot's patrol dose with its target, raise alerts, deliver them, publish the report and snapshot.

Triggered by daily_patrol (or params.dates). Builds daily_compliance and raises alerts into the outbox per force,
delivers them (Slack and email when their connections exist), then writes the daily report and the analyst
snapshot, so the report shows how each alert was delivered. A failed delivery still lets the report and
snapshot be published, and then fails the run (fail_run_if_delivery_failed); a failed evaluation publishes
nothing.
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task

from hotspots.dag_support import (
    DAILY_PATROL,
    DEFAULT_ARGS,
    START_DATE,
    WRITER_POOL,
    deliver_alerts,
    evaluation_dates,
    migrate_warehouse,
)


@dag(
    schedule=[DAILY_PATROL],
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params={
        "dates": Param(
            None,
            type=["null", "array"],
            description="Local dates (YYYY-MM-DD) to evaluate for every force",
        ),
    },
    tags=["hotspots", "compliance", "alerts"],
    doc_md=__doc__,
)
def patrol_compliance():
    @task
    def dates_to_evaluate() -> list[dict]:
        from hotspots.pipeline import forces

        return evaluation_dates(get_current_context(), forces())

    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def evaluate_compliance(force: str, dates: list[str]) -> dict:
        from datetime import date

        from hotspots.pipeline import compliance_and_alerts

        return compliance_and_alerts(force, [date.fromisoformat(d) for d in dates])

    @task
    def evaluated_dates(evaluated: list[dict]) -> dict[str, list[str]]:
        """The dates per force, once every force's evaluation succeeded (the gate of deliver and publish)."""
        return {e["force"]: e["dates"] for e in evaluated}

    @task(pool=WRITER_POOL, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def publish_report_and_snapshot(force_dates: dict[str, list[str]]) -> dict:
        """After delivery, failed or not; never when the evaluation failed (evaluated_dates is then not a success)."""
        from hotspots.pipeline import publish

        return publish(force_dates)

    @task(trigger_rule=TriggerRule.ONE_FAILED, on_failure_callback=[])
    def fail_run_if_delivery_failed() -> None:
        """Runs only when deliver_alerts failed or could not run: publish_report_and_snapshot, the other leaf, may
        still succeed, and a run's state is its leaves'. Fails at once (no retries); the failure itself was already
        recorded by the failed task."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(
            "Alerts not delivered: deliver_alerts failed or an evaluation did; see their logs "
            "(docs/operations.md, Replay alerts)."
        )

    work = dates_to_evaluate()
    migrate_warehouse() >> work
    force_dates = evaluated_dates(evaluate_compliance.expand_kwargs(work))
    delivered = deliver_alerts(force_dates)
    delivered >> publish_report_and_snapshot(force_dates)
    delivered >> fail_run_if_delivery_failed()


patrol_compliance()
