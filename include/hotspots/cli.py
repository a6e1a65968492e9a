"""The `hotspots` command: every pipeline step, usable without Airflow.

Errors a user can cause (a bad file, a bad option, a missing or invalid setting, a missing landing file) print
one message and exit with status 2; a traceback only with --debug, or for a real bug.
"""

from __future__ import annotations

import importlib
import logging

import typer
from typer import _click as click  # typer 0.29 vendors click: its own classes, not the click package's
from typer.core import TyperGroup

DEBUG_KEY = "hotspots.debug"


class UserError(click.ClickException):
    """An error the user can fix: printed as one line, exit status 2."""

    exit_code = 2


def user_error_types() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from hotspots.privacy import TracksRefused
    from hotspots.pseudonym import MissingPseudonymKey
    from hotspots.settings import ProfileError
    from hotspots.sources.areas import NoAreasLoaded
    from hotspots.validation.core import InputFileError
    from hotspots.warehouse import WarehouseBehind

    return (
        InputFileError,
        MissingPseudonymKey,
        NoAreasLoaded,
        ValidationError,
        FileNotFoundError,
        WarehouseBehind,
        TracksRefused,
        ProfileError,
    )


def user_message(exc: BaseException) -> str:
    """One message for a user error: the file (or setting), the rule and the fix."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = "; ".join(map(_setting_problem, exc.errors()))
        return f"settings: {problems}. Fix the environment variable (see `hotspots settings --markdown`)."
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file or folder ({exc.strerror}). Check the path, or land the file first."
    return " ".join(str(exc).split())


def _setting_problem(error: dict) -> str:
    """'HOTSPOTS_BUFFER_M=-5: Input should be ...'; the value is not shown for secrets or whole-model errors."""
    name = "_".join(map(str, error["loc"]))
    if not name:
        return error["msg"]
    shown = "" if "key" in name else f"={error.get('input')!r}"
    return f"HOTSPOTS_{name.upper()}{shown}: {error['msg']}"


class HotspotsGroup(TyperGroup):
    """The root group: turns user errors raised by any command into one message and exit status 2, printed as
    plain lines (usage, then 'Error: ...'), never in a box that wraps file names across lines."""

    def main(
        self, args=None, prog_name=None, complete_var=None, standalone_mode=True, windows_expand_args=True, **extra
    ):
        from typer.core import _main

        return _main(
            self,
            args=args,
            prog_name=prog_name,
            complete_var=complete_var,
            standalone_mode=standalone_mode,
            windows_expand_args=windows_expand_args,
            rich_markup_mode=None,
            **extra,
        )

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except user_error_types() as exc:
            if ctx.meta.get(DEBUG_KEY):
                raise
            raise UserError(user_message(exc)) from None


app = typer.Typer(
    cls=HotspotsGroup,
    help="Hot-spots patrol pipeline: selection, GPS patrol dose, alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Each module in hotspots.commands defines register(app) and adds its own commands.
COMMAND_MODULES = (
    "pipeline",
    "selection",
    "patrol",
    "alerts",
    "warehouse",
    "run",
    "bench_ingest",
    "bench_crime",
    "bench_national",
    "targeting",
    "privacy",
    "evaluate",
    "schedule",
)


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of any error, user errors too."),
) -> None:
    ctx.meta[DEBUG_KEY] = debug
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:  # Great Expectations logs every class it registers at INFO
        logging.getLogger("great_expectations").setLevel(logging.WARNING)


for _name in COMMAND_MODULES:
    importlib.import_module(f"hotspots.commands.{_name}").register(app)


def main() -> None:
    app()
