"""run: one DAG's tasks without Airflow (hotspots.runner), for scripting and backfills."""

from __future__ import annotations

import json
import re
from datetime import date, time
from typing import Optional

import typer

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD.", param_hint=option) from None


def _brief(result: object) -> str:
    """The scalar and short fields of a step's result, for the text output."""
    if not isinstance(result, dict):
        return json.dumps(result, default=str)[:200]
    shown = {
        k: v for k, v in result.items() if not isinstance(v, (list, dict)) or len(json.dumps(v, default=str)) <= 80
    }
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def register(app: typer.Typer) -> None:
    """Add run to the `hotspots` app."""

    @app.command("run")
    def run_cmd(
        dag_id: str = typer.Argument(
            ...,
            metavar="DAG_ID",
            help="The DAG: ingest_areas, ingest_crime, select_hotspots, ingest_avl, patrol_compliance, daily_plan or "
            "intraday_check (and the other DAGs in dags/).",
        ),
        force: Optional[list[str]] = typer.Option(
            None,
            "--force",
            help="Force slug; repeat for more (default: every force in HOTSPOTS_FORCES).",
        ),
        day: Optional[str] = typer.Option(
            None,
            "--day",
            help="ingest_avl: UTC day (default yesterday); daily_plan, intraday_check: local day (default today; "
            "intraday_check runs each of its checkpoints in order).",
        ),
        at: Optional[str] = typer.Option(
            None, "--at", help="intraday_check: one checkpoint's local time HH:MM (of --day, default today)."
        ),
        month: Optional[str] = typer.Option(
            None, "--month", help="ingest_crime: load YYYY-MM only (default: the catch-up of every month due by today)."
        ),
        dates: Optional[str] = typer.Option(
            None,
            "--dates",
            help="patrol_compliance: local dates, comma-separated YYYY-MM-DD.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print each step's result and its seconds as JSON."),
    ) -> None:
        """Run one DAG's tasks in order, as Airflow would, calling the same pipeline functions with the same params."""
        from hotspots.alerts.outbox import AlertDeliveryError
        from hotspots.feed import FeedMissingError
        from hotspots.runner import RUNNERS, When, run_dag
        from hotspots.settings import get_settings

        if dag_id not in RUNNERS:
            raise typer.BadParameter(f"{dag_id!r} is not a DAG; use one of {', '.join(RUNNERS)}.", param_hint="DAG_ID")
        given = {name: value for name, value in (("day", day), ("month", month), ("dates", dates)) if value is not None}
        takes = RUNNERS[dag_id].takes
        wrong = sorted(set(given) - {takes})
        if wrong:
            takes_text = f"--{takes}" if takes else "no interval option"
            raise typer.BadParameter(f"{dag_id} takes {takes_text}, not --{wrong[0]}.", param_hint=f"--{wrong[0]}")
        if at is not None and dag_id != "intraday_check":
            raise typer.BadParameter(f"{dag_id} takes no --at (only intraday_check does).", param_hint="--at")
        try:
            checkpoint = time.fromisoformat(at.strip()) if at is not None else None
        except ValueError:
            raise typer.BadParameter(f"{at!r} is not a time of day; use HH:MM.", param_hint="--at") from None
        if month is not None and not MONTH.match(month.strip()):
            raise typer.BadParameter(f"{month!r} is not a month; use YYYY-MM.", param_hint="--month")
        when = When(
            day=_date(day, "--day") if day is not None else None,
            month=month.strip() if month is not None else None,
            dates=tuple(_date(d, "--dates") for d in (dates or "").split(",") if d.strip()),
            at=checkpoint,
        )
        if takes == "dates" and not when.dates:
            raise typer.BadParameter(
                f"{dag_id} needs --dates (in Airflow they come from the daily_patrol events).", param_hint="--dates"
            )
        settings = get_settings()
        forces = list(force or settings.forces)
        unknown = [f for f in forces if f not in settings.forces]
        if unknown:
            raise typer.BadParameter(
                f"{', '.join(unknown)} not in HOTSPOTS_FORCES ({', '.join(settings.forces)}).", param_hint="--force"
            )
        try:
            run = run_dag(dag_id, settings=settings, forces=forces, when=when)
        except AlertDeliveryError as exc:
            typer.echo(f"Delivery failed: {exc}", err=True)
            raise typer.Exit(1) from exc
        except FeedMissingError as exc:
            typer.echo(f"Feed missing: {exc}", err=True)
            raise typer.Exit(1) from exc
        if as_json:
            typer.echo(json.dumps({"dag_id": dag_id, "forces": forces, "steps": run.steps}, indent=2, default=str))
            return
        for step in run.steps:
            where = f"[{step['force']}]" if step["force"] else ""
            typer.echo(f"{dag_id}.{step['task']}{where} {step['seconds']:.2f} s: {_brief(step['result'])}")
