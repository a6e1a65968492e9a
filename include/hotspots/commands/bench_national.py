"""bench national: K synthetic forces through the real steps into a PostgreSQL-catalogued DuckLake, one writer
vs parallel writers. The code lives in benchmarks/national.py; figures: docs/benchmarks.md "National deployment"."""

from __future__ import annotations

import json

import typer

from hotspots.commands.patrol import bench_group, import_benchmark


def register(app: typer.Typer) -> None:
    """Add `hotspots bench national`."""
    bench = bench_group(app)

    @bench.command("national")
    def bench_national(
        forces: int = typer.Option(8, "--forces", min=2, max=43, help="Synthetic forces (K), each its own areas."),
        writers: int = typer.Option(2, "--writers", min=2, help="Writer processes of the parallel run."),
    ) -> None:
        """Single writer vs parallel writers on a DuckLake catalogued on PostgreSQL (127.0.0.1, user postgres):
        speed-up, parallel fraction, commit overhead, extrapolation to 43 forces; the last line is JSON."""
        import psycopg2

        try:
            psycopg2.connect("dbname=postgres host=127.0.0.1 user=postgres", connect_timeout=3).close()
        except psycopg2.Error as exc:
            typer.echo(f"Error: the lake catalog needs PostgreSQL at 127.0.0.1 (user postgres): {exc}", err=True)
            raise typer.Exit(2)
        figures = import_benchmark("national").run_benchmark(forces, writers, echo=typer.echo)
        typer.echo(json.dumps(figures))
