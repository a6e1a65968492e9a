"""What the DAG files share: assets, the writer pool, default task arguments, interval helpers.

Imports only airflow.sdk, the standard library and hotspots.settings' constants (no settings are built at import),
so the scheduler's 30-second parse stays cheap.
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
    """On task failure: log loudly, leave a JSON record in data_dir/failures/ for monitoring to pick up, and mail
    HOTSPOTS_FAILURE_EMAIL when set, on the alerts' one email path (hotspots.alerts.targets.SmtpTarget).

    The settings are read when a task fails, never at DAG parse.
    """

    def notify(self, context: dict[str, Any]) -> None:
        import json

        from hotspots.settings import get_settings

        settings = get_settings()
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
        folder = settings.data_dir / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{record['dag_id']}.{record['task_id']}.{record['map_index']}.{record['run_id']}".replace(":", "-")
        (folder / f"{name}.json").write_text(json.dumps(record, indent=2))
        self.log.error("Task failed: %s", record)
        if settings.failure_email:
            self._mail(settings, record)

    def _mail(self, settings, record: dict[str, Any]) -> None:
        """Mail the failure record; a mail that cannot go out is logged, never raised from the callback."""
        from hotspots.alerts.messages import failure_message
        from hotspots.alerts.targets import targets_from_airflow

        _, smtp = targets_from_airflow(settings)
        if smtp is None:
            self.log.warning(
                "Failure mail to %s not sent: no SMTP connection %r", settings.failure_email, settings.smtp_conn_id
            )
            return
        try:
            smtp.send(failure_message(record, from_addr=smtp.from_addr, to=settings.failure_email))
        except Exception as exc:
            self.log.error("Failure mail to %s could not be sent: %s", settings.failure_email, exc)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "hotspots",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "on_failure_callback": [FailureRecord()],
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


def local_now(force: str) -> datetime:
    """The run's instant (its logical date) in the force's own time zone (its profile's, else HOTSPOTS_TIMEZONE):
    each force's local day is its own (docs/settings.md, Per-force profiles)."""
    from airflow.sdk import get_current_context

    from hotspots.settings import force_settings

    return force_settings(force).local_time(get_current_context()["logical_date"])


def run_day(context: dict[str, Any]) -> date:
    """The UTC day a run stands for: its logical date (a scheduled or backfilled run), else when it runs."""
    moment = context.get("logical_date") or context.get("data_interval_end") or context.get("run_after")
    return (moment or datetime.now(timezone.utc)).date()


def evaluation_dates(context: dict[str, Any], forces: list[str]) -> list[dict[str, Any]]:
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


@task(pool=WRITER_POOL)
def migrate_warehouse() -> dict:
    """Every DAG's first task: bring the warehouse to this checkout's sql/ models (hotspots.pipeline.migrate_warehouse;
    a no-op when its schema_version is current). Writer opens after it only check the version."""
    from hotspots.pipeline import migrate_warehouse as migrate

    return migrate()


@task
def forces() -> list[str]:
    """The forces in HOTSPOTS_FORCES: every DAG maps its writer tasks over them."""
    from hotspots.pipeline import forces as configured_forces

    return configured_forces()


@task(pool=WRITER_POOL, outlets=[ALERTS])
def deliver_alerts(after: Any) -> dict:
    """Deliver every pending alert on Slack and email (from the Airflow connections); ``after``: the upstream
    tasks' results, which only order this task after them."""
    from hotspots.alerts.targets import targets_from_airflow
    from hotspots.pipeline import deliver_alerts as deliver_pending
    from hotspots.settings import get_settings

    slack, smtp = targets_from_airflow(get_settings())
    return deliver_pending(slack=slack, smtp=smtp)
