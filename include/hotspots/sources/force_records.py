"""A force's own records extract (RMS; CSV or Parquet) into stg_crimes: date-time, Home Office offence code,
knife flag and British National Grid coordinates. Expected columns: docs/force_records.md; a force with other
column names passes ``columns`` ({canonical name: its column}). Offence codes map to data.police.uk
categories through include/hotspots/data/offence_codes.csv, so the same selection works on both sources.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hotspots.settings import Settings
from hotspots.sources.areas import BNG, force_extent, outside_distance, transform_points
from hotspots.sources.csvfile import ROW_COLUMN, match_columns, read_parquet_file, read_text_csv
from hotspots.sources.police_uk import load_frame
from hotspots.validation.core import quarantine_records, record_validation, validate_frame
from hotspots.validation.crime import force_records_checks, force_records_rules, knife_flag, offence_codes
from hotspots.warehouse import transaction

log = logging.getLogger(__name__)

SOURCE = "force_records"
REQUIRED = ["crime_reference", "occurred_at", "offence_code", "knife_flag", "easting", "northing"]
OPTIONAL = ["location"]
HINT = " (or pass columns={'<canonical name>': '<your column>'} / see docs/force_records.md)"


def read_extract(path: Path, columns: dict[str, str] | None) -> pd.DataFrame:
    """The extract with canonical column names, every value as text ('' for empty), plus source_row."""
    path = Path(path)
    mapping = dict(columns or {})
    unknown = set(mapping) - set(REQUIRED + OPTIONAL)
    if unknown:
        raise ValueError(f"columns mapping has unknown canonical names {sorted(unknown)}; use {REQUIRED + OPTIONAL}")
    if path.suffix.lower() == ".parquet":
        frame = read_parquet_file(path, "extract")
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        frame.insert(0, ROW_COLUMN, range(1, len(frame) + 1))
    else:
        frame = read_text_csv(path, [], hint=HINT)
    wanted = {name: mapping.get(name, name) for name in REQUIRED}
    found = match_columns(list(frame.columns), list(wanted.values()), path=path, hint=HINT)
    rename = {found[theirs]: ours for ours, theirs in wanted.items()}
    location = mapping.get("location", "location")
    if location in frame.columns:
        rename[location] = "location"
    frame = frame.rename(columns=rename)
    if "location" not in frame.columns:
        frame["location"] = ""
    return frame


def ingest_force_records(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    path: Path,
    settings: Settings,
    columns: dict[str, str] | None = None,
    docs_dir: Path | None = None,
) -> dict[str, Any]:
    """Validate, place and load one extract; replaces that file's rows (idempotent per file name)."""
    path = Path(path)
    source_file = path.name
    raw = read_extract(path, columns).reset_index(drop=True)
    raw_columns = list(raw.columns)
    checks = force_records_checks(raw)
    checks["outside_m"] = outside_distance(checks["grid_easting"], checks["grid_northing"], force_extent(con, force))
    outcome = validate_frame(
        checks.drop(columns=["grid_easting", "grid_northing"]),
        suite_name="force_records",
        rules=force_records_rules(margin_m=settings.area_margin_m),
        source_file=str(path),
        docs_dir=docs_dir,
    )
    # raw and checks share the index 0..n-1 (row i is source_row i + 1); rows are picked by source_row.
    keep = np.sort(outcome.loaded["source_row"].to_numpy(dtype="int64")) - 1
    good, text = checks.iloc[keep], raw.iloc[keep]
    lon, lat = transform_points(con, good["grid_easting"], good["grid_northing"], source=BNG, target="EPSG:4326")
    codes = offence_codes()
    rows = pd.DataFrame(
        {
            "source_row": good["source_row"].astype("int64"),
            "crime_id": text["crime_reference"].astype(str).str.strip(),
            "month": good["occurred"].dt.to_period("M").dt.start_time.dt.date,
            "occurred_at": good["occurred"].astype("datetime64[us]"),
            "crime_type": good["offence_code_norm"].map(codes),
            "offence_code": good["offence_code_norm"],
            "knife_flag": knife_flag(good["knife_token"]).astype("boolean"),
            "lon": lon,
            "lat": lat,
            "easting": good["grid_easting"].astype("float64"),
            "northing": good["grid_northing"].astype("float64"),
            "location": text["location"].astype(str),
            "file_lsoa_code": pd.Series(None, index=good.index, dtype="string"),
        }
    )
    bad = outcome.quarantined["source_row"].to_numpy(dtype="int64") - 1
    quarantined = raw.iloc[bad].assign(reason=outcome.quarantined["reason"].to_numpy())
    quarantine = quarantine_records(
        quarantined[raw_columns + ["reason"]], force=force, source=SOURCE, source_file=source_file
    )
    with transaction(con):
        outside = load_frame(con, force=force, source=SOURCE, source_file=source_file, rows=rows)
        record_validation(
            con, outcome, force=force, source=SOURCE, source_file=source_file, quarantine_frame=quarantine
        )
    counts = outcome.counts() | {
        "events_outside": outside,
        "source_file": source_file,
        "knife_crimes": int(rows["knife_flag"].fillna(False).sum()),
    }
    log.info("force_records %s %s: %s", force, source_file, counts)
    return counts
