"""plan-week: publish (or redraw, with a reason) the weekly schedule of the randomised plan."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional
from zoneinfo import ZoneInfo

import typer


def register(app: typer.Typer) -> None:
    """Add plan-week to the `hotspots` app."""

    @app.command("plan-week")
    def plan_week(
        week: Optional[str] = typer.Option(
            None, "--week", help="Monday of the week, YYYY-MM-DD (default: the next Monday, local time)."
        ),
        force: Optional[str] = typer.Option(None, "--force", help="Force slug (default: every force in settings)."),
        redraw: bool = typer.Option(False, "--redraw", help="Draw a published week again (needs --reason)."),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why the week is redrawn (recorded)."),
    ) -> None:
        """Publish the weekly schedule of the randomised plan once (a rerun keeps it) and send it to supervisors."""
        from hotspots.cli import UserError
        from hotspots.commands.alerts import _deliver
        from hotspots.schedule import ScheduleError, publish_week, week_covered
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_warehouse

        settings = get_settings()
        try:
            start = date.fromisoformat(week) if week else None
        except ValueError:
            raise typer.BadParameter(f"{week!r} is not a date; use YYYY-MM-DD.", param_hint="--week") from None
        with open_warehouse(settings) as con:
            for name in [force] if force else list(settings.forces):
                own = settings.for_force(name)  # default week: the next one in the force's own time zone
                covered = start or week_covered(datetime.now(ZoneInfo(own.timezone)).date())
                try:
                    result = publish_week(
                        con, force=name, week_start=covered, settings=own, redraw=redraw, reason=reason
                    )
                except ScheduleError as exc:
                    raise UserError(str(exc)) from None
                typer.echo(json.dumps(result, default=str))
            typer.echo(json.dumps(_deliver(con, settings)))
