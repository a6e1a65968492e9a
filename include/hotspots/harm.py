"""Harm weights: CCHI days and ONS Crime Severity Score weights, by data.police.uk category and by Home Office
offence code, as versioned data.

The CSV files in include/hotspots/data/ are the source of truth (a force's own file replaces the package's one
of its key type: settings cchi_weights_path, css_weights_path); ``load_harm_weights`` copies them into the
``harm_weights`` table: CCHI rows under key_type crime_type / offence_code, CSS rows under css_crime_type /
css_offence_code. The weighting mode (cchi, count, sqrt, css) is applied when harm is summed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import transaction

DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORY_FILE = DATA_DIR / "cchi_categories.csv"
OFFENCE_CODE_FILE = DATA_DIR / "offence_codes.csv"
CSS_CATEGORY_FILE = DATA_DIR / "css_categories.csv"
CSS_OFFENCE_CODE_FILE = DATA_DIR / "css_offence_codes.csv"
WEIGHT_MODES = ("cchi", "count", "sqrt", "css")
CSS_PREFIX = "css_"


def key_types(mode: str) -> tuple[str, str]:
    """The harm_weights key types (category, offence code) a weighting mode reads: CSS rows for css, else CCHI."""
    prefix = CSS_PREFIX if mode == "css" else ""
    return f"{prefix}crime_type", f"{prefix}offence_code"


def _truthy(value: str, *, file: Path, row: int) -> bool:
    text = (value or "").strip().lower()
    if text in {"true", "1", "yes", "y"}:
        return True
    if text in {"false", "0", "no", "n", ""}:
        return False
    raise ValueError(f"{file}: row {row}, column proactive: {value!r} is not true/false; write true or false.")


def _read_weights(path: Path, key_column: str) -> list[dict]:
    """Rows of one weight file as dicts with key_type, key, weight, proactive, source."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {key_column, "proactive", "source"} - set(reader.fieldnames or [])
        weight_column = "cchi_weight" if "cchi_weight" in (reader.fieldnames or []) else "weight"
        if weight_column not in (reader.fieldnames or []):
            missing.add("weight")
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {sorted(missing)}; the header must name {key_column}, weight, "
                "proactive, source."
            )
        rows = []
        for number, record in enumerate(reader, start=1):
            key = (record[key_column] or "").strip()
            try:
                weight = float(record[weight_column])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}: row {number}, column {weight_column}: {record[weight_column]!r} is not a number of days."
                ) from None
            if not key or weight < 0 or math.isnan(weight):
                raise ValueError(f"{path}: row {number}: needs a {key_column} and a weight >= 0.")
            rows.append(
                {
                    "key_type": key_column,
                    "key": key,
                    "weight": weight,
                    "proactive": _truthy(record["proactive"], file=path, row=number),
                    "source": (record["source"] or "").strip() or path.name,
                }
            )
    return rows


def _own_rows(path: Path) -> list[dict]:
    """A force's own weights file: offence_code rows when it has that column, else crime_type rows."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    return _read_weights(Path(path), "offence_code" if "offence_code" in header else "crime_type")


def _scheme_rows(category: Path, codes: Path, own: Path | None, offence_codes: bool) -> list[dict]:
    rows = _read_weights(category, "crime_type")
    if offence_codes and codes.exists():
        rows += _read_weights(codes, "offence_code")
    if own is not None:
        mine = _own_rows(own)
        replaced = {r["key_type"] for r in mine}
        rows = [r for r in rows if r["key_type"] not in replaced] + mine
    return rows


def weight_rows(*, offence_codes: bool = True, settings: Settings | None = None) -> list[dict]:
    """The CCHI weight rows from the versioned CSV files (offence codes only when that file exists); a force's own
    file (settings.cchi_weights_path) replaces the package's file of its key type."""
    own = settings.cchi_weights_path if settings is not None else None
    return _scheme_rows(CATEGORY_FILE, OFFENCE_CODE_FILE, own, offence_codes)


def css_rows(*, offence_codes: bool = True, settings: Settings | None = None) -> list[dict]:
    """The ONS Crime Severity Score rows, key types css_crime_type and css_offence_code (settings.css_weights_path
    replaces the package's file of its key type)."""
    own = settings.css_weights_path if settings is not None else None
    rows = _scheme_rows(CSS_CATEGORY_FILE, CSS_OFFENCE_CODE_FILE, own, offence_codes)
    return [r | {"key_type": CSS_PREFIX + r["key_type"]} for r in rows]


def load_harm_weights(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> int:
    """Replace the harm_weights table with the CSV weights; returns the number of rows. Idempotent."""
    rows = weight_rows(settings=settings) + css_rows(settings=settings)
    with transaction(con):
        con.execute("DELETE FROM harm_weights")
        con.executemany(
            "INSERT INTO harm_weights VALUES (?, ?, ?, ?, ?)",
            [[r["key_type"], r["key"], r["weight"], r["proactive"], r["source"]] for r in rows],
        )
    return len(rows)


def weight_in_use(cchi_days: float, mode: str) -> float:
    """The weight one event carries under a mode: CCHI days (or the CSS weight), 1, or the square root of CCHI days."""
    if mode == "count":
        return 1.0
    if mode == "sqrt":
        return math.sqrt(cchi_days)
    if mode in ("cchi", "css"):
        return cchi_days
    raise ValueError(f"Unknown harm weighting {mode!r}; use one of {', '.join(WEIGHT_MODES)}.")


def _source_in_use(source: str, mode: str) -> str:
    if mode == "count":
        return "count: every event weighs 1"
    if mode == "sqrt":
        return f"square root of CCHI; {source}"
    return source


def weight_table(settings: Settings, *, offence_codes: bool = False) -> list[dict]:
    """The weights in use under settings.harm_weights, for display: key, weight, proactive, source."""
    key_type = "offence_code" if offence_codes else "crime_type"
    mode = settings.harm_weights
    code_file = CSS_OFFENCE_CODE_FILE if mode == "css" else OFFENCE_CODE_FILE
    if offence_codes and not code_file.exists():
        raise FileNotFoundError(f"{code_file} does not exist: no offence-code weights are installed.")
    wanted = key_types(mode)[1 if offence_codes else 0]
    rows = css_rows(settings=settings) if mode == "css" else weight_rows(settings=settings)
    return [
        {
            key_type: r["key"],
            "weight": weight_in_use(r["weight"], settings.harm_weights),
            "proactive": r["proactive"],
            "source": _source_in_use(r["source"], settings.harm_weights),
        }
        for r in rows
        if r["key_type"] == wanted
    ]
