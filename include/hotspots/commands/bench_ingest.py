"""bench ingest-avl: the real ingest_avl step on a day of 10 million pings, against DuckDB's read_csv floor."""

from __future__ import annotations

import json

import typer

from hotspots.commands.patrol import bench_group, import_benchmark


def register(app: typer.Typer) -> None:
    """Add `hotspots bench ingest-avl` (benchmarks/ingest_avl.py, outside the runtime package)."""
    bench = bench_group(app)

    @bench.command("ingest-avl")
    def bench_ingest_avl(
        pings: int = typer.Option(10_000_000, "--pings", help="Pings in the day."),
        devices: int = typer.Option(1000, "--devices", help="Devices."),
        files: int = typer.Option(24, "--files", help="CSV drops the day is split into (24 = hourly)."),
        repeat: int = typer.Option(1, "--repeat", min=1, help="Timed runs of the step; the median is reported."),
    ) -> None:
        """Land a day of pings as CSV drops, time pipeline.ingest_avl over them and DuckDB's read_csv of the same
        files: wall time, peak RSS, each stage's share, the ratio to the floor; the last line is JSON."""
        figures = import_benchmark("ingest_avl").run_benchmark(pings, devices, files, repeat, echo=typer.echo)
        typer.echo(json.dumps(figures))
        if not figures["agree"]:
            raise typer.Exit(1)
