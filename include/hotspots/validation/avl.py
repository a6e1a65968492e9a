"""Checks and expectation suite for AVL / radio GPS ping files (docs/patrol.md, "Validation").

Every rule is computed once, vectorised, by check_pings (numpy over the typed columns of
sql/transform/avl_typed.sql, the impossible-jump kernel in numba): each row gets one reason code, 0 = loaded,
else the first rule it fails, in this order: device id -> timestamp -> time window -> coordinates -> force
area -> speed -> unit type -> duplicate -> impossible jump. Great Expectations then judges compact float check
columns derived from the codes (check_columns: 1.0 pass, 0.0 fail, NaN for rows an earlier rule rejected, which
GX skips), never raw device ids (officer GPS is personal data, and GX data docs show failing values).
"""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from hotspots.validation.core import Rule

DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
UNIT_TYPES = ("vehicle", "foot")
# Years outside 1990..2100 are unit mix-ups (epoch milliseconds read as seconds), not pings: bad_timestamp.
PLAUSIBLE_YEARS = (1990, 2100)

# Share of rows that must pass each rule; more failures than this reject the whole file.
MOSTLY = {
    "invalid_device_id": 0.95,
    "bad_timestamp": 0.95,
    "timestamp_outside_window": 0.90,  # a late file may carry a day of old pings; beyond that it is a wrong folder
    "missing_coordinates": 0.95,
    "outside_force_area": 0.90,
    "invalid_speed": 0.95,
    "invalid_unit_type": 0.95,
    "duplicate_ping": 0.90,  # AVL gateways re-send; half a file of repeats is a broken export
    "impossible_jump": 0.98,
}

# Reason code k (1-based, in rule order) -> reason and its check column.
CHECK_COLUMNS = {
    "invalid_device_id": "device_id_ok",
    "bad_timestamp": "timestamp_ok",
    "timestamp_outside_window": "in_time_window",
    "missing_coordinates": "coordinates_ok",
    "outside_force_area": "in_force_area",
    "invalid_speed": "speed_ok",
    "invalid_unit_type": "unit_type_ok",
    "duplicate_ping": "first_copy",
    "impossible_jump": "plausible_move",
}
REASONS = tuple(CHECK_COLUMNS)
JUMP_CODE = REASONS.index("impossible_jump") + 1
_THREAD = threading.local()

ADVICE = {
    "invalid_device_id": "Device ids must be 1-64 letters, digits or _ . : / - "
    "(check the --columns mapping for device).",
    "bad_timestamp": "Timestamps must be ISO 8601 (with or without offset; no offset = UTC) or epoch seconds.",
    "timestamp_outside_window": "The file's pings are not from its day (or the late-arrival window, "
    "settings.late_days): check the landing folder date.",
    "missing_coordinates": "Each ping needs lon/lat or easting/northing numbers (check the --columns mapping).",
    "outside_force_area": "Coordinates fall far outside the force's areas: check lon/lat order, the CRS "
    "(easting/northing = EPSG:27700) and the force.",
    "invalid_speed": "speed must be a number in km/h between 0 and settings.ping_max_speed_kmh, or empty.",
    "invalid_unit_type": "unit_type must be vehicle, foot or empty.",
    "duplicate_ping": "Many pings repeat a device and time: the export duplicated rows; export it again.",
    "impossible_jump": "Many pings jump faster than settings.ping_max_jump_kmh: positions are corrupt "
    "(projection or unit mix-up).",
}


def avl_rules() -> list[Rule]:
    """One in-set rule per check column, with the mostly threshold and the fix."""
    return [
        Rule(
            reason,
            "ExpectColumnValuesToBeInSet",
            {"column": column, "value_set": [1.0], "mostly": MOSTLY[reason]},
            ADVICE[reason],
        )
        for reason, column in CHECK_COLUMNS.items()
    ]


def check_pings(
    *,
    devices: list[str],
    device: np.ndarray,
    ts_us: np.ndarray,
    ts_ok: np.ndarray,
    easting: np.ndarray,
    northing: np.ndarray,
    speed_ok: np.ndarray,
    unit_ok: np.ndarray,
    source_row: np.ndarray,
    day: date | None,
    late_days: int,
    extent: tuple[float, float, float, float],
    margin_m: float,
    max_jump_kmh: float,
) -> np.ndarray:
    """The reason code per row of a ping file's typed columns (sql/transform/avl_typed.sql, positions by
    to_grid; the arrays are aligned row by row, any order): 0 = loaded, else the 1-based code in REASONS of the
    first rule the row fails. ``device`` indexes ``devices``; ``day`` is the folder's day (None: the day of the
    latest valid timestamp); ``extent`` is the force areas' bounding box (EPSG:27700)."""
    n = device.size
    reason = np.zeros(n, np.uint8)
    alive = np.ones(n, bool)

    def reject(code: int, ok: np.ndarray) -> None:
        failed = alive & ~ok
        reason[failed] = code
        alive[failed] = False

    pattern = re.compile(DEVICE_ID_PATTERN)
    reject(1, np.array([bool(pattern.fullmatch(d)) for d in devices], bool)[device])
    lo_us, hi_us = (_epoch_us(date(year, 1, 1)) for year in PLAUSIBLE_YEARS)
    reject(2, ts_ok & (ts_us >= lo_us) & (ts_us < hi_us))
    if day is None and alive.any():
        day = (ts_us[alive].max().astype("datetime64[us]").astype("datetime64[D]")).item()
    if day is not None:
        reject(3, (ts_us >= _epoch_us(day - timedelta(days=late_days))) & (ts_us < _epoch_us(day + timedelta(days=1))))
    reject(4, np.isfinite(easting) & np.isfinite(northing))
    xmin, ymin, xmax, ymax = extent
    reject(
        5,
        (easting >= xmin - margin_m)
        & (easting <= xmax + margin_m)
        & (northing >= ymin - margin_m)
        & (northing <= ymax + margin_m),
    )
    reject(6, speed_ok)
    reject(7, unit_ok)
    # duplicates and jumps: surviving pings by device, time, then row (the first copy in the file is kept)
    rows = np.flatnonzero(alive)
    order = rows[np.lexsort((source_row[rows], ts_us[rows], device[rows]))]
    repeat = (device[order][1:] == device[order][:-1]) & (ts_us[order][1:] == ts_us[order][:-1])
    reason[order[1:][repeat]] = 8
    kept = order[np.concatenate([[True], ~repeat])] if order.size else order
    jumps = _implausible(device[kept], ts_us[kept], easting[kept], northing[kept], max_jump_kmh)
    reason[kept[jumps]] = JUMP_CODE
    return reason


def to_grid(x_in: np.ndarray, y_in: np.ndarray, *, projected: bool) -> tuple[np.ndarray, np.ndarray]:
    """Easting and northing (EPSG:27700) of a file's coordinates: lon/lat (``projected``) transformed from WGS84
    with always_xy where within +-180/+-90, easting/northing as given; NaN where there is no position."""
    if not projected:
        return x_in.astype(np.float64), y_in.astype(np.float64)
    easting, northing = np.full(x_in.size, np.nan), np.full(x_in.size, np.nan)
    inside = (x_in >= -180) & (x_in <= 180) & (y_in >= -90) & (y_in <= 90)
    easting[inside], northing[inside] = _to_bng().transform(x_in[inside], y_in[inside])
    return easting, northing


def _epoch_us(day: date) -> int:
    return int(np.datetime64(day.isoformat(), "us").astype(np.int64))


def _to_bng() -> Any:
    """This thread's transformer (pyproj transformers are not to be shared between threads)."""
    if not hasattr(_THREAD, "to_bng"):
        from pyproj import Transformer

        _THREAD.to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    return _THREAD.to_bng


def check_columns(reasons: np.ndarray) -> pd.DataFrame:
    """GX input: one float64 column per rule, 1.0 pass, 0.0 fail, NaN where an earlier rule rejected the row
    (GX skips nulls; float64 validates about 4x faster than pandas' nullable boolean, and faster than float32)."""
    columns = {}
    for code, column in enumerate(CHECK_COLUMNS.values(), start=1):
        values = np.where(reasons == code, 0.0, 1.0)
        values[(reasons != 0) & (reasons < code)] = np.nan
        columns[column] = values
    return pd.DataFrame(columns)


@njit(cache=True)
def _implausible(dev, ts_us, x, y, max_kmh):
    """Pings that jump from the device's last kept ping faster than max_kmh and jump away again just as fast
    (a spike), or that jump and are the device's last ping. A jump followed by consistent pings is a
    relocation (signal regained) and is kept. Pings sorted by device, then time."""
    n = dev.shape[0]
    bad = np.zeros(n, np.bool_)
    last = -1
    for i in range(n):
        if i == 0 or dev[i] != dev[i - 1]:
            last = i
            continue
        dt = (ts_us[i] - ts_us[last]) / 3.6e9
        dist = np.sqrt((x[i] - x[last]) ** 2 + (y[i] - y[last]) ** 2) / 1000.0
        fast_in = dist > max_kmh * dt
        if fast_in:
            nxt = i + 1
            if nxt < n and dev[nxt] == dev[i]:
                dt2 = (ts_us[nxt] - ts_us[i]) / 3.6e9
                dist2 = np.sqrt((x[nxt] - x[i]) ** 2 + (y[nxt] - y[i]) ** 2) / 1000.0
                fast_out = dist2 > max_kmh * dt2
            else:
                fast_out = True
            if fast_out:
                bad[i] = True
                continue
        last = i
    return bad
