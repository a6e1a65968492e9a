"""AVL and radio GPS pings: read a CSV/Parquet drop, validate (GX), pseudonymise, load stg_pings.

Columns are matched by canonical name (device, time, lon, lat or easting, northing, speed, unit_type) through a
mapping to the force's own header names, e.g. ``--columns device=vehicle_id,time=timestamp``. Raw device ids
are replaced by keyed pseudonyms before validation, so they reach neither the warehouse nor the quarantine.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.pseudonym import pseudonym_key, pseudonymise
from hotspots.settings import Settings
from hotspots.sources.csvfile import header_key, match_columns, read_parquet_file, read_text_csv
from hotspots.validation import avl as checks
from hotspots.validation.core import InputFileError, quarantine_records, record_validation, validate_frame
from hotspots.warehouse import transaction

log = logging.getLogger(__name__)

SOURCE = "avl"
ROW = "source_row"
DEFAULT_COLUMNS = {
    "device": "device_id", "time": "timestamp", "lon": "lon", "lat": "lat", "easting": "easting",
    "northing": "northing", "speed": "speed_kmh", "unit_type": "unit_type",
}
PING_SUFFIXES = (".csv", ".parquet", ".pq")
DAY_REGEX = re.compile(r"(\d{4}-\d{2}-\d{2})")
EPOCH_REGEX = r"^-?\d+(?:\.\d+)?$"
# Times outside these years are unit mix-ups (epoch milliseconds read as seconds), not pings: bad_timestamp.
PLAUSIBLE_TIMES = (pd.Timestamp("1990-01-01"), pd.Timestamp("2100-01-01"))


def parse_columns(spec: str | None) -> dict[str, str]:
    """'device=vehicle_id,time=timestamp' -> {'device': 'vehicle_id', 'time': 'timestamp'}."""
    mapping: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"--columns item {item!r} is not name=column (e.g. device=vehicle_id).")
        name, column = (part.strip() for part in item.split("=", 1))
        mapping[name] = column
    return check_mapping(mapping)


def check_mapping(columns: dict[str, str] | None) -> dict[str, str]:
    unknown = set(columns or {}) - set(DEFAULT_COLUMNS)
    if unknown:
        raise ValueError(f"column mapping has unknown names {sorted(unknown)}; use {sorted(DEFAULT_COLUMNS)}.")
    return {**DEFAULT_COLUMNS, **(columns or {})}


def read_ping_file(path: Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of a ping file with canonical column names (device, time, lon/lat or easting/northing, speed,
    unit_type) as text, plus source_row. Structural faults raise InputFileError naming file and column."""
    path = Path(path)
    mapping = check_mapping(columns)
    hint = " (or map it with --columns NAME=column)"
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = read_parquet_file(path, "file")
        found = match_columns(list(frame.columns), [mapping["device"], mapping["time"]], path=path, hint=hint)
        frame = frame.rename(columns={v: k for k, v in found.items()})
        frame.insert(0, ROW, range(1, len(frame) + 1))
    elif path.suffix.lower() == ".csv":
        frame = read_text_csv(path, [mapping["device"], mapping["time"]], hint=hint)
    else:
        raise InputFileError(f"{path}: unknown file type {path.suffix!r}; ping files must be {', '.join(PING_SUFFIXES)}.")
    frame = frame.rename(columns={mapping["device"]: "device", mapping["time"]: "time"})
    by_key = {header_key(c): c for c in frame.columns}
    pairs = [("lon", "lat"), ("easting", "northing")]
    for x_name, y_name in pairs:
        if header_key(mapping[x_name]) in by_key and header_key(mapping[y_name]) in by_key:
            frame = frame.rename(columns={by_key[header_key(mapping[x_name])]: x_name, by_key[header_key(mapping[y_name])]: y_name})
            break
    else:
        raise InputFileError(
            f"{path}: no coordinate columns: need {mapping['lon']!r} and {mapping['lat']!r} (WGS84) or "
            f"{mapping['easting']!r} and {mapping['northing']!r} (EPSG:27700); header: {[c for c in frame.columns if c != ROW]}. "
            "Map them with --columns lon=...,lat=... or easting=...,northing=..."
        )
    for name in ("speed", "unit_type"):
        if header_key(mapping[name]) in by_key:
            frame = frame.rename(columns={by_key[header_key(mapping[name])]: name})
    return frame


def parse_times(values: pd.Series) -> pd.Series:
    """UTC datetime64[us] (naive) from ISO 8601 text (offset or 'Z'; none = UTC), epoch seconds or a typed
    timestamp column; NaT where unparseable."""
    if values.dtype.kind == "M":
        parsed = pd.to_datetime(values, utc=True)
    elif values.dtype.kind in "iuf":
        parsed = pd.to_datetime(pd.to_numeric(values, errors="coerce") * 1e6, unit="us", utc=True, errors="coerce")
    else:
        text = values.astype(str).str.strip()
        epoch = text.str.fullmatch(EPOCH_REGEX)
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
        if epoch.any():
            seconds = pd.to_numeric(text[epoch], errors="coerce")
            parsed[epoch] = pd.to_datetime((seconds * 1e6).round(), unit="us", utc=True, errors="coerce")
        if (~epoch).any():
            parsed[~epoch] = pd.to_datetime(text[~epoch], format="ISO8601", utc=True, errors="coerce")
    parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return parsed.where((parsed >= PLAUSIBLE_TIMES[0]) & (parsed < PLAUSIBLE_TIMES[1]))


def file_day(path: Path, times: pd.Series) -> date | None:
    """The UTC day a drop belongs to: the last YYYY-MM-DD in its folder or file name (landing/<force>/avl/
    YYYY-MM-DD/, raw/.../date=YYYY-MM-DD/), else the latest day among its timestamps."""
    for part in reversed(Path(path).parts):
        found = DAY_REGEX.findall(part)
        if found:
            try:
                return date.fromisoformat(found[-1])
            except ValueError:
                continue
    latest = times.max()
    return None if pd.isna(latest) else latest.date()


def prepare(frame: pd.DataFrame, *, force: str, path: Path, settings: Settings, con: Any) -> pd.DataFrame:
    """Typed, pseudonymised pings with one check column per rule (validation.avl.CHECK_COLUMNS)."""
    from hotspots.sources.areas import force_extent, transform_points

    key = pseudonym_key(settings)
    raw_device = frame["device"].astype(str).str.strip()
    out = pd.DataFrame({ROW: frame[ROW].to_numpy()}, index=frame.index)
    out["device_key"] = pseudonymise(raw_device, key)
    alive = pd.Series(True, index=frame.index)
    device_ok = raw_device.map(lambda v: bool(checks.DEVICE_ID_REGEX.match(v)))
    out["device_id_ok"], alive = checks.judged(device_ok, alive)

    ts = parse_times(frame["time"])
    out["ts_utc"] = ts
    out["timestamp_ok"], alive = checks.judged(ts.notna(), alive)
    day = file_day(path, ts[alive])
    lo = datetime.combine(day - timedelta(days=settings.late_days), datetime.min.time()) if day else None
    hi = datetime.combine(day + timedelta(days=1), datetime.min.time()) if day else None
    in_window = (ts >= lo) & (ts < hi) if day else pd.Series(True, index=frame.index)
    out["in_time_window"], alive = checks.judged(in_window.fillna(False).astype(bool), alive)

    if "easting" in frame.columns:
        x = pd.to_numeric(frame["easting"], errors="coerce").astype("float64")
        y = pd.to_numeric(frame["northing"], errors="coerce").astype("float64")
        coords_ok = x.notna() & y.notna() & np.isfinite(x) & np.isfinite(y)
    else:
        lon = pd.to_numeric(frame["lon"], errors="coerce").astype("float64")
        lat = pd.to_numeric(frame["lat"], errors="coerce").astype("float64")
        coords_ok = lon.between(-180, 180) & lat.between(-90, 90)
        x, y = transform_points(con, lon.where(coords_ok), lat.where(coords_ok), source="EPSG:4326", target="EPSG:27700")
        coords_ok &= x.notna() & y.notna() & np.isfinite(x) & np.isfinite(y)
    out["easting"], out["northing"] = x.where(coords_ok), y.where(coords_ok)
    out["coordinates_ok"], alive = checks.judged(coords_ok, alive)
    xmin, ymin, xmax, ymax = force_extent(con, force)
    margin = checks.AREA_MARGIN_M
    in_area = x.between(xmin - margin, xmax + margin) & y.between(ymin - margin, ymax + margin)
    out["in_force_area"], alive = checks.judged(in_area, alive)

    if "speed" in frame.columns:
        text = frame["speed"].astype(str).str.strip()
        speed = pd.to_numeric(text.where(text.ne("") & text.str.lower().ne("nan")), errors="coerce").astype("float64")
        speed_ok = (speed.isna() & (text.eq("") | text.str.lower().isin(["nan", "none"]))) | speed.between(0, checks.MAX_SPEED_KMH)
    else:
        speed, speed_ok = pd.Series(np.nan, index=frame.index), pd.Series(True, index=frame.index)
    out["speed_kmh"] = speed.where(speed_ok)
    out["speed_ok"], alive = checks.judged(speed_ok, alive)
    if "unit_type" in frame.columns:
        unit = frame["unit_type"].astype(str).str.strip().str.lower()
        unit = unit.where(~unit.isin(["", "nan", "none"]), None)
        unit_ok = unit.isna() | unit.isin(checks.UNIT_TYPES)
    else:
        unit, unit_ok = pd.Series(None, index=frame.index, dtype=object), pd.Series(True, index=frame.index)
    out["unit_type"] = unit.where(unit_ok, None)
    out["unit_type_ok"], alive = checks.judged(unit_ok, alive)

    first_copy = ~out[["device_key", "ts_utc"]].where(alive).duplicated(keep="first") | ~alive
    out["first_copy"], alive = checks.judged(first_copy, alive)
    plausible = pd.Series(True, index=frame.index)
    if alive.any():
        plausible[alive] = checks.plausible_moves(out.loc[alive, "device_key"], out.loc[alive, "ts_utc"], x[alive], y[alive])
    out["plausible_move"], alive = checks.judged(plausible, alive)
    out["local_date"] = ts.dt.tz_localize("UTC").dt.tz_convert(settings.timezone).dt.date
    return out


def raw_rows(frame: pd.DataFrame, device_keys: pd.Series) -> pd.DataFrame:
    """The file's rows as text with the device column pseudonymised (for quarantine.raw_row)."""
    raw = frame.astype(str).where(frame.notna(), None)
    raw["device"] = device_keys
    return raw.rename(columns={"device": "device_key"})


def source_name(path: Path) -> str:
    """Partition key of a drop: day folder and file name (file names repeat from day to day)."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


def ingest_ping_file(
    con: Any,
    *,
    force: str,
    path: Path,
    settings: Settings,
    columns: dict[str, str] | None = None,
    docs_dir: Path | None = None,
) -> dict[str, Any]:
    """Validate, pseudonymise and load one ping file; replaces the file's rows in stg_pings, quarantine and
    validation_runs. Returns rows_read, rows_loaded, rows_quarantined, quarantined_by_reason, local_dates."""
    path = Path(path)
    pseudonym_key(settings)  # fail before reading when the key is missing
    frame = read_ping_file(path, columns)
    source_file = source_name(path)
    prepared = prepare(frame, force=force, path=path, settings=settings, con=con)
    outcome = validate_frame(
        prepared.drop(columns=["local_date"]), suite_name="avl_pings", rules=checks.avl_rules(),
        source_file=str(path), docs_dir=docs_dir,
    )
    loaded = prepared.loc[outcome.loaded.index]
    raw = raw_rows(frame, prepared["device_key"])
    bad = outcome.quarantined
    quarantined = raw.loc[bad.index].assign(reason=bad["reason"].to_numpy())
    quarantined[ROW] = frame.loc[bad.index, ROW].to_numpy()
    quarantine = quarantine_records(quarantined, force=force, source=SOURCE, source_file=source_file)
    rows = pd.DataFrame(
        {
            "force": force,
            "device_key": loaded["device_key"].to_numpy(),
            "ts_utc": loaded["ts_utc"].to_numpy("datetime64[us]"),
            "local_date": pd.to_datetime(loaded["local_date"]).to_numpy("datetime64[D]") if len(loaded) else np.array([], "datetime64[D]"),
            "easting": loaded["easting"].to_numpy("float64"),
            "northing": loaded["northing"].to_numpy("float64"),
            "speed_kmh": loaded["speed_kmh"].to_numpy("float64"),
            "unit_type": loaded["unit_type"].to_numpy(object),
            "source_file": source_file,
        }
    )
    with transaction(con):
        con.execute("DELETE FROM stg_pings WHERE force = ? AND source_file = ?", [force, source_file])
        con.register("ping_rows", rows)
        con.execute(
            "INSERT INTO stg_pings SELECT force, device_key, ts_utc, local_date, easting, northing, "
            "CASE WHEN isnan(speed_kmh) THEN NULL ELSE speed_kmh END, unit_type, source_file, now() FROM ping_rows"
        )
        con.unregister("ping_rows")
        record_validation(con, outcome, force=force, source=SOURCE, source_file=source_file, quarantine_frame=quarantine)
    counts = outcome.counts()
    counts["local_dates"] = sorted({d.isoformat() for d in loaded["local_date"]})
    counts["source_file"] = source_file
    log.info("%s: %s", path, counts)
    return counts
