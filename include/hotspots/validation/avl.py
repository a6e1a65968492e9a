"""Expectation suite for AVL / radio GPS ping files (docs/patrol.md, "Validation").

The suite runs on derived columns only, never on raw device ids (officer GPS is personal data, and GX data
docs show failing values): each check column holds True/False for rows it judges and null for rows an earlier
rule already rejects, so a row fails at most one rule (GX skips nulls). Order: device id -> timestamp ->
time window -> coordinates -> force area -> speed -> unit type -> duplicate -> impossible jump.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from numba import njit

from hotspots.validation.core import Rule

DEVICE_ID_REGEX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
UNIT_TYPES = ("vehicle", "foot")
MAX_JUMP_KMH = 200.0  # faster than any patrol car between two pings: a GPS glitch
MAX_SPEED_KMH = 300.0  # a reported speed above this (or negative) is a sensor fault
AREA_MARGIN_M = 5000.0  # pings this far beyond the force's areas' bounding box are misplaced (not a border patrol)

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

ADVICE = {
    "invalid_device_id": "Device ids must be 1-64 letters, digits or _ . : / - (check the --columns mapping for device).",
    "bad_timestamp": "Timestamps must be ISO 8601 (with or without offset; no offset = UTC) or epoch seconds.",
    "timestamp_outside_window": "The file's pings are not from its day (or the late-arrival window, settings.late_days): check the landing folder date.",
    "missing_coordinates": "Each ping needs lon/lat or easting/northing numbers (check the --columns mapping).",
    "outside_force_area": "Coordinates fall far outside the force's areas: check lon/lat order, the CRS (easting/northing = EPSG:27700) and the force.",
    "invalid_speed": "speed must be a number in km/h between 0 and 300, or empty.",
    "invalid_unit_type": "unit_type must be vehicle, foot or empty.",
    "duplicate_ping": "Many pings repeat a device and time: the export duplicated rows; export it again.",
    "impossible_jump": "Many pings jump faster than 200 km/h: positions are corrupt (projection or unit mix-up).",
}


def avl_rules() -> list[Rule]:
    """One in-set rule per check column, with the mostly threshold and the fix."""
    return [
        Rule(reason, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True], "mostly": MOSTLY[reason]}, ADVICE[reason])
        for reason, column in CHECK_COLUMNS.items()
    ]


def judged(ok: pd.Series, alive: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(check column: the verdict where alive else null, rows still alive after this rule)."""
    column = ok.astype(object).where(alive, None)
    return column, alive & ok


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


def plausible_moves(device: pd.Series, ts: pd.Series, x: pd.Series, y: pd.Series) -> pd.Series:
    """False for pings that are impossible jumps (see _implausible), True otherwise; same index."""
    frame = pd.DataFrame({"d": pd.factorize(device)[0], "t": ts.to_numpy("datetime64[us]").view("int64"), "x": x, "y": y})
    order = np.lexsort((frame["t"].to_numpy(), frame["d"].to_numpy()))
    bad = _implausible(
        frame["d"].to_numpy()[order], frame["t"].to_numpy()[order],
        frame["x"].to_numpy("float64")[order], frame["y"].to_numpy("float64")[order], MAX_JUMP_KMH,
    )
    ok = np.ones(len(frame), bool)
    ok[order[bad]] = False
    return pd.Series(ok, index=device.index)
