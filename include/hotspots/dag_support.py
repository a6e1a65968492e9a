"""What the DAG files share: assets, the writer pool, default task arguments, interval helpers.

Imports only airflow.sdk and the standard library, so the scheduler's 30-second parse stays cheap.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from airflow.sdk import Asset, BaseNotifier, task

from hotspots.settings import WRITER_POOL  # noqa: F401  (re-exported for the DAG files)

AREAS = Asset(name="stg_areas", uri="hotspots://warehouse/stg_areas")
CRIME = Asset(name="stg_crimes", uri="hotspots://warehouse/stg_crimes")
HOTSPOTS = Asset(name="selections", uri="hotspots://warehouse/selections")
DAILY_PATROL = Asset(name="daily_patrol", uri="hotspots://warehouse/daily_patrol")
ALERTS = Asset(name="alerts", uri="hotspots://warehouse/alerts")

START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)



class FailureRecord(BaseNotifier):
    """On task failure: log loudly and leave a JSON record in data_dir/failures/ for monitoring to pick up."""

    def notify(self, context: dict[str, Any]) -> None:
        import json

        from hotspots.settings import get_settings

        ti = context.get("ti") or context.get("task_instance")
        record = {
            "dag_id": getattr(ti, "dag_id", None),
            "task_id": getattr(ti, "task_id", None),
            "map_index": getattr(ti, "map_index", None),
            "run_id": getattr(ti, "run_id", None),
            "try_number": getattr(ti, "try_number", None),
            "error": str(context.get("exception")),
            "at": datetime.now(timezone.utc).isoformat(),
        }
        folder = get_settings().data_dir / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{record['dag_id']}.{record['task_id']}.{record['map_index']}.{record['run_id']}".replace(":", "-")
        (folder / f"{name}.json").write_text(json.dumps(record, indent=2))
        self.log.error("Task failed: %s", record)


def failure_notifiers() -> list[BaseNotifier]:
    """The failure record, plus Airflow's SMTP notifier when HOTSPOTS_FAILURE_EMAIL is set."""
    from hotspots.settings import get_settings

    settings = get_settings()
    notifiers: list[BaseNotifier] = [FailureRecord()]
    if settings.failure_email:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        notifiers.append(
            SmtpNotifier(
                to=settings.failure_email,
                smtp_conn_id=settings.smtp_conn_id,
                subject="[hotspots] {{ ti.dag_id }}.{{ ti.task_id }} failed",
            )
        )
    return notifiers


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "hotspots",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "on_failure_callback": failure_notifiers(),
}


def interval_day(context: dict[str, Any]) -> date:
    """The UTC day of a daily run: params['day'] when given, else the start of the data interval."""
    override = (context.get("params") or {}).get("day")
    if override:
        return date.fromisoformat(str(override))
    start = context.get("data_interval_start") or context.get("logical_date")
    if start is None:
        raise ValueError("This run has no data interval: trigger it with params {'day': 'YYYY-MM-DD'}.")
    return start.date()


def interval_month(context: dict[str, Any]) -> str:
    """The month (YYYY-MM) of a monthly run: params['month'] when given, else the data interval's month."""
    override = (context.get("params") or {}).get("month")
    if override:
        return str(override)
    start = context.get("data_interval_start") or context.get("logical_date")
    if start is None:
        raise ValueError("This run has no data interval: trigger it with params {'month': 'YYYY-MM'}.")
    return start.strftime("%Y-%m")


def dates_to_evaluate(context: dict[str, Any], forces: list[str]) -> list[dict[str, Any]]:
    """Per force, the complete local dates to evaluate: from params['dates'] or the triggering daily_patrol events."""
    wanted: dict[str, set[str]] = {force: set() for force in forces}
    override = (context.get("params") or {}).get("dates")
    if override:
        for force in forces:
            wanted[force].update(str(d) for d in override)
    else:
        events = context.get("triggering_asset_events") or {}
        for event in events.get(DAILY_PATROL, []) if hasattr(events, "get") else []:
            for force, dates in (event.extra or {}).get("complete_dates", {}).items():
                if force in wanted:
                    wanted[force].update(dates)
    return [{"force": force, "dates": sorted(dates)} for force, dates in wanted.items() if dates]


@task
def forces() -> list[str]:
    """The forces in HOTSPOTS_FORCES: every DAG maps its writer tasks over them."""
    from hotspots.pipeline import forces as configured_forces

    return configured_forces()


@task(pool=WRITER_POOL, outlets=[ALERTS])
def deliver(results: list[dict]) -> dict:
    """Deliver every pending alert on Slack and email (from the Airflow connections) after the upstream tasks."""
    from hotspots.alerts.targets import targets_from_airflow
    from hotspots.pipeline import deliver_alerts
    from hotspots.settings import get_settings

    slack, smtp = targets_from_airflow(get_settings())
    return deliver_alerts(slack=slack, smtp=smtp)
