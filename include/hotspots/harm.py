"""Harm weights: CCHI days by data.police.uk category and by Home Office offence code, as versioned data.

The CSV files in include/hotspots/data/ are the source of truth; ``load_harm_weights`` copies them into the
``harm_weights`` table. The weighting mode (cchi, count, sqrt) is applied when harm is summed, so the table
always holds CCHI days.
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
WEIGHT_MODES = ("cchi", "count", "sqrt")


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


def weight_rows(*, offence_codes: bool = True) -> list[dict]:
    """All weight rows from the versioned CSV files (offence codes only when that file exists)."""
    rows = _read_weights(CATEGORY_FILE, "crime_type")
    if offence_codes and OFFENCE_CODE_FILE.exists():
        rows += _read_weights(OFFENCE_CODE_FILE, "offence_code")
    return rows


def load_harm_weights(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> int:
    """Replace the harm_weights table with the CSV weights; returns the number of rows. Idempotent."""
    rows = weight_rows()
    with transaction(con):
        con.execute("DELETE FROM harm_weights")
        con.executemany(
            "INSERT INTO harm_weights VALUES (?, ?, ?, ?, ?)",
            [[r["key_type"], r["key"], r["weight"], r["proactive"], r["source"]] for r in rows],
        )
    return len(rows)


def weight_in_use(cchi_days: float, mode: str) -> float:
    """The weight one event carries under a mode: CCHI days, 1, or the square root of CCHI days."""
    if mode == "count":
        return 1.0
    if mode == "sqrt":
        return math.sqrt(cchi_days)
    if mode == "cchi":
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
    if offence_codes and not OFFENCE_CODE_FILE.exists():
        raise FileNotFoundError(f"{OFFENCE_CODE_FILE} does not exist: no offence-code weights are installed.")
    return [
        {
            key_type: r["key"],
            "weight": weight_in_use(r["weight"], settings.harm_weights),
            "proactive": r["proactive"],
            "source": _source_in_use(r["source"], settings.harm_weights),
        }
        for r in weight_rows()
        if r["key_type"] == key_type
    ]
