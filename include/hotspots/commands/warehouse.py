"""Commands of this area; see hotspots.cli."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `hotspots` app."""
