"""Expectation suites for crime sources: data.police.uk street CSVs and force records extracts.

Each suite runs on the file's text columns plus a few derived columns (parsed coordinates, distance outside
the force's area). Coordinate rules are mutually exclusive by construction (a row fails at most one of them):
missing -> grid references in degree columns -> latitude/longitude swapped -> outside the force area; each
derived column is null for rows an earlier rule already rejects, and GX skips nulls. The ``mostly``
thresholds are the dirt a real file may carry before the whole file is rejected (docs/data_formats.md).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from hotspots.validation.core import Rule

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

POLICE_UK_COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
MONTH_REGEX = r"^\d{4}-(?:0[1-9]|1[0-2])$"
# Great Britain and Northern Ireland in degrees: latitude is always greater than longitude here.
MAX_ABS_DEGREES = 90.0
KNIFE_TOKENS = {"", "y", "n", "yes", "no", "true", "false", "1", "0", "t", "f"}
KNIFE_TRUE = {"y", "yes", "true", "1", "t"}

# Share of rows that must pass each rule; more failures than this reject the whole file.
MOSTLY = {
    "missing_coordinates": 0.90,  # DOMAIN.md: "a few per cent of rows have no coordinates"
    "grid_reference_in_degree_columns": 0.95,
    "degrees_in_grid_columns": 0.95,
    "lat_lon_swapped": 0.95,
    "outside_force_area": 0.90,  # real Bedfordshire files: under 1% far outside
    "malformed_month": 0.99,
    "malformed_occurred_at": 0.99,
    "duplicate_crime_id": 0.99,
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


def parse_pair(frame: pd.DataFrame, x_column: str, y_column: str) -> tuple[pd.Series, pd.Series]:
    """Numeric x and y; both NaN when either is empty or not a number."""
    x = pd.to_numeric(frame[x_column].str.strip(), errors="coerce").astype("float64")
    y = pd.to_numeric(frame[y_column].str.strip(), errors="coerce").astype("float64")
    both = x.notna() & y.notna() & np.isfinite(x) & np.isfinite(y)
    return x.where(both), y.where(both)


def repeated(values: pd.Series) -> pd.Series:
    """The value on rows that repeat an earlier row's non-empty value, else null (first copy is kept)."""
    present = values.str.strip().ne("")
    repeat = present & values.duplicated(keep="first")
    return values.where(repeat).astype(object).where(repeat, None)


def police_uk_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Add lon, lat, max_abs_coordinate, degree_lon/degree_lat (plausible degrees only) and repeated_crime_id."""
    lon, lat = parse_pair(frame, "Longitude", "Latitude")
    frame["lon"], frame["lat"] = lon, lat
    frame["max_abs_coordinate"] = np.fmax(lon.abs(), lat.abs()).where(lon.notna())
    degrees = frame["max_abs_coordinate"] <= MAX_ABS_DEGREES
    frame["degree_lon"], frame["degree_lat"] = lon.where(degrees), lat.where(degrees)
    frame["repeated_crime_id"] = repeated(frame["Crime ID"])
    return frame


def police_uk_rules(*, margin_m: float) -> list[Rule]:
    """Suite police_uk_street: structure, month, coordinates, force area, duplicates, categories."""
    fix = "Fix the file at the source (or re-download it from data.police.uk) and drop it in the landing folder again."
    return [
        Rule("malformed_month", "ExpectColumnValuesToMatchRegex",
             {"column": "Month", "regex": MONTH_REGEX, "mostly": MOSTLY["malformed_month"]},
             "Month must be YYYY-MM (e.g. 2024-02). " + fix),
        Rule("unknown_crime_type", "ExpectColumnValuesToBeInSet",
             {"column": "Crime type", "value_set": list(crime_categories()), "mostly": MOSTLY["unknown_crime_type"]},
             "Crime type must be a data.police.uk category (see include/hotspots/data/cchi_categories.csv). " + fix),
        Rule("duplicate_crime_id", "ExpectColumnValuesToBeNull",
             {"column": "repeated_crime_id", "mostly": MOSTLY["duplicate_crime_id"]},
             "Each Crime ID must appear once (anti-social behaviour rows have none). " + fix),
        Rule("missing_coordinates", "ExpectColumnValuesToNotBeNull",
             {"column": "lon", "mostly": MOSTLY["missing_coordinates"]},
             "Longitude and Latitude must be numbers in WGS84 degrees. " + fix),
        Rule("grid_reference_in_degree_columns", "ExpectColumnValuesToBeBetween",
             {"column": "max_abs_coordinate", "min_value": 0, "max_value": MAX_ABS_DEGREES,
              "mostly": MOSTLY["grid_reference_in_degree_columns"]},
             "Longitude/Latitude hold eastings/northings (metres); export WGS84 degrees instead. " + fix),
        Rule("lat_lon_swapped", "ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "degree_lat", "column_B": "degree_lon", "or_equal": True,
              "mostly": MOSTLY["lat_lon_swapped"]},
             "Latitude is smaller than Longitude: the two columns are swapped; swap them back. " + fix),
        Rule("outside_force_area", "ExpectColumnValuesToBeBetween",
             {"column": "outside_m", "min_value": 0, "max_value": margin_m, "mostly": MOSTLY["outside_force_area"]},
             f"Points lie more than {margin_m:.0f} m outside the bounding box of the force's areas: check that the "
             "file belongs to this force and that the right area file is loaded."),
    ]


def force_records_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Add occurred (datetime), offence_code_norm, knife_token, easting/northing numbers, repeated_crime_reference."""
    text = frame["occurred_at"].str.strip()
    occurred = pd.to_datetime(text, errors="coerce", format="ISO8601")
    fallback = occurred.isna() & text.ne("")
    if fallback.any():
        occurred[fallback] = pd.to_datetime(text[fallback], errors="coerce", dayfirst=True, format="mixed")
    frame["occurred"] = occurred.dt.tz_localize(None) if getattr(occurred.dt, "tz", None) else occurred
    frame["offence_code_norm"] = frame["offence_code"].map(normalise_offence_code)
    frame["knife_token"] = frame["knife_flag"].str.strip().str.lower()
    easting, northing = parse_pair(frame, "easting", "northing")
    frame["max_abs_coordinate"] = np.fmax(easting.abs(), northing.abs()).where(easting.notna())
    metres = frame["max_abs_coordinate"] > 180
    frame["grid_easting"], frame["grid_northing"] = easting.where(metres), northing.where(metres)
    frame["repeated_crime_reference"] = repeated(frame["crime_reference"])
    return frame


def force_records_rules(*, margin_m: float) -> list[Rule]:
    """Suite force_records: date-time, offence code, knife flag, grid coordinates, force area, duplicates."""
    fix = "Correct the extract (see docs/force_records.md) and drop it in the landing folder again."
    return [
        Rule("malformed_occurred_at", "ExpectColumnValuesToNotBeNull",
             {"column": "occurred", "mostly": MOSTLY["malformed_occurred_at"]},
             "occurred_at must be a date-time such as 2024-02-03T21:15:00 or 03/02/2024 21:15. " + fix),
        Rule("unknown_offence_code", "ExpectColumnValuesToBeInSet",
             {"column": "offence_code_norm", "value_set": sorted(offence_codes()), "mostly": MOSTLY["unknown_offence_code"]},
             "Add the code to include/hotspots/data/offence_codes.csv or correct the extract."),
        Rule("invalid_knife_flag", "ExpectColumnValuesToBeInSet",
             {"column": "knife_token", "value_set": sorted(KNIFE_TOKENS), "mostly": MOSTLY["invalid_knife_flag"]},
             "knife_flag must be Y/N, yes/no, true/false, 1/0 or empty. " + fix),
        Rule("duplicate_crime_id", "ExpectColumnValuesToBeNull",
             {"column": "repeated_crime_reference", "mostly": MOSTLY["duplicate_crime_id"]},
             "Each crime reference must appear once. " + fix),
        Rule("missing_coordinates", "ExpectColumnValuesToNotBeNull",
             {"column": "max_abs_coordinate", "mostly": MOSTLY["missing_coordinates"]},
             "easting and northing must be numbers in British National Grid metres (EPSG:27700). " + fix),
        Rule("degrees_in_grid_columns", "ExpectColumnValuesToBeBetween",
             {"column": "max_abs_coordinate", "min_value": 180, "mostly": MOSTLY["degrees_in_grid_columns"]},
             "easting/northing hold longitude/latitude degrees; export EPSG:27700 metres instead. " + fix),
        Rule("outside_force_area", "ExpectColumnValuesToBeBetween",
             {"column": "outside_m", "min_value": 0, "max_value": margin_m, "mostly": MOSTLY["outside_force_area"]},
             f"Points lie more than {margin_m:.0f} m outside the bounding box of the force's areas: check the extract "
             "belongs to this force and easting/northing are EPSG:27700."),
    ]


def knife_flag(tokens: pd.Series) -> pd.Series:
    """Knife tokens -> True/False/None."""
    return tokens.map(lambda t: None if t == "" else t in KNIFE_TRUE).astype(object)
