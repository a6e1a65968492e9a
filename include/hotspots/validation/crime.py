"""Expectation suites for crime sources: data.police.uk street CSVs and force records extracts.

Each suite runs on a compact check frame computed vectorised from the file (Arrow/numpy): source_row, the few
text columns a rule reads (month, crime type, offence code, knife flag) and numeric columns (parsed
coordinates, distance outside the force's area, 1.0 on the copies of a repeated crime). Coordinate rules are
mutually exclusive by construction (a row fails at most one of them): missing -> grid references in degree
columns -> latitude/longitude swapped -> outside the force area; each derived column is null for rows an earlier
rule already rejects, and GX skips nulls. The ``mostly`` thresholds are the dirt a real file may carry before the
whole file is rejected (docs/data_formats.md).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.validation.core import Rule

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

POLICE_UK_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
MONTH_REGEX = r"^\d{4}-(?:0[1-9]|1[0-2])$"
# Great Britain and Northern Ireland in degrees: latitude is always greater than longitude here.
MAX_ABS_DEGREES = 90.0
KNIFE_TOKENS = {"", "y", "n", "yes", "no", "true", "false", "1", "0", "t", "f"}
KNIFE_TRUE = {"y", "yes", "true", "1", "t"}
NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"
# Which copy of a repeated crime is loaded (docs/data_formats.md): the most advanced outcome, then the last copy.
OUTCOME_NONE = ("", "Status update unavailable")
OUTCOME_PENDING = ("Under investigation", "Awaiting court outcome")

# Share of rows that must pass each rule; more failures than this reject the whole file.
MOSTLY = {
    "missing_coordinates": 0.90,  # DOMAIN.md: "a few per cent of rows have no coordinates"
    "grid_reference_in_degree_columns": 0.95,
    "degrees_in_grid_columns": 0.95,
    "lat_lon_swapped": 0.95,
    "outside_force_area": 0.90,  # real Bedfordshire files: under 1% far outside
    "malformed_month": 0.99,
    "malformed_occurred_at": 0.99,
    # Real files republish crimes: Bedfordshire 2022-01 has 4.4% repeated rows; twice that is a broken export.
    "duplicate_crime_id": 0.90,
    "unknown_crime_type": 0.99,
    "unknown_offence_code": 0.98,
    "invalid_knife_flag": 0.99,
}


@lru_cache(maxsize=1)
def crime_categories() -> tuple[str, ...]:
    """The data.police.uk crime categories (include/hotspots/data/cchi_categories.csv)."""
    with (DATA_DIR / "cchi_categories.csv").open(newline="") as handle:
        return tuple(row["crime_type"] for row in csv.DictReader(handle))


@lru_cache(maxsize=1)
def offence_codes() -> dict[str, str]:
    """Home Office offence code -> crime_type (include/hotspots/data/offence_codes.csv)."""
    with (DATA_DIR / "offence_codes.csv").open(newline="") as handle:
        return {row["offence_code"]: row["crime_type"] for row in csv.DictReader(handle)}


def normalise_offence_code(code: str) -> str:
    """' 005a ' -> '5A', '004/01' or '4.1' -> '4/1': upper case, no spaces, no leading zeros, '/' between parts."""
    parts = re.split(r"[/.]", str(code).strip().upper().replace(" ", ""))
    return "/".join(part.lstrip("0") or part for part in parts)


def numbers(values: pa.ChunkedArray | pa.Array | pd.Series) -> np.ndarray:
    """Text -> float64 (NaN when empty, not a number or not finite), vectorised in Arrow."""
    text = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())
    numeric = pc.match_substring_regex(text, NUMBER)
    parsed = pc.cast(pc.if_else(numeric, pc.utf8_trim_whitespace(text), pa.scalar(None, pa.string())), pa.float64())
    out = parsed.to_numpy(zero_copy_only=False) if isinstance(parsed, pa.Array) else parsed.to_numpy()
    out = np.array(out, dtype="float64")
    out[~np.isfinite(out)] = np.nan
    return out


def parse_pair(
    x_text: pa.ChunkedArray | pd.Series, y_text: pa.ChunkedArray | pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric x and y; both NaN when either is empty or not a number."""
    x, y = numbers(x_text), numbers(y_text)
    both = ~np.isnan(x) & ~np.isnan(y)
    return np.where(both, x, np.nan), np.where(both, y, np.nan)


def text(values: pa.ChunkedArray | pd.Series) -> pd.Series:
    """A text column as a pandas string Series (index 0..n-1)."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True).astype(str)
    return pd.Series(values.to_pandas(), dtype=str)


def outcome_rank(outcomes: pa.ChunkedArray | pd.Series) -> np.ndarray:
    """0 = no outcome yet (empty or 'Status update unavailable'), 1 = pending ('Under investigation',
    'Awaiting court outcome'), 2 = any final outcome."""
    values = pc.utf8_trim_whitespace(
        outcomes if isinstance(outcomes, (pa.Array, pa.ChunkedArray)) else pa.array(outcomes, pa.string())
    )
    none = pc.is_in(values, pa.array(OUTCOME_NONE)).to_numpy(zero_copy_only=False)
    pending = pc.is_in(values, pa.array(OUTCOME_PENDING)).to_numpy(zero_copy_only=False)
    return np.where(none, 0, np.where(pending, 1, 2)).astype("int8")


def losing_copies(keys: pd.Series, rank: np.ndarray, source_row: np.ndarray) -> np.ndarray:
    """True on every row whose non-empty key repeats another row's and is not the copy kept: per key the row
    with the highest ``rank`` wins, ties going to the highest source_row (the last copy in the file).
    Vectorised: keys are factorised and rows sorted by (key, rank, source_row)."""
    codes, _ = pd.factorize(keys.to_numpy())
    codes = np.where(keys.to_numpy() == "", -1, codes)
    order = np.lexsort((source_row, rank, codes))
    sorted_codes = codes[order]
    loses_sorted = np.zeros(len(order), dtype=bool)
    loses_sorted[:-1] = (sorted_codes[:-1] == sorted_codes[1:]) & (sorted_codes[:-1] >= 0)
    loses = np.zeros(len(order), dtype=bool)
    loses[order] = loses_sorted
    return loses


def police_uk_checks(table: pa.Table) -> pd.DataFrame:
    """The street file's check frame: source_row, Month, Crime type, lon, lat, max_abs_coordinate,
    degree_lon/degree_lat (plausible degrees only) and repeated_crime_id (1.0 on the copies not kept)."""
    source_row = table.column("source_row").to_numpy()
    lon, lat = parse_pair(table.column("Longitude"), table.column("Latitude"))
    max_abs = np.fmax(np.abs(lon), np.abs(lat))
    degrees = max_abs <= MAX_ABS_DEGREES
    crime_id = text(pc.utf8_trim_whitespace(table.column("Crime ID")))
    loses = losing_copies(crime_id, outcome_rank(table.column("Last outcome category")), source_row)
    return pd.DataFrame(
        {
            "source_row": source_row,
            "Month": text(table.column("Month")),
            "Crime type": text(table.column("Crime type")),
            "repeated_crime_id": np.where(loses, 1.0, np.nan),
            "lon": lon,
            "lat": lat,
            "max_abs_coordinate": max_abs,
            "degree_lon": np.where(degrees, lon, np.nan),
            "degree_lat": np.where(degrees, lat, np.nan),
        }
    )


def rule_failures(frame: pd.DataFrame, rule: Rule) -> np.ndarray:
    """The rows ``rule`` fails, computed vectorised with its expectation's semantics (nulls skipped except by the
    null rules). The caller checks each count against Great Expectations' own unexpected_count."""
    args = rule.kwargs
    if rule.expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        a, b = frame[args["column_A"]], frame[args["column_B"]]
        passed = (a >= b) if args.get("or_equal") else (a > b)
        return ((a.notna() | b.notna()) & ~passed).to_numpy()
    column = frame[args["column"]]
    present = column.notna()
    if rule.expectation == "ExpectColumnValuesToBeNull":
        return present.to_numpy()
    if rule.expectation == "ExpectColumnValuesToNotBeNull":
        return (~present).to_numpy()
    if rule.expectation == "ExpectColumnValuesToMatchRegex":
        passed = column.astype(str).str.contains(args["regex"], regex=True)
    elif rule.expectation == "ExpectColumnValuesToBeInSet":
        passed = column.isin(args["value_set"])
    elif rule.expectation == "ExpectColumnValuesToBeBetween":
        passed = pd.Series(True, index=column.index)
        if args.get("min_value") is not None:
            passed &= column >= args["min_value"]
        if args.get("max_value") is not None:
            passed &= column <= args["max_value"]
    else:
        raise ValueError(f"rule {rule.reason}: no vectorised form for {rule.expectation}")
    return (present & ~passed).to_numpy()


def row_reasons(frame: pd.DataFrame, rules: list[Rule], summary: list[dict]) -> np.ndarray:
    """Per row the reasons of the rules it fails, in rule order joined by '; ' ('' = loaded); each rule's count
    must equal the unexpected_count Great Expectations reported for it (``summary`` of validate_checks)."""
    reasons = np.full(len(frame), "", dtype=object)
    for rule, result in zip(rules, summary):
        fails = rule_failures(frame, rule)
        if int(fails.sum()) != result["unexpected_count"]:
            raise RuntimeError(
                f"rule {rule.reason}: {int(fails.sum())} rows fail here, Great Expectations counted "
                f"{result['unexpected_count']}"
            )
        reasons[fails] = np.where(reasons[fails] == "", rule.reason, reasons[fails] + "; " + rule.reason)
    return reasons


def police_uk_rules(*, margin_m: float) -> list[Rule]:
    """Suite police_uk_street: structure, month, coordinates, force area, duplicates, categories."""
    fix = "Fix the file at the source (or re-download it from data.police.uk) and drop it in the landing folder again."
    return [
        Rule(
            "malformed_month",
            "ExpectColumnValuesToMatchRegex",
            {"column": "Month", "regex": MONTH_REGEX, "mostly": MOSTLY["malformed_month"]},
            "Month must be YYYY-MM (e.g. 2024-02). " + fix,
        ),
        Rule(
            "unknown_crime_type",
            "ExpectColumnValuesToBeInSet",
            {"column": "Crime type", "value_set": list(crime_categories()), "mostly": MOSTLY["unknown_crime_type"]},
            "Crime type must be a data.police.uk category (see include/hotspots/data/cchi_categories.csv). " + fix,
        ),
        Rule(
            "duplicate_crime_id",
            "ExpectColumnValuesToBeNull",
            {"column": "repeated_crime_id", "mostly": MOSTLY["duplicate_crime_id"]},
            "Each Crime ID must appear once (anti-social behaviour rows have none). " + fix,
        ),
        Rule(
            "missing_coordinates",
            "ExpectColumnValuesToNotBeNull",
            {"column": "lon", "mostly": MOSTLY["missing_coordinates"]},
            "Longitude and Latitude must be numbers in WGS84 degrees. " + fix,
        ),
        Rule(
            "grid_reference_in_degree_columns",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "max_abs_coordinate",
                "min_value": 0,
                "max_value": MAX_ABS_DEGREES,
                "mostly": MOSTLY["grid_reference_in_degree_columns"],
            },
            "Longitude/Latitude hold eastings/northings (metres); export WGS84 degrees instead. " + fix,
        ),
        Rule(
            "lat_lon_swapped",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "degree_lat", "column_B": "degree_lon", "or_equal": True, "mostly": MOSTLY["lat_lon_swapped"]},
            "Latitude is smaller than Longitude: the two columns are swapped; swap them back. " + fix,
        ),
        Rule(
            "outside_force_area",
            "ExpectColumnValuesToBeBetween",
            {"column": "outside_m", "min_value": 0, "max_value": margin_m, "mostly": MOSTLY["outside_force_area"]},
            f"Points lie more than {margin_m:.0f} m outside the bounding box of the force's areas: check that the "
            "file belongs to this force and that the right area file is loaded.",
        ),
    ]


def force_records_checks(frame: pd.DataFrame) -> pd.DataFrame:
    """The extract's check frame: source_row, occurred (datetime), offence_code_norm, knife_token,
    max_abs_coordinate, grid_easting/grid_northing (metres only) and repeated_crime_reference (1.0 on the copies
    not kept: the last copy of a reference in the extract wins, docs/force_records.md)."""
    frame = frame.reset_index(drop=True)
    when = frame["occurred_at"].str.strip()
    occurred = pd.to_datetime(when, errors="coerce", format="ISO8601")
    fallback = occurred.isna() & when.ne("")
    if fallback.any():
        occurred[fallback] = pd.to_datetime(when[fallback], errors="coerce", dayfirst=True, format="mixed")
    if getattr(occurred.dt, "tz", None):
        occurred = occurred.dt.tz_localize(None)
    codes, uniques = pd.factorize(frame["offence_code"])
    normalised = np.array([normalise_offence_code(code) for code in uniques], dtype=object)
    easting, northing = parse_pair(frame["easting"], frame["northing"])
    max_abs = np.fmax(np.abs(easting), np.abs(northing))
    metres = max_abs > 180
    source_row = frame["source_row"].to_numpy()
    reference = frame["crime_reference"].str.strip()
    loses = losing_copies(reference, np.zeros(len(frame), dtype="int8"), source_row)
    return pd.DataFrame(
        {
            "source_row": source_row,
            "occurred": occurred,
            "offence_code_norm": pd.Series(normalised[codes] if len(uniques) else [], dtype=object),
            "knife_token": frame["knife_flag"].str.strip().str.lower().astype(object),
            "repeated_crime_reference": np.where(loses, 1.0, np.nan),
            "max_abs_coordinate": max_abs,
            "grid_easting": np.where(metres, easting, np.nan),
            "grid_northing": np.where(metres, northing, np.nan),
        }
    )


def force_records_rules(*, margin_m: float) -> list[Rule]:
    """Suite force_records: date-time, offence code, knife flag, grid coordinates, force area, duplicates."""
    fix = "Correct the extract (see docs/force_records.md) and drop it in the landing folder again."
    return [
        Rule(
            "malformed_occurred_at",
            "ExpectColumnValuesToNotBeNull",
            {"column": "occurred", "mostly": MOSTLY["malformed_occurred_at"]},
            "occurred_at must be a date-time such as 2024-02-03T21:15:00 or 03/02/2024 21:15. " + fix,
        ),
        Rule(
            "unknown_offence_code",
            "ExpectColumnValuesToBeInSet",
            {
                "column": "offence_code_norm",
                "value_set": sorted(offence_codes()),
                "mostly": MOSTLY["unknown_offence_code"],
            },
            "Add the code to include/hotspots/data/offence_codes.csv or correct the extract.",
        ),
        Rule(
            "invalid_knife_flag",
            "ExpectColumnValuesToBeInSet",
            {"column": "knife_token", "value_set": sorted(KNIFE_TOKENS), "mostly": MOSTLY["invalid_knife_flag"]},
            "knife_flag must be Y/N, yes/no, true/false, 1/0 or empty. " + fix,
        ),
        Rule(
            "duplicate_crime_id",
            "ExpectColumnValuesToBeNull",
            {"column": "repeated_crime_reference", "mostly": MOSTLY["duplicate_crime_id"]},
            "Each crime reference must appear once. " + fix,
        ),
        Rule(
            "missing_coordinates",
            "ExpectColumnValuesToNotBeNull",
            {"column": "max_abs_coordinate", "mostly": MOSTLY["missing_coordinates"]},
            "easting and northing must be numbers in British National Grid metres (EPSG:27700). " + fix,
        ),
        Rule(
            "degrees_in_grid_columns",
            "ExpectColumnValuesToBeBetween",
            {"column": "max_abs_coordinate", "min_value": 180, "mostly": MOSTLY["degrees_in_grid_columns"]},
            "easting/northing hold longitude/latitude degrees; export EPSG:27700 metres instead. " + fix,
        ),
        Rule(
            "outside_force_area",
            "ExpectColumnValuesToBeBetween",
            {"column": "outside_m", "min_value": 0, "max_value": margin_m, "mostly": MOSTLY["outside_force_area"]},
            f"Points lie more than {margin_m:.0f} m outside the bounding box of the force's areas: check the extract "
            "belongs to this force and easting/northing are EPSG:27700.",
        ),
    ]


def knife_flag(tokens: pd.Series) -> pd.Series:
    """Knife tokens -> True/False/None."""
    return tokens.map(lambda t: None if t == "" else t in KNIFE_TRUE).astype(object)
