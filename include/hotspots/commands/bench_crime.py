"""bench ingest-crime: the real crime step (read, GX, placement, load) on a national month against read_csv.

The benchmark code lives in benchmarks/ingest_crime.py at the repository root (benchmarks are not part of the
runtime package); the command puts the root on sys.path. Figures: docs/benchmarks.md "Crime ingest (issue 12)".
"""

from __future__ import annotations

import json

import typer

from hotspots.commands.patrol import bench_group, import_benchmark

SHAPES = ("national", "per_force", "single")


def register(app: typer.Typer) -> None:
    """Add `hotspots bench ingest-crime`."""
    bench = bench_group(app)

    @bench.command("ingest-crime")
    def bench_ingest_crime(
        rows: int = typer.Option(500_000, "--rows", min=1000, help="Street-level crimes in the month, all forces."),
        forces: int = typer.Option(43, "--forces", min=1, max=43, help="Forces (files) in the month."),
        shape: list[str] = typer.Option(
            ["national", "single"],
            "--shape",
            help="national: the month's files in one ingest_crime call; per_force: one call per force (the DAG's "
            "mapped tasks); single: one file of all the rows. Repeat for more; the JSON's top level is the first.",
        ),
    ) -> None:
        """A national month of street files through the real ingest_crime step vs DuckDB read_csv (the floor)."""
        unknown = sorted(set(shape) - set(SHAPES))
        if unknown:
            raise typer.BadParameter(f"unknown --shape {unknown}; use {', '.join(SHAPES)}.")
        figures = import_benchmark("ingest_crime").run_benchmark(rows, forces, tuple(shape), echo=typer.echo)
        typer.echo(json.dumps(figures))
