"""What the file-reading commands share: path options, a scratch warehouse, the area loader and the counts.

Path options (``list[Path]`` options of a command made with ``cls=PathListCommand``) take files and folders,
repeat, and also take every word up to the next option, so a shell glob works: ``--crime data/*.csv``.
Click has no variable-length options, so the command spreads ``--crime a b`` into ``--crime a --crime b``
before parsing. Such a command has no positional arguments (a bare word after a path option is a path).
"""

from __future__ import annotations

import secrets
import typing
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterable

import typer
from pydantic import SecretStr
from typer import _click as click  # typer 0.29 vendors click: its own classes, not the click package's
from typer.core import TyperCommand, TyperOption

COUNT_KEYS = ("rows_read", "rows_loaded", "rows_quarantined")
DERIVED_PATHS = ("landing_dir", "raw_dir", "outbox_dir", "reports_dir", "snapshot_path", "warehouse_path")


def _path_options(command: click.Command) -> set[str]:
    """The flags of the command's list[Path] options."""
    return {
        name
        for param in command.params
        if isinstance(param, TyperOption)
        and param.multiple
        and typing.get_args(param.type_descriptor.annotation) == (Path,)
        for name in param.opts
    }


def spread_path_values(args: list[str], path_options: set[str]) -> list[str]:
    """['--crime', 'a', 'b', '--out', 'o'] -> ['--crime', 'a', '--crime', 'b', '--out', 'o']."""
    out: list[str] = []
    expecting: str | None = None  # a path option whose first value comes next
    collecting: str | None = None  # a path option that takes further bare words
    for i, token in enumerate(args):
        if expecting:
            out.append(token)
            collecting, expecting = expecting, None
        elif token == "--":
            out.extend(args[i:])
            break
        elif token.startswith("-") and token != "-":
            name, has_value = token.split("=", 1)[0], "=" in token
            expecting = name if name in path_options and not has_value else None
            collecting = name if name in path_options and has_value else None
            out.append(token)
        elif collecting:
            out += [collecting, token]
        else:
            out.append(token)
    return out


class PathListCommand(TyperCommand):
    """A typer command whose path options also take several paths after one flag (a shell glob)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_path_values(list(args), _path_options(self)))


def existing(paths: Iterable[Path], option: str) -> list[Path]:
    """The paths, or a usage error naming the ones that do not exist."""
    paths = list(paths)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise typer.BadParameter(f"{', '.join(missing)}: no such file or folder.", param_hint=option)
    return paths


def files_in(paths: Iterable[Path], suffixes: tuple[str, ...], option: str) -> list[Path]:
    """Each file as given, and every file with one of ``suffixes`` under each folder (sorted, recursive)."""
    files: list[Path] = []
    for path in existing(paths, option):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        else:
            files.append(path)
    if not files:
        raise typer.BadParameter(f"no {' or '.join(suffixes)} file in {', '.join(map(str, paths))}.", param_hint=option)
    return files


def unique_files(files: Iterable[Path], key: Callable[[Path], str], option: str) -> list[Path]:
    """Each file once (a folder and a glob may name it twice); two files the loaders would store under one
    name (``key``: the file name for crime, day folder and name for pings) are refused, naming both."""
    seen: dict[str, Path] = {}
    out: list[Path] = []
    for path in files:
        name = key(path)
        if name in seen:
            if seen[name].resolve() != path.resolve():
                raise typer.BadParameter(
                    f"{seen[name]} and {path} would be stored under the same name {name!r} (the second would replace "
                    "the first); pass one of them, or rename one.",
                    param_hint=option,
                )
            continue
        seen[name] = path
        out.append(path)
    return out


def scratch_settings(
    stack: ExitStack,
    update: dict[str, Any],
    *,
    prefix: str,
    warehouse: Path | None = None,
    ephemeral_key: bool = False,
    force: str | None = None,
) -> Any:
    """Settings for one command run: the environment's (with ``force``'s profile), with ``update`` (the command's
    options win), and (without ``warehouse``) a temporary data folder and warehouse. ``ephemeral_key``: a random
    pseudonym key for this run when none is set."""
    import tempfile

    from hotspots.settings import Settings, get_settings

    values = (get_settings().for_force(force) if force else get_settings()).model_dump() | update
    if warehouse is None:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        values |= {"data_dir": scratch} | dict.fromkeys(DERIVED_PATHS) | {"warehouse_path": scratch / "scratch.duckdb"}
    else:
        values["warehouse_path"] = warehouse
    key = values.get("pseudonym_key")
    if ephemeral_key and (key is None or not key.get_secret_value()):
        values["pseudonym_key"] = SecretStr(secrets.token_hex(32))
    return Settings.model_validate(values)


def open_scratch(stack: ExitStack, settings: Any) -> Any:
    """The writer's door on settings.warehouse_path (a new scratch warehouse is migrated), closed with the stack."""
    from hotspots.warehouse import open_warehouse

    return stack.enter_context(open_warehouse(settings))


def load_area_files(con: Any, *, force: str, paths: list[Path], settings: Any) -> dict[str, Any]:
    """Load area files or folders as the force's one area set with the DAG's loader; returns its counts.

    Several paths are each loaded under a scratch force name, then combined; a code in two of them is an error
    naming both files (a single file or folder goes straight to the loader). With area_unit=grid the files are
    the outline the grid covers (sources.areas.load_area_set).
    """
    from hotspots.sources.areas import load_area_set, load_areas
    from hotspots.validation.core import InputFileError

    paths = existing(paths, "--areas")
    if len(paths) == 1 or settings.area_unit == "grid":
        return load_area_set(con, force=force, path=paths if len(paths) > 1 else paths[0], settings=settings)
    totals = empty_counts()
    scratch = [f"{force}~part{i}" for i in range(len(paths))]
    for name, path in zip(scratch, paths):
        merge_counts(totals, load_areas(con, force=name, path=path, settings=settings))
    repeated = con.execute(
        "SELECT area_code, list(DISTINCT source_file ORDER BY source_file) FROM stg_areas "
        "WHERE list_contains(?, force) GROUP BY area_code HAVING count(*) > 1 ORDER BY area_code LIMIT 5",
        [scratch],
    ).fetchall()
    if repeated:
        code, files = repeated[0]
        raise InputFileError(
            f"{' and '.join(files)}: area code {code} is in both files ({len(repeated)} or more codes repeat); "
            "an area set has each area once. Pass each boundary file once, or drop the overlapping file."
        )
    con.execute("DELETE FROM stg_areas WHERE force = ?", [force])
    con.execute(
        "INSERT INTO stg_areas SELECT ? AS force, * EXCLUDE (force) FROM stg_areas WHERE list_contains(?, force)",
        [force, scratch],
    )
    con.execute("DELETE FROM stg_areas WHERE list_contains(?, force)", [scratch])
    return totals


def empty_counts() -> dict[str, Any]:
    return dict.fromkeys(COUNT_KEYS, 0) | {"quarantined_by_reason": {}}


def merge_counts(total: dict[str, Any], counts: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Add one file's counts (the loaders' rows_read, rows_loaded, rows_quarantined and by reason) to ``total``."""
    for key in (*COUNT_KEYS, *extra):
        total[key] = total.get(key, 0) + int(counts.get(key, 0))
    by_reason = total.setdefault("quarantined_by_reason", {})
    for reason, n in counts.get("quarantined_by_reason", {}).items():
        by_reason[reason] = by_reason.get(reason, 0) + int(n)
    return total


def describe_counts(counts: dict[str, Any]) -> str:
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(counts["quarantined_by_reason"].items())) or "none"
    return (
        f"rows read {counts['rows_read']:,}, loaded {counts['rows_loaded']:,}, "
        f"quarantined {counts['rows_quarantined']:,} ({reasons})"
    )
