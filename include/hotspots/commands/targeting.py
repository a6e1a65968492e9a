"""backtest: how well the hot-spot rule's list from past months captures the following months' harm;
plan-dose: the day's officer-minutes spread over the planned hot spots."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import typer

from hotspots.commands.inputs import (
    PathListCommand,
    empty_counts,
    load_area_files,
    merge_counts,
    open_scratch,
    scratch_settings,
)

WEIGHT_CHOICES = ("cchi", "count", "sqrt", "css")


def budget_update(top: int | None, area_share: float | None, harm_share: float | None) -> dict:
    """The settings update for at most one budget option."""
    chosen = {
        k: v for k, v in {"top": top, "area_share": area_share, "harm_share": harm_share}.items() if v is not None
    }
    if len(chosen) > 1:
        raise typer.BadParameter("give one budget: --top, --area-share or --harm-share.")
    if not chosen:
        return {}
    mode, value = next(iter(chosen.items()))
    return {"budget_mode": mode, "hotspot_count" if mode == "top" else mode: value}


def weights_update(weights: str | None) -> dict:
    if weights is None:
        return {}
    if weights not in WEIGHT_CHOICES:
        raise typer.BadParameter(f"{weights!r}: use {', '.join(WEIGHT_CHOICES)}.", param_hint="--weights")
    return {"harm_weights": weights}


def types_update(types: str | None) -> dict:
    return {} if types is None else {"crime_types": [t.strip() for t in types.split(",") if t.strip()]}


def _load(stack: ExitStack, crime: list[Path], areas: list[Path], force: str | None, update: dict, warehouse):
    """A scratch (or given) warehouse with the area and crime files loaded by the DAGs' readers; returns the
    connection, settings, force and the counts."""
    from hotspots.commands.selection import _crime_files, _force_from
    from hotspots.sources.police_uk import ingest_crime_file

    crime_paths = _crime_files(crime)
    force = force or _force_from(crime_paths)
    settings = scratch_settings(stack, update, prefix="hotspots-targeting-", warehouse=warehouse, force=force)
    con = open_scratch(stack, settings)
    area_counts = load_area_files(con, force=force, paths=areas, settings=settings)
    counts = empty_counts() | {"events_outside": 0}
    for path in crime_paths:
        merge_counts(counts, ingest_crime_file(con, force=force, path=path, settings=settings), ("events_outside",))
    return con, settings, force, area_counts, counts


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write the named columns of rows (dicts) to a CSV file with a header, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([row[c] for c in columns] for row in rows)


def register(app: typer.Typer) -> None:
    """Add backtest and plan-dose to the `hotspots` app."""

    @app.command("persistence", cls=PathListCommand)
    def persistence_cmd(
        crime: list[Path] = typer.Option(..., "--crime", help="Street-level crime CSV files, folders or zips."),
        areas: list[Path] = typer.Option(..., "--areas", help="Area boundary files or folders."),
        years: Optional[int] = typer.Option(None, "--years", min=1, help="Years classified (default: setting)."),
        hot_share: Optional[float] = typer.Option(
            None, "--hot-share", min=0, max=1, help="Top share of areas that is hot in a year (default: setting)."
        ),
        weights: Optional[str] = typer.Option(
            None, "--weights", help=f"{', '.join(WEIGHT_CHOICES)} (default: setting)."
        ),
        types: Optional[str] = typer.Option(None, "--types", help="Comma-separated crime types."),
        last_month: Optional[str] = typer.Option(None, "--last-month", help="Last month of the latest year (YYYY-MM)."),
        force: Optional[str] = typer.Option(None, "--force", help="Force slug (default: from the crime file names)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write area_code,years_hot,persistence as CSV."),
        as_json: bool = typer.Option(False, "--json", help="Print the classes as JSON."),
    ) -> None:
        """Classify areas as persistent, emerging or intermittent hot spots over years of harm."""
        from hotspots.selection import month_start
        from hotspots.targeting.persistence import classify

        update = weights_update(weights) | types_update(types)
        if years is not None:
            update["persistence_years"] = years
        if hot_share is not None:
            update["persistence_hot_share"] = hot_share
        with ExitStack() as stack:
            con, settings, force, _, _ = _load(stack, crime, areas, force, update, None)
            latest = con.execute("SELECT max(month) FROM counted_crimes WHERE force = ?", [force]).fetchone()[0]
            end = month_start(last_month) if last_month else month_start(latest)
            result = classify(con, force=force, settings=settings, end_month=end)
        if out is not None:
            _write_csv(out, ["area_code", "years_hot", "persistence"], result["areas"])
        if as_json:
            typer.echo(json.dumps(result, indent=2))
            return
        c = result["counts"]
        typer.echo(
            f"Force {force}: {len(result['areas'])} areas over {result['years']} year(s) to {result['end_month']} "
            f"(hot = top {result['hot_share']:.0%} by harm in a year): {c['persistent']} persistent, "
            f"{c['emerging']} emerging, {c['intermittent']} intermittent, {c['none']} never hot"
        )
        if result["months_with_data"] < 12 * result["years"]:
            typer.echo(
                f"Note: only {result['months_with_data']} of the {12 * result['years']} months have crime data; "
                "years without data have no hot areas."
            )

    @app.command("plan-dose")
    def plan_dose_cmd(
        capacity_minutes: float = typer.Option(
            ..., "--capacity-minutes", min=0, help="Officer-minutes available for hot-spot visits that day."
        ),
        unit: Optional[float] = typer.Option(
            None, "--unit", min=1, help="Minutes of one visit (default: setting, 15)."
        ),
        day: Optional[str] = typer.Option(None, "--date", help="Local day YYYY-MM-DD (default: today)."),
        force: Optional[str] = typer.Option(None, "--force", help="Force slug (default: the first of the setting)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write area_code,units,minutes as CSV."),
        as_json: bool = typer.Option(False, "--json", help="Print the allocation as JSON."),
    ) -> None:
        """Allocate the day's patrol minutes over the planned hot spots (writes dose_plan in the warehouse)."""
        from datetime import date, datetime
        from zoneinfo import ZoneInfo

        from hotspots.cli import UserError
        from hotspots.settings import get_settings
        from hotspots.targeting.dose import plan_dose
        from hotspots.warehouse import open_warehouse

        force = force or get_settings().forces[0]
        settings = get_settings().for_force(force)
        try:
            when = date.fromisoformat(day) if day else datetime.now(ZoneInfo(settings.timezone)).date()
        except ValueError:
            raise typer.BadParameter(f"{day!r} is not a date; use YYYY-MM-DD.", param_hint="--date") from None
        with open_warehouse(settings) as con:
            try:
                result = plan_dose(
                    con, force=force, day=when, settings=settings, capacity_minutes=capacity_minutes, unit_minutes=unit
                )
            except ValueError as exc:
                raise UserError(str(exc)) from None
        if out is not None:
            _write_csv(out, ["area_code", "units", "minutes"], result["allocation"])
        if as_json:
            typer.echo(json.dumps(result, indent=2))
            return
        typer.echo(
            f"Force {force}, {result['date']}: {result['minutes_allocated']:g} of {capacity_minutes:g} minutes in "
            f"{result['units_allocated']} visits of {result['unit_minutes']:g} min over "
            f"{result['hotspots_planned']} planned hot spots"
        )
        for r in result["allocation"]:
            typer.echo(f"{r['area_code']}: {r['units']} visit(s), {r['minutes']:g} min")

    @app.command("backtest", cls=PathListCommand)
    def backtest_cmd(
        crime: list[Path] = typer.Option(..., "--crime", help="Street-level crime CSV files, folders or zips."),
        areas: list[Path] = typer.Option(..., "--areas", help="Area boundary files or folders."),
        train_months: int = typer.Option(24, "--train-months", min=1, help="Months the list is selected on."),
        test_months: int = typer.Option(12, "--test-months", min=1, help="Months right after, the list is scored on."),
        top: Optional[int] = typer.Option(None, "--top", min=1, help="Budget: this many hot spots."),
        area_share: Optional[float] = typer.Option(None, "--area-share", min=0, max=1, help="Budget: share of areas."),
        harm_share: Optional[float] = typer.Option(
            None, "--harm-share", min=0, max=1, help="Budget: fewest areas reaching this share of harm."
        ),
        weights: Optional[str] = typer.Option(
            None, "--weights", help=f"{', '.join(WEIGHT_CHOICES)} (default: setting)."
        ),
        types: Optional[str] = typer.Option(None, "--types", help="Comma-separated crime types."),
        rolling: bool = typer.Option(False, "--rolling", help="Repeat over successive windows from the first month."),
        step_months: Optional[int] = typer.Option(
            None, "--step-months", min=1, help="Rolling: months between windows (default: --test-months)."
        ),
        last_month: Optional[str] = typer.Option(None, "--last-month", help="End the test window here (YYYY-MM)."),
        force: Optional[str] = typer.Option(None, "--force", help="Force slug (default: from the crime file names)."),
        warehouse: Optional[Path] = typer.Option(None, "--warehouse", help="DuckDB file to use and keep."),
        store: bool = typer.Option(False, "--store", help="Also write the windows to backtest_scores (--warehouse)."),
        as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    ) -> None:
        """Select hot spots on a training window and score the list on the test window after it."""
        from hotspots.cli import UserError
        from hotspots.targeting.backtest import BacktestError, backtest, store_backtest

        update = budget_update(top, area_share, harm_share) | weights_update(weights) | types_update(types)
        with ExitStack() as stack:
            con, settings, force, area_counts, counts = _load(stack, crime, areas, force, update, warehouse)
            try:
                result = backtest(
                    con,
                    force=force,
                    settings=settings,
                    train_months=train_months,
                    test_months=test_months,
                    rolling=rolling,
                    step_months=step_months,
                    last_month=last_month,
                )
            except BacktestError as exc:
                raise UserError(str(exc)) from None
            result["stored"] = store_backtest(con, result) if store else None
        result |= {"areas_counts": area_counts, "crime_counts": counts}
        if as_json:
            typer.echo(json.dumps(result, indent=2))
            return
        p = result["params"]
        typer.echo(
            f"Force {force}: {area_counts['rows_loaded']} areas, crime {result['data_months'][0]}.."
            f"{result['data_months'][1]}; weights {p['weights']}, budget {p['budget_mode']}={p['budget']}, "
            f"train {p['train_months']} / test {p['test_months']} months"
        )
        for w in result["windows"]:
            base = w["baselines"]["last_year_count"]
            typer.echo(
                f"Train {w['train'][0]}..{w['train'][1]} -> test {w['test'][0]}..{w['test'][1]}: "
                f"{w['selected']} areas ({_pct(w['area_share'])}) captured {_pct(w['harm_share'])} of harm "
                f"(in training {_pct(w['train_harm_share'])}), {_pct(w['events_share'])} of events, "
                f"PAI {_num(w['pai'])}, Spearman {_num(w['spearman'], 3)}; "
                f"last year's counts {_pct(base['harm_share'])} (PAI {_num(base['pai'])}); "
                f"random {_pct(w['baselines']['random']['harm_share'])}"
            )
        if len(result["windows"]) > 1:
            m = result["mean"]
            typer.echo(
                f"Mean over {len(result['windows'])} windows: harm {_pct(m['harm_share'])}, events "
                f"{_pct(m['events_share'])}, PAI {_num(m['pai'])}, Spearman {_num(m['spearman'], 3)}; "
                f"last year's counts {_pct(m['last_year_count_harm_share'])}, random {_pct(m['random_harm_share'])}"
            )
