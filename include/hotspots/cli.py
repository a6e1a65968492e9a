"""The `hotspots` command: every pipeline step, usable without Airflow."""

from __future__ import annotations

import importlib
import logging

import typer

app = typer.Typer(help="Hot-spots patrol pipeline: selection, GPS patrol dose, alerts.", no_args_is_help=True)

# Each module in hotspots.commands defines register(app) and adds its own commands.
COMMAND_MODULES = ("pipeline", "selection", "patrol", "alerts", "warehouse")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


for _name in COMMAND_MODULES:
    importlib.import_module(f"hotspots.commands.{_name}").register(app)


def main() -> None:
    app()
