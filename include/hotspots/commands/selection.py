"""select, grid and weights: choose hot spots from crime files and area boundaries (or a grid over them), without
Airflow."""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import typer

from hotspots.commands.inputs import (
    PathListCommand,
    empty_counts,
    existing,
    load_area_files,
    merge_counts,
    open_scratch,
    scratch_settings,
    unique_files,
)

WEIGHT_MODES = ("cchi", "count", "sqrt", "css")
FORCE_FROM_FILE = re.compile(r"^\d{4}-\d{2}-(?P<force>.+)-street\.csv$")


def _crime_files(paths: list[Path]) -> list[Path]:
    from hotspots.sources.police_uk import crime_files

    found = (f for path in existing(paths, "--crime") for f in crime_files(path))
    files = unique_files(found, lambda p: p.name, "--crime")
    if not files:
        raise typer.BadParameter(
            f"no street-level crime CSV files in {', '.join(map(str, paths))}.", param_hint="--crime"
        )
    return files


def _record_files(paths: list[Path]) -> list[Path]:
    from hotspots.commands.inputs import files_in
    from hotspots.pipeline import RECORD_SUFFIXES

    return unique_files(files_in(paths, RECORD_SUFFIXES, "--records"), lambda p: p.name, "--records")


def _force_from(files: list[Path]) -> str:
    forces = {m.group("force") for f in files if (m := FORCE_FROM_FILE.match(f.name))}
    return forces.pop() if len(forces) == 1 else "cli"


def _selection_update(
    top: int | None,
    area_share: float | None,
    harm_share: float | None,
    months: int | None,
    weights: str | None,
    types: str | None,
) -> dict:
    """The settings the select options override (one budget at most)."""
    budgets = {"top": top, "area_share": area_share, "harm_share": harm_share}
    chosen = {k: v for k, v in budgets.items() if v is not None}
    if len(chosen) > 1:
        raise typer.BadParameter("give one budget: --top, --area-share or --harm-share.")
    update: dict = {}
    if chosen:
        mode, value = next(iter(chosen.items()))
        update["budget_mode"] = mode
        update["hotspot_count" if mode == "top" else mode] = value
    if months is not None:
        update["lookback_months"] = months
    if weights is not None:
        if weights not in WEIGHT_MODES:
            raise typer.BadParameter(f"{weights!r}: use cchi, count, sqrt or css.", param_hint="--weights")
        update["harm_weights"] = weights
    if types is not None:
        update["crime_types"] = [t.strip() for t in types.split(",") if t.strip()]
    return update


def _print_summary(summary: dict, *, areas: list[Path], crime_files: int) -> None:
    """The select summary for a person: what was read, counted and chosen."""
    p = summary["params"]
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary["quarantined_by_reason"].items())) or "none"
    typer.echo(
        f"Force {summary['force']}: {summary['areas']} areas from {', '.join(map(str, areas))}, "
        f"{crime_files} crime file(s)"
    )
    typer.echo(
        f"Rows read {summary['rows_read']}, loaded {summary['rows_loaded']}, "
        f"quarantined {summary['rows_quarantined']} ({reasons})"
    )
    typer.echo(f"Events placed in areas {summary['events_placed']}, outside every area {summary['events_outside']}")
    typer.echo(
        f"Counted {summary['events_counted']} events ({', '.join(p['crime_types'])}) in "
        f"{p['first_month']}..{p['last_month']}, weights {p['weights']}, budget {p['budget_mode']}={p['budget']}, "
        f"min events {p['min_events']}"
    )
    typer.echo(
        f"Selected {summary['selected']} hot spots ({summary['selected_area_share']:.1%} of areas) holding "
        f"{summary['selected_harm_share']:.1%} of harm; Gini {summary['gini']:.3f}"
    )
    typer.echo(f"Hot spots: {', '.join(summary['hotspots'])}")
    typer.echo(
        f"Ranked table: {summary['out']}" + (f"; concentration curve: {summary['plot']}" if summary["plot"] else "")
    )


def register(app: typer.Typer) -> None:
    """Add select, grid and weights to the `hotspots` app."""

    @app.command("select", cls=PathListCommand)
    def select_cmd(
        crime: Optional[list[Path]] = typer.Option(
            None,
            "--crime",
            help="Street-level crime CSV files, folders or zip archives; several after one flag (a shell glob) or "
            "repeat the flag.",
        ),
        records: Optional[list[Path]] = typer.Option(
            None,
            "--records",
            help="The force's own records extracts (CSV or Parquet, docs/force_records.md) or folders; with "
            "--crime too, HOTSPOTS_CRIME_SOURCE decides which one is counted (auto: the records).",
        ),
        areas: list[Path] = typer.Option(
            ...,
            "--areas",
            help="Area boundary files or folders; several after one flag or repeat the flag.",
        ),
        out: Path = typer.Option(..., "--out", help="CSV file for the ranked table of every area."),
        months: Optional[int] = typer.Option(
            None,
            "--months",
            min=1,
            help="Look-back window in months (default: setting).",
        ),
        top: Optional[int] = typer.Option(None, "--top", min=1, help="Budget: this many hot spots."),
        area_share: Optional[float] = typer.Option(
            None,
            "--area-share",
            min=0,
            max=1,
            help="Budget: this share of all areas.",
        ),
        harm_share: Optional[float] = typer.Option(
            None,
            "--harm-share",
            min=0,
            max=1,
            help="Budget: fewest areas reaching this share of harm.",
        ),
        weights: Optional[str] = typer.Option(None, "--weights", help="cchi, count, sqrt or css (default: setting)."),
        compare_weights: bool = typer.Option(
            False, "--compare-weights", help="Also report how the lists overlap under cchi, css, sqrt and count."
        ),
        types: Optional[str] = typer.Option(
            None,
            "--types",
            help='Comma-separated crime types, e.g. "Robbery,Possession of weapons".',
        ),
        force: Optional[str] = typer.Option(None, "--force", help="Force slug (default: from the crime file names)."),
        warehouse: Optional[Path] = typer.Option(
            None,
            "--warehouse",
            help="DuckDB file to use and keep (default: a temporary one).",
        ),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Also write the concentration curve as PNG."),
        as_json: bool = typer.Option(False, "--json", help="Print the counts and selection figures as JSON."),
    ) -> None:
        """Choose hot spots from crime files and area boundaries; print a summary and write the ranked table."""
        from hotspots.selection import (
            concentration,
            event_counts,
            plot_concentration,
            select_hotspots,
            write_ranked_table,
        )
        from hotspots.sources.force_records import ingest_force_records
        from hotspots.sources.police_uk import ingest_crime_file

        if not crime and not records:
            raise typer.BadParameter("give --crime (street files) or --records (force records), or both.")
        update = _selection_update(top, area_share, harm_share, months, weights, types)
        crime_paths = _crime_files(crime) if crime else []
        record_paths = _record_files(records) if records else []
        force = force or _force_from(crime_paths)
        with ExitStack() as stack:
            settings = scratch_settings(stack, update, prefix="hotspots-select-", warehouse=warehouse, force=force)
            con = open_scratch(stack, settings)
            area_counts = load_area_files(con, force=force, paths=areas, settings=settings)
            counts = empty_counts() | {"events_outside": 0}
            for path in crime_paths:
                loaded = ingest_crime_file(con, force=force, path=path, settings=settings)
                merge_counts(counts, loaded, ("events_outside",))
            for path in record_paths:
                loaded = ingest_force_records(con, force=force, path=path, settings=settings)
                merge_counts(counts, loaded, ("events_outside",))
            result = select_hotspots(con, force=force, settings=settings)
            figures = concentration(con, force=force, selection_id=result["selection_id"])
            events = event_counts(con, force=force, params=result["params"], settings=settings)
            write_ranked_table(con, force=force, selection_id=result["selection_id"], out=out)
            if plot is not None:
                plot_concentration(con, force=force, path=plot, selection_id=result["selection_id"])
            from hotspots.targeting.forecast import forecast

            predicted = forecast(con, force=force, settings=settings, selection_id=result["selection_id"])
            if compare_weights:
                from hotspots.targeting.weights import compare_weights as compare
                from hotspots.targeting.weights import print_comparison

                compared = compare(con, force=force, settings=settings, end_month=result["params"]["last_month"])

        summary = {
            "force": force,
            "areas": area_counts["rows_loaded"],
            "areas_counts": area_counts,
            **counts,
            **events,
            "selection_id": result["selection_id"],
            "effective_from": result["effective_from"],
            "params": result["params"],
            "selected": len(result["hotspots"]),
            "hotspots": result["hotspots"],
            "selected_area_share": figures["selected_area_share"],
            "selected_harm_share": figures["selected_harm_share"],
            "total_harm": figures["total_harm"],
            "gini": figures["gini"],
            "out": str(out),
            "plot": str(plot) if plot else None,
        }
        summary["forecast"] = predicted
        if compare_weights:
            summary["compare_weights"] = compared
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_summary(summary, areas=areas, crime_files=len(crime_paths) + len(record_paths))
            typer.echo(f"Forecast: {predicted['text']}")
            if compare_weights:
                print_comparison(compared)

    @app.command("grid", cls=PathListCommand)
    def grid_cmd(
        boundary: list[Path] = typer.Option(
            ..., "--boundary", help="The force's boundary file(s) or folder: the grid covers their polygons' outline."
        ),
        out: Path = typer.Option(..., "--out", "-o", help="GeoJSON to write (EPSG:27700; area_code, area_name)."),
        cell_m: Optional[float] = typer.Option(None, "--cell-m", help="Cell side in metres (HOTSPOTS_GRID_CELL_M)."),
        force: Optional[str] = typer.Option(None, help="Take this force's profile (its grid_cell_m, source_crs)."),
    ) -> None:
        """Make a square grid over a boundary (docs/selection.md, Grid cells): load it as the area set, or set
        HOTSPOTS_AREA_UNIT=grid and ingest_areas makes the same cells from the landed boundary."""
        from hotspots.sources.areas import make_grid, write_grid

        update = {} if cell_m is None else {"grid_cell_m": cell_m}
        with ExitStack() as stack:
            settings = scratch_settings(stack, update, prefix="hotspots-grid-", force=force)
            con = open_scratch(stack, settings)
            name = force or "grid"
            counts = make_grid(
                con,
                force=name,
                settings=settings,
                boundary_path=existing(boundary, "--boundary"),
                cell_m=settings.grid_cell_m,
            )
            written = write_grid(con, force=name, out=out)
        typer.echo(
            f"{counts['cells']:,} cells of {counts['cell_m']:g} m ({counts['area_m2'] / 1e6:,.2f} km2) over "
            f"{', '.join(counts['files'])}: {written}"
        )

    @app.command("weights")
    def weights_cmd(
        offence_codes: bool = typer.Option(False, "--offence-codes", help="Show Home Office offence-code weights."),
        mode: Optional[str] = typer.Option(None, "--weights", help="cchi, count, sqrt or css (default: setting)."),
    ) -> None:
        """Print the harm weights in use as CSV."""
        from hotspots.harm import weight_table
        from hotspots.settings import get_settings

        settings = get_settings()
        if mode is not None:
            if mode not in WEIGHT_MODES:
                raise typer.BadParameter(f"{mode!r}: use cchi, count, sqrt or css.", param_hint="--weights")
            settings = settings.model_copy(update={"harm_weights": mode})
        try:
            rows = weight_table(settings, offence_codes=offence_codes)
        except FileNotFoundError as exc:
            raise typer.BadParameter(str(exc), param_hint="--offence-codes") from None
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: str(v).lower() if isinstance(v, bool) else v for k, v in row.items()} for row in rows)
        typer.echo(text.getvalue(), nl=False)
