"""evaluate: did the patrol reduce crime and harm? The built-in evaluation of a hot-spot patrol (issue 17)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from hotspots.commands.inputs import PathListCommand, files_in, scratch_settings

RECORD_SUFFIXES = (".csv", ".parquet")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD).", param_hint=option) from None


def from_files(records: list[Path], plan: Path, areas: list[Path], patrol: Path | None, start, end, settings) -> dict:
    """Load the files into a scratch warehouse with the project's loaders, then evaluate."""
    from hotspots.commands.inputs import load_area_files, open_scratch
    from hotspots.evaluation.data import Inputs, evaluate, read_patrol, read_plan
    from hotspots.harm import load_harm_weights
    from hotspots.sources.force_records import ingest_force_records

    force = settings.forces[0]  # the force the plan was drawn for: its re-draws are salted with it (plan.day_seed)
    inputs = Inputs(read_plan(plan), read_patrol(patrol) if patrol else None)
    with ExitStack() as stack:
        con = open_scratch(stack, settings)
        load_area_files(con, force=force, paths=areas, settings=settings)
        load_harm_weights(con, settings)
        loaded = [ingest_force_records(con, force=force, path=p, settings=settings) for p in records]
        result = evaluate(con, force=force, inputs=inputs, settings=settings, start=start, end=end)
    result["records"] = {
        "files": len(loaded),
        "rows_loaded": sum(int(c.get("rows_loaded", 0)) for c in loaded),
        "rows_quarantined": sum(int(c.get("rows_quarantined", 0)) for c in loaded),
    }
    return result


def from_warehouse(force: str, start, end, settings) -> dict:
    """Evaluate the warehouse's plan, patrol and crimes (on a private read-only copy: never blocks the pipeline)."""
    from hotspots.evaluation.data import Inputs, evaluate, warehouse_patrol, warehouse_plan
    from hotspots.warehouse import open_snapshot

    with open_snapshot(settings, live=True) as con:
        inputs = Inputs(warehouse_plan(con, force), warehouse_patrol(con, force))
        return evaluate(con, force=force, inputs=inputs, settings=settings, start=start, end=end)


def summary_lines(result: dict) -> list[str]:
    from hotspots.evaluation.summary import plain_summary

    return plain_summary(result)


def export_group(app: typer.Typer) -> typer.Typer:
    """The `hotspots export` group (commands/warehouse.py makes it; registered before this module)."""
    for group in app.registered_groups:
        if group.name == "export":
            return group.typer_instance
    raise RuntimeError("the export group is registered by hotspots.commands.warehouse, before evaluate")


def register(app: typer.Typer) -> None:
    """Add evaluate and export returns to the `hotspots` app."""

    @export_group(app).command("returns")
    def export_returns(
        period: str = typer.Option(..., "--period", help="A month (2025-03) or a quarter (2025Q1)."),
        fmt: str = typer.Option("csv", "--format", "-f", help="csv or xlsx."),
        out: Optional[Path] = typer.Option(
            None, "--out", "-o", help="Output file (default data_dir/exports/returns-<period>.<format>)."
        ),
        force: Optional[str] = typer.Option(None, help="Only this force (default: every force)."),
    ) -> None:
        """The funder return: patrol hours, visits, Koper visits and compliance per hot spot and in total."""
        from hotspots.privacy import record_export
        from hotspots.returns import FORMATS, PeriodError, funder_returns, write_returns
        from hotspots.settings import get_settings
        from hotspots.warehouse import open_snapshot

        if fmt not in FORMATS:
            raise typer.BadParameter(f"{fmt!r}: use csv or xlsx.", param_hint="--format")
        settings = get_settings()
        try:
            with open_snapshot(settings) as con:
                frame = funder_returns(con, period=period, settings=settings, force=force)
        except PeriodError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from None
        target = out or Path(settings.data_dir) / "exports" / f"returns-{period.strip().upper()}.{fmt}"
        written = write_returns(frame, target, fmt)
        record_export("export", {"what": "returns", "period": period, "format": fmt, "out": str(written)}, settings)
        typer.echo(written)

    @app.command("evaluate", cls=PathListCommand)
    def evaluate_cmd(
        records: Optional[list[Path]] = typer.Option(
            None, "--records", help="Force-records extracts (CSV or Parquet) or folders; several after one flag."
        ),
        plan: Optional[Path] = typer.Option(None, "--plan", help="Plan CSV: date, area_code, planned (true/false)."),
        areas: Optional[list[Path]] = typer.Option(
            None, "--areas", help="Area boundary files or folders; several after one flag."
        ),
        patrol: Optional[Path] = typer.Option(
            None, "--patrol", help="Daily patrol CSV as `hotspots patrol-minutes` writes it (the delivered dose)."
        ),
        start: Optional[str] = typer.Option(None, "--start", help="First day evaluated (YYYY-MM-DD)."),
        end: Optional[str] = typer.Option(None, "--end", help="Last day evaluated (YYYY-MM-DD)."),
        force: Optional[str] = typer.Option(
            None, "--force", help="Warehouse mode: the force evaluated (default: the first of HOTSPOTS_FORCES)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the estimates; the last line is one JSON object."),
    ) -> None:
        """Evaluate the patrol: intention to treat (count, harm, prevalence), dose-response, carry-over and
        displacement; before/after against matched comparison areas when every hot spot was planned every day.

        With --records, --plan and --areas the files are evaluated (nothing is stored); with none of them, the
        warehouse is (daily_plan, daily_patrol, stg_crimes). p-values re-draw the plan
        HOTSPOTS_EVALUATION_REDRAWS times with the plan's own method.
        """
        from hotspots.settings import get_settings

        first, last = _day(start, "--start"), _day(end, "--end")
        if first and last and first > last:
            raise typer.BadParameter(f"--start {first} is after --end {last}.", param_hint="--start")
        given = {"--records": bool(records), "--plan": plan is not None, "--areas": bool(areas)}
        if any(given.values()) or patrol is not None:
            missing = [name for name, ok in given.items() if not ok]
            if missing:
                raise typer.BadParameter(
                    f"evaluating files needs --records, --plan and --areas; {', '.join(missing)} missing "
                    "(or pass none of them to evaluate the warehouse).",
                    param_hint=missing[0],
                )
            if force is not None:
                raise typer.BadParameter("--force is for the warehouse; files are one force.", param_hint="--force")
            record_files = files_in(records, RECORD_SUFFIXES, "--records")
            with ExitStack() as stack:
                settings = scratch_settings(stack, {}, prefix="hotspots-evaluate-", ephemeral_key=True)
                result = from_files(record_files, plan, list(areas), patrol, first, last, settings)
        else:
            settings = get_settings()
            name = force or settings.forces[0]
            result = from_warehouse(name, first, last, settings.for_force(name))
        for line in summary_lines(result):
            typer.echo(line)
        if as_json:
            typer.echo(json.dumps(result, default=str))
