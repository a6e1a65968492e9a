"""Commands of this area: compliance, alerts (raise + deliver, or --dry-run) and the daily plan; see hotspots.cli."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import typer


def _forces(force: str | None, settings) -> list[tuple[str, object]]:
    """(force, its settings: the shared ones with its profile) for --force, else every served force."""
    return [(name, settings.for_force(name)) for name in ([force] if force else list(settings.forces))]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD.") from None


def _print_dry_run(con, alerts, settings) -> None:
    """Print the messages pending and new alerts would produce; nothing is written."""
    from hotspots.alerts.messages import email_message, plain_text, slack_message
    from hotspots.alerts.outbox import force_digests, force_routes, open_alerts

    known = {k for (k,) in con.execute("SELECT alert_key FROM alerts").fetchall()}
    fresh = [a for a in alerts if a.key not in known]
    typer.echo(f"{len(fresh)} new alert(s): " + ", ".join(a.key for a in fresh) if fresh else "No new alerts.")
    for channel in ("slack", "email"):
        rows = open_alerts(con, channel)
        rows += [
            {
                "alert_key": a.key,
                "force": a.force,
                "rule": a.rule,
                "area_code": a.area_code,
                "date": a.date.isoformat(),
                "team": a.team,
                "audience": a.audience,
                "severity": a.severity,
                "details": a.details,
            }
            for a in fresh
        ]
        digests, skipped = force_digests(rows, channel, force_routes(settings, {row["force"] for row in rows}), None)
        for digest in digests:
            typer.echo(f"\n--- {channel} to {digest.destination} ({len(digest.alerts)} alerts)")
            if channel == "slack":
                text, blocks = slack_message(digest)
                message = {"channel": digest.destination, "text": text, "blocks": blocks}
                typer.echo(json.dumps(message, indent=2, ensure_ascii=False))
            else:
                typer.echo(f"Subject: {email_message(digest, from_addr=settings.alert_email_from)['Subject']}")
                typer.echo(plain_text(digest))
        for row, reason in skipped:
            typer.echo(f"{channel}: {row['alert_key']} would be skipped ({reason})")


def _deliver(con, settings) -> dict:
    from hotspots.alerts.outbox import AlertDeliveryError, deliver_pending
    from hotspots.alerts.targets import targets_from_airflow

    slack, smtp = targets_from_airflow(settings)
    try:
        return deliver_pending(con, settings=settings, slack=slack, smtp=smtp)
    except AlertDeliveryError as exc:
        typer.echo(f"Delivery failed: {exc}", err=True)
        raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `hotspots` app."""

    @app.command("compliance")
    def compliance_command(
        day: str = typer.Option(..., "--date", help="Local date YYYY-MM-DD."),
        force: str | None = typer.Option(None, "--force", help="Force slug (default: every force in settings)."),
    ) -> None:
        """Build daily_compliance for one day (replaces that day's rows)."""
        from hotspots.compliance import build_compliance
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_warehouse

        settings = get_settings()
        with open_warehouse(settings) as con:
            for name, own in _forces(force, settings):
                typer.echo(json.dumps(build_compliance(con, force=name, date=_day(day), settings=own)))

    @app.command("alerts")
    def alerts_command(
        day: str = typer.Option(..., "--date", help="Local date the alerts are about, YYYY-MM-DD."),
        force: str | None = typer.Option(None, "--force", help="Force slug (default: every force in settings)."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print the messages; write and send nothing (reads a copy of the warehouse)."
        ),
        intraday: bool = typer.Option(
            False, "--intraday", help="Run a checkpoint's 'no visit yet today' rules instead (no loading)."
        ),
        at: str | None = typer.Option(None, "--at", help="Local time HH:MM of the checkpoint (default: now)."),
    ) -> None:
        """Evaluate the alert rules for a day against the warehouse, then deliver everything pending."""
        from hotspots.alerts.rules import evaluate_checkpoint, evaluate_rules, raise_alerts, raise_checkpoint_alerts
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_snapshot, open_warehouse

        settings = get_settings()
        when = _day(day)

        def now_local(own) -> datetime:  # --at is each force's own local time
            zone = ZoneInfo(own.timezone)
            return datetime.combine(when, time.fromisoformat(at), zone) if at else datetime.now(zone)

        if dry_run:
            with open_snapshot(settings, live=True) as con:  # a private copy: the writer's file stays unlocked
                found = []
                for name, own in _forces(force, settings):
                    if intraday:
                        found += evaluate_checkpoint(
                            con, force=name, date=when, now_local=now_local(own), settings=own, store_plan=False
                        )
                    else:
                        found += evaluate_rules(con, force=name, date=when, settings=own)
                _print_dry_run(con, found, settings)
            return
        with open_warehouse(settings) as con:
            for name, own in _forces(force, settings):
                if intraday:
                    keys = raise_checkpoint_alerts(con, force=name, date=when, now_local=now_local(own), settings=own)
                else:
                    keys = raise_alerts(con, force=name, date=when, settings=own)
                typer.echo(f"{name}: {len(keys)} new alert(s)")
            typer.echo(json.dumps(_deliver(con, settings)))

    @app.command("alerts-settle")
    def alerts_settle_command(
        posted: bool = typer.Option(
            ...,
            "--posted/--not-posted",
            help="What you saw in the Slack channel: the uncertain digests are there (mark them sent), or are not "
            "(post them once more on the next delivery).",
        ),
    ) -> None:
        """Settle Slack posts left 'uncertain' (the channel could not be checked after a timeout, 5xx or crash)."""
        from hotspots.alerts.outbox import settle_uncertain
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_warehouse

        with open_warehouse(get_settings()) as con:
            keys = settle_uncertain(con, posted=posted)
        typer.echo(f"{len(keys)} alert(s) marked {'sent' if posted else 'for one more post'}: {', '.join(keys)}")

    @app.command("plan")
    def plan_command(
        day: str = typer.Option(..., "--date", help="Local date YYYY-MM-DD of the plan."),
        force: str | None = typer.Option(None, "--force", help="Force slug (default: every force in settings)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the draw; store and send nothing."),
    ) -> None:
        """Draw the day's randomised plan (settings.plan_k of the hot spots) and publish it to supervisors."""
        from hotspots.alerts.rules import raise_plan_alerts
        from hotspots.plan import make_plan
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_snapshot, open_warehouse

        settings = get_settings()
        served = _forces(force, settings)
        unplanned = [name for name, own in served if own.plan_k is None]
        if unplanned:
            typer.echo(
                f"No plan for {', '.join(unplanned)}: HOTSPOTS_PLAN_K is not set (nor plan_k in the force's profile), "
                "so every hot spot is planned every day.",
                err=True,
            )
            raise typer.Exit(2)
        with open_snapshot(settings, live=True) if dry_run else open_warehouse(settings) as con:
            for name, own in served:
                planned = make_plan(con, force=name, date=_day(day), settings=own, store=not dry_run)
                typer.echo(f"{name} {day}: " + ", ".join(planned))
                if not dry_run:
                    raise_plan_alerts(con, force=name, date=_day(day), settings=own)
            if not dry_run:
                typer.echo(json.dumps(_deliver(con, settings)))
