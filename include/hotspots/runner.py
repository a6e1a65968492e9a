"""`hotspots run DAG_ID`: one DAG's tasks without Airflow, for scripting and backfills.

Each runner calls the hotspots.pipeline functions the DAG's tasks call, with the same params, in the DAG's
order, once per force where the DAG maps over forces. ``RUNNERS`` lists every DAG in dags/ with its task ids
(tests/cli/test_cli_run.py fails when a DAG or a task is added without its runner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from time import perf_counter
from typing import Any, Callable
from zoneinfo import ZoneInfo

from hotspots import pipeline
from hotspots.feed import FeedMissingError, missing_days_message
from hotspots.settings import Settings


@dataclass(frozen=True)
class When:
    """The interval of the run: a UTC day, a month (YYYY-MM) or local dates, as the DAG params give them (and a
    checkpoint's local time)."""

    day: date | None = None
    month: str | None = None
    dates: tuple[date, ...] = ()
    at: time | None = None  # intraday_check: the checkpoint's local time


@dataclass
class Run:
    """One run of a DAG's tasks: its settings, forces and interval, and each step's result and seconds."""

    dag_id: str
    settings: Settings
    forces: list[str]
    when: When
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, task: str, force: str | None, fn: Callable[[], Any]) -> Any:
        started = perf_counter()
        result = fn()
        self.steps.append(
            {"task": task, "force": force, "seconds": round(perf_counter() - started, 3), "result": result}
        )
        return result

    def mapped(self, task: str, fn: Callable[[str], Any]) -> list[Any]:
        """A task mapped over the forces (expand(force=forces()))."""
        self.step("forces", None, lambda: list(self.forces))
        return [self.step(task, force, lambda: fn(force)) for force in self.forces]

    def deliver_alerts(self) -> Any:
        """dag_support.deliver_alerts: every pending alert on Slack and email, from the Airflow connections."""
        from hotspots.alerts.targets import targets_from_airflow

        def run() -> Any:
            slack, smtp = targets_from_airflow(self.settings)
            return pipeline.deliver_alerts(settings=self.settings, slack=slack, smtp=smtp)

        return self.step("deliver_alerts", None, run)


def _yesterday_utc() -> date:
    return datetime.now(timezone.utc).date() - timedelta(days=1)


def _ingest_areas(run: Run) -> None:
    run.mapped("load_areas", lambda force: pipeline.ingest_areas(force, run.settings))


def _ingest_crime(run: Run) -> None:
    """--month loads that month; without it, the catch-up as of today (UTC), as the daily DAG run does."""
    month, today = run.when.month, datetime.now(timezone.utc).date()
    run.step("forces", None, lambda: list(run.forces))
    records = [
        run.step("load_force_records", force, lambda: pipeline.ingest_force_records(force, run.settings))
        for force in run.forces
    ]
    months = [
        run.step(
            "load_crime_months",
            force,
            lambda: (
                pipeline.ingest_crime(force, month, run.settings)
                if month
                else pipeline.catch_up_crime(force, today, run.settings)
            ),
        )
        for force in run.forces
    ]
    run.step("announce_new_crime", None, lambda: pipeline.crime_loaded(months, records))
    run.deliver_alerts()


def _select_hotspots(run: Run) -> None:
    keys = ("selection_id", "effective_from", "hotspots", "added", "removed", "changed")
    run.mapped("rank_and_select", lambda force: {k: pipeline.select_hotspots(force, run.settings).get(k) for k in keys})


def _ingest_avl(run: Run) -> None:
    day = run.when.day or _yesterday_utc()
    results = run.mapped("load_pings_and_patrol", lambda force: pipeline.ingest_avl(force, day, run.settings))
    complete = {r["force"]: r["complete_dates"] for r in results if r.get("complete_dates")}
    run.step("announce_daily_patrol", None, lambda: {"complete_dates": complete})
    run.deliver_alerts()
    message = run.step("fail_run_if_feed_missing", None, lambda: missing_days_message(results))
    if message:
        raise FeedMissingError(message)


def _patrol_compliance(run: Run) -> None:
    """As the DAG: the report and snapshot are published after delivery, also when delivery failed (its error is
    raised after them, as fail_run_if_delivery_failed fails the DAG run)."""
    from hotspots.alerts.outbox import AlertDeliveryError

    dates = sorted({d.isoformat() for d in run.when.dates})
    todo = run.step(
        "dates_to_evaluate", None, lambda: [{"force": force, "dates": dates} for force in run.forces if dates]
    )
    evaluated = [
        run.step(
            "evaluate_compliance",
            item["force"],
            lambda: pipeline.compliance_and_alerts(
                item["force"], [date.fromisoformat(d) for d in item["dates"]], run.settings
            ),
        )
        for item in todo
    ]
    force_dates = run.step("evaluated_dates", None, lambda: {e["force"]: e["dates"] for e in evaluated})
    failed = None
    try:
        run.deliver_alerts()
    except AlertDeliveryError as exc:
        failed = exc
    run.step("publish_report_and_snapshot", None, lambda: pipeline.publish(force_dates, run.settings))
    if failed is not None:
        run.step("fail_run_if_delivery_failed", None, lambda: {"error": str(failed)})
        raise failed


def _sweep_landing(run: Run) -> None:
    run.mapped("reload_late_files", lambda force: pipeline.sweep_landing(force, run.settings))
    run.deliver_alerts()


def _local_day(run: Run, force: str) -> date:
    """--day, else today in the force's own time zone (its profile's, else HOTSPOTS_TIMEZONE)."""
    return run.when.day or run.settings.for_force(force).local_time(datetime.now(timezone.utc)).date()


def _daily_plan(run: Run) -> None:
    run.mapped("draw_daily_plan", lambda force: pipeline.publish_plan(force, _local_day(run, force), run.settings))
    run.deliver_alerts()


def _intraday_check(run: Run) -> None:
    """One DAG run per checkpoint (settings.checkpoint_times, in the deployment's time zone; each force's check at
    that instant in its own zone): --at gives one checkpoint (today, or --day's); --day alone runs that day's
    checkpoints in order, as the DAG's runs that day; neither: now."""
    zone = ZoneInfo(run.settings.timezone)
    if run.when.day or run.when.at:
        day = run.when.day or datetime.now(zone).date()
        times = [run.when.at] if run.when.at else run.settings.checkpoint_times
        instants = [datetime.combine(day, t, tzinfo=zone) for t in times]
    else:
        instants = [datetime.now(timezone.utc)]
    for instant in instants:
        run.mapped(
            "check_no_visit_yet",
            lambda force: pipeline.intraday_check(
                force, run.settings.for_force(force).local_time(instant), run.settings
            ),
        )
        run.deliver_alerts()


def _retention(run: Run) -> None:
    """--day gives the day retention counts from (default: today, local)."""
    run.mapped("apply_retention", lambda force: pipeline.apply_retention(force, _local_day(run, force), run.settings))


def _evaluate_patrol(run: Run) -> None:
    """As the weekly DAG: the plan evaluated through the day before the run (--day: through that day)."""

    def through(force: str) -> date:
        return run.when.day or _local_day(run, force) - timedelta(days=1)

    run.mapped("evaluate_week", lambda force: pipeline.evaluate_patrol(force, through(force), run.settings))


def _weekly_plan(run: Run) -> None:
    """--day is the publication day (local): the schedule covers the Monday to Sunday after it."""
    from hotspots.schedule import publish_weekly_plan

    run.mapped("publish_weekly_plan", lambda force: publish_weekly_plan(force, _local_day(run, force), run.settings))
    run.deliver_alerts()


@dataclass(frozen=True)
class DagRunner:
    """A DAG's task ids, the option that sets its interval (day, month, dates or None) and its runner."""

    tasks: tuple[str, ...]
    takes: str | None
    run: Callable[[Run], None]


RUNNERS: dict[str, DagRunner] = {
    "ingest_areas": DagRunner(("migrate_warehouse", "forces", "load_areas"), None, _ingest_areas),
    "ingest_crime": DagRunner(
        (
            "migrate_warehouse",
            "forces",
            "load_force_records",
            "load_crime_months",
            "announce_new_crime",
            "deliver_alerts",
        ),
        "month",
        _ingest_crime,
    ),
    "select_hotspots": DagRunner(("migrate_warehouse", "forces", "rank_and_select"), None, _select_hotspots),
    "ingest_avl": DagRunner(
        (
            "migrate_warehouse",
            "forces",
            "load_pings_and_patrol",
            "announce_daily_patrol",
            "deliver_alerts",
            "fail_run_if_feed_missing",
        ),
        "day",
        _ingest_avl,
    ),
    "patrol_compliance": DagRunner(
        (
            "migrate_warehouse",
            "dates_to_evaluate",
            "evaluate_compliance",
            "evaluated_dates",
            "deliver_alerts",
            "publish_report_and_snapshot",
            "fail_run_if_delivery_failed",
        ),
        "dates",
        _patrol_compliance,
    ),
    "sweep_landing": DagRunner(
        ("migrate_warehouse", "forces", "reload_late_files", "deliver_alerts"), None, _sweep_landing
    ),
    "daily_plan": DagRunner(("migrate_warehouse", "forces", "draw_daily_plan", "deliver_alerts"), "day", _daily_plan),
    "intraday_check": DagRunner(
        ("migrate_warehouse", "forces", "check_no_visit_yet", "deliver_alerts"), "day", _intraday_check
    ),
    "retention": DagRunner(("migrate_warehouse", "forces", "apply_retention"), "day", _retention),
    "evaluate_patrol": DagRunner(("migrate_warehouse", "forces", "evaluate_week"), "day", _evaluate_patrol),
    "weekly_plan": DagRunner(
        ("migrate_warehouse", "forces", "publish_weekly_plan", "deliver_alerts"), "day", _weekly_plan
    ),
}


def run_dag(dag_id: str, *, settings: Settings, forces: list[str], when: When) -> Run:
    """Run the DAG's tasks in order, the migration first as in every DAG; returns the run with every step's
    result and seconds."""
    run = Run(dag_id, settings, list(forces), when)
    run.step("migrate_warehouse", None, lambda: pipeline.migrate_warehouse(settings))
    RUNNERS[dag_id].run(run)
    return run
