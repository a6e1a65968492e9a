"""Compare each hot spot's patrol dose with its target, raise alerts, deliver them, publish the snapshot."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from hotspots.dag_support import DAILY_PATROL, DEFAULT_ARGS, START_DATE, WRITER_POOL, dates_to_evaluate, deliver


@dag(
    schedule=[DAILY_PATROL],
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params={"dates": Param(None, type=["null", "array"], description="Local dates (YYYY-MM-DD) to evaluate for every force")},
    tags=["hotspots", "compliance", "alerts"],
    doc_md="Triggered by daily_patrol. Builds daily_compliance, raises alerts into the outbox, delivers them "
    "(Slack and email when their connections exist), then writes the daily report and the analyst snapshot.",
)
def patrol_compliance():
    @task
    def work() -> list[dict]:
        from hotspots.pipeline import forces

        return dates_to_evaluate(get_current_context(), forces())

    @task(pool=WRITER_POOL, map_index_template="{{ force }}")
    def evaluate(force: str, dates: list[str]) -> dict:
        from datetime import date

        from hotspots.pipeline import compliance_and_alerts

        return compliance_and_alerts(force, [date.fromisoformat(d) for d in dates])

    @task(pool=WRITER_POOL)
    def publish(evaluated: list[dict]) -> dict:
        from hotspots.pipeline import publish as run

        return run({e["force"]: e["dates"] for e in evaluated})

    evaluated = evaluate.expand_kwargs(work())
    deliver(evaluated)
    publish(evaluated)


patrol_compliance()
