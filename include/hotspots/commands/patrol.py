"""patrol-minutes and bench patrol-minutes: daily patrol dose from ping files, and its benchmark."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import typer

from hotspots.commands.inputs import (
    PathListCommand,
    describe_counts,
    files_in,
    scratch_settings,
    unique_files,
)


def bench_group(app: typer.Typer) -> typer.Typer:
    """The shared `hotspots bench` group (created by the first module that needs it)."""
    for group in app.registered_groups:
        if group.name == "bench":
            return group.typer_instance
    bench = typer.Typer(help="Benchmarks: print figures, the last line one JSON object.", no_args_is_help=True)
    app.add_typer(bench, name="bench")
    return bench


def import_benchmark(name: str):
    """benchmarks.<name> from the repository root (settings.PROJECT_ROOT): benchmarks are not in the runtime
    package, so the `hotspots bench` commands put the root on sys.path."""
    import importlib
    import sys

    from hotspots.settings import PROJECT_ROOT

    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"benchmarks.{name}")


def register(app: typer.Typer) -> None:
    """Add patrol-minutes and bench patrol-minutes to the `hotspots` app."""

    @app.command("patrol-minutes", cls=PathListCommand)
    def patrol_minutes_cmd(
        pings: list[Path] = typer.Option(
            ...,
            "--pings",
            help="Ping files (CSV or Parquet) or folders of them; several "
            "after one flag (a shell glob) or repeat the flag.",
        ),
        areas: list[Path] = typer.Option(
            ...,
            "--areas",
            help="Area files (GeoJSON, GeoPackage, shapefile) or folders; several after one flag or repeat the flag.",
        ),
        columns: Optional[str] = typer.Option(
            None,
            help="Column mapping, e.g. device=vehicle_id,time=timestamp,lon=longitude,lat=latitude.",
        ),
        buffer_m: Optional[float] = typer.Option(
            None,
            "--buffer-m",
            help="Buffer around each area, metres (default: settings, 100).",
        ),
        max_gap_s: Optional[float] = typer.Option(
            None,
            "--max-gap-s",
            help="Longest ping gap counted, seconds (default: settings, 120).",
        ),
        max_speed_kmh: Optional[str] = typer.Option(
            None,
            "--max-speed-kmh",
            help="Transit speed limit in km/h, or 'none' (default: settings, 25).",
        ),
        tz: Optional[str] = typer.Option(
            None,
            "--tz",
            help="Local time zone for days and the patrol window (default: settings, Europe/London).",
        ),
        out: Path = typer.Option(..., "--out", help="Output CSV: area_code, date, patrol_minutes, ... window_minutes."),
        as_json: bool = typer.Option(
            False,
            "--json",
            help="Print a JSON summary (rows read, loaded, quarantined by reason).",
        ),
    ) -> None:
        """Daily patrol minutes, visits and Koper visits per area from ping files (nothing is stored).

        Files go through the DAG's own path: the areas loader, then the ping ingest (validation, quarantine,
        pseudonymisation) into a temporary warehouse, then the daily patrol step. Each file is checked as a day's
        drop: its day is the date in its folder or file name, else its latest ping. Without
        HOTSPOTS_PSEUDONYM_KEY a random key is made for this run: pseudonyms never leave the temporary warehouse.
        """
        from hotspots.patrol.core import PatrolParams
        from hotspots.patrol.files import patrol_from_files
        from hotspots.sources.avl import PING_SUFFIXES, parse_columns, source_name

        overrides: dict = {}
        if buffer_m is not None:
            overrides["buffer_m"] = buffer_m
        if max_gap_s is not None:
            overrides["max_gap_s"] = max_gap_s
        if max_speed_kmh is not None:
            text = max_speed_kmh.strip().lower()
            try:
                overrides["max_speed_kmh"] = None if text in ("none", "off", "") else float(text)
            except ValueError:
                raise typer.BadParameter(
                    f"{max_speed_kmh!r}: a number of km/h or 'none'.", param_hint="--max-speed-kmh"
                ) from None
        if tz is not None:
            overrides["timezone"] = tz
        try:
            mapping = parse_columns(columns)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--columns") from None
        ping_files = unique_files(files_in(pings, PING_SUFFIXES, "--pings"), source_name, "--pings")
        with ExitStack() as stack:
            settings = scratch_settings(stack, overrides, prefix="hotspots-patrol-", ephemeral_key=True)
            try:
                PatrolParams.from_settings(settings)
            except (ValueError, KeyError) as exc:  # KeyError: ZoneInfoNotFoundError
                raise typer.BadParameter(f"{exc}", param_hint="--buffer-m / --max-gap-s / --tz") from None
            summary = patrol_from_files(ping_files, areas, settings=settings, out=out, columns=mapping)
        summary["out"] = str(out)
        if as_json:
            typer.echo(json.dumps(summary, default=str))
        else:
            typer.echo(
                f"{summary['rows']} area-days from {len(ping_files)} ping file(s): {describe_counts(summary)} -> {out}"
            )

    bench = bench_group(app)

    @bench.command("patrol-minutes")
    def bench_patrol(
        n_pings: int = typer.Option(10_000_000, "--pings", help="Pings to generate (1,000 devices, one day)."),
        devices: int = typer.Option(1000, "--devices", help="Devices."),
        subsample: int = typer.Option(
            1_000_000,
            "--subsample",
            help="Pings (whole devices) for the SPATIAL_JOIN and geopandas runs.",
        ),
        repeat: int = typer.Option(3, "--repeat", min=1, help="Timed runs of the fast method; the median is reported."),
    ) -> None:
        """Fast method vs DuckDB SPATIAL_JOIN vs geopandas sjoin: pings per second, exact agreement, memory
        (benchmarks/patrol_minutes.py)."""
        figures = import_benchmark("patrol_minutes").run_benchmark(n_pings, devices, subsample, repeat, echo=typer.echo)
        typer.echo(json.dumps(figures))
        if not figures["agree"]:
            raise typer.Exit(1)
