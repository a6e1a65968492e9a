"""Pings -> presence intervals -> daily patrol minutes, visits, Koper visits and the longest visit inside the
patrol window per area (docs/patrol.md).

The pure core used by the DAG, the CLI and the benchmark. Times are handled as int64 microseconds (UTC), so
sums are exact; minutes are produced only at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from hotspots.patrol import kernels
from hotspots.patrol.grid import AreaIndex

OUTPUT_COLUMNS = [
    "area_code",
    "date",
    "patrol_minutes",
    "officer_minutes",
    "visits",
    "koper_visits",
    "devices",
    "window_minutes",
    "longest_visit_minutes",
]
US_PER_MINUTE = 60_000_000
# One presence interval may cross at most one local midnight (shortest local day: 23 h).
MAX_GAP_LIMIT_S = 22 * 3600


# PatrolParams field -> the Settings field that defines it (docs/settings.md): Settings is the one owner.
SETTING_OF = {
    "buffer_m": "buffer_m",
    "max_gap_s": "max_gap_s",
    "max_speed_kmh": "max_speed_kmh",
    "koper_minutes": "koper_minutes",
    "timezone": "timezone",
    "window_start": "patrol_window_start",
    "window_end": "patrol_window_end",
}


@dataclass(frozen=True)
class PatrolParams:
    """The knobs of docs/patrol.md as the kernels take them; build with from_settings (no defaults here)."""

    buffer_m: float
    max_gap_s: float
    max_speed_kmh: float | None
    koper_minutes: float
    timezone: str
    window_start: time
    window_end: time

    def __post_init__(self) -> None:
        if not 0 < self.max_gap_s <= MAX_GAP_LIMIT_S:
            raise ValueError(f"max_gap_s must be in (0, {MAX_GAP_LIMIT_S}] seconds, got {self.max_gap_s}.")
        ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "PatrolParams":
        """The settings' values; ``overrides`` (PatrolParams field names) replace some of them and are checked by
        the settings' own rules (e.g. buffer_m >= 0)."""
        unknown = sorted(set(overrides) - set(SETTING_OF))
        if unknown:
            raise TypeError(f"not a patrol parameter: {', '.join(unknown)}; use {', '.join(SETTING_OF)}.")
        if overrides:
            update = {SETTING_OF[name]: value for name, value in overrides.items()}
            settings = type(settings).model_validate(settings.model_dump() | update)
        return cls(**{name: getattr(settings, setting) for name, setting in SETTING_OF.items()})

    @property
    def gap_us(self) -> int:
        return int(round(self.max_gap_s * 1_000_000))

    @property
    def speed_limit(self) -> float:
        return np.inf if self.max_speed_kmh is None else float(self.max_speed_kmh)


@dataclass(frozen=True)
class Days:
    """Local days covering a time range: midnights[n+1] (UTC us) and patrol-window ranges win[n, 2, (lo, hi)]."""

    first: date
    midnights: np.ndarray
    win: np.ndarray

    @property
    def count(self) -> int:
        return len(self.midnights) - 1

    def date(self, index: int) -> date:
        return self.first + timedelta(days=int(index))


def _utc_us(day: date, at: time, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, at, tzinfo=tz).timestamp()) * 1_000_000


def local_days(first: date, last: date, params: PatrolParams) -> Days:
    """Local midnights and patrol windows for the days first..last (window end 00:00 = midnight; an end
    before the start wraps: the day's window is 00:00-end plus start-24:00)."""
    tz = ZoneInfo(params.timezone)
    n = (last - first).days + 1
    days = [first + timedelta(days=k) for k in range(n + 1)]
    midnights = np.array([_utc_us(d, time(0), tz) for d in days], dtype=np.int64)
    win = np.zeros((n, 2, 2), dtype=np.int64)
    for k in range(n):
        start = _utc_us(days[k], params.window_start, tz)
        if params.window_end == time(0):
            win[k, 0] = (start, midnights[k + 1])
        elif params.window_end > params.window_start:
            win[k, 0] = (start, _utc_us(days[k], params.window_end, tz))
        else:
            win[k, 0] = (midnights[k], _utc_us(days[k], params.window_end, tz))
            win[k, 1] = (start, midnights[k + 1])
    return Days(first, midnights, win)


def local_date_of(ts_us: int, tz: str) -> date:
    return datetime.fromtimestamp(ts_us / 1_000_000, ZoneInfo(tz)).date()


@dataclass
class PingArrays:
    """Pings in time order: device code, time (UTC us), easting, northing, reported speed (NaN = none)."""

    dev: np.ndarray
    ts: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed: np.ndarray
    n_dev: int

    @classmethod
    def from_input(cls, pings: Any) -> "PingArrays":
        """From a DataFrame or mapping with device_key, ts, easting, northing and optional speed_kmh."""
        cols = pings if isinstance(pings, Mapping) else {c: pings[c] for c in pings.columns}
        missing = {"device_key", "ts", "easting", "northing"} - set(cols)
        if missing:
            raise ValueError(
                f"pings lack column(s) {sorted(missing)}: need device_key, ts, easting, northing[, speed_kmh]."
            )
        dev = np.asarray(cols["device_key"])
        if dev.dtype.kind in "iu" and (dev.size == 0 or (dev.min() >= 0 and dev.max() < 4 * dev.size + 1024)):
            n_dev = int(dev.max()) + 1 if dev.size else 0
            dev = dev.astype(np.int32, copy=False)
        else:
            codes, uniques = pd.factorize(dev)
            dev, n_dev = codes.astype(np.int32), len(uniques)
        ts = to_us(cols["ts"])
        x = np.asarray(cols["easting"], dtype=np.float64)
        y = np.asarray(cols["northing"], dtype=np.float64)
        speed = cols.get("speed_kmh")
        if speed is None:
            speed = np.full(len(ts), np.nan)
        elif isinstance(speed, np.ndarray) and speed.dtype == np.float64:
            pass
        else:
            speed = pd.to_numeric(pd.Series(speed), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if not kernels.is_sorted(ts):
            order = np.argsort(ts, kind="stable")
            dev, ts, x, y, speed = dev[order], ts[order], x[order], y[order], speed[order]
        return cls(dev, ts, x, y, speed, n_dev)


def to_us(values: Any) -> np.ndarray:
    """UTC microseconds since the epoch from datetime64 (naive = UTC), tz-aware datetimes or epoch seconds."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return values.astype("datetime64[us]").view(np.int64)
    series = pd.Series(values)
    if series.dtype.kind in "iuf":
        return np.round(series.to_numpy(dtype=np.float64) * 1_000_000).astype(np.int64)
    parsed = pd.to_datetime(series, utc=True)
    return parsed.dt.tz_localize(None).to_numpy().astype("datetime64[us]").view(np.int64)


def ping_days(p: PingArrays, params: PatrolParams) -> Days:
    """The local days the pings' presence can fall on (the last interval may run past the last ping)."""
    first = local_date_of(int(p.ts[0]), params.timezone)
    last = local_date_of(int(p.ts[-1]) + params.gap_us, params.timezone)
    return local_days(first, last, params)


def koper_us(params: PatrolParams) -> int:
    return int(round(params.koper_minutes * US_PER_MINUTE))


def locate(
    p: PingArrays, index: AreaIndex, days: Days, params: PatrolParams, *, chunks: int | None = None
) -> tuple[np.ndarray, ...]:
    """Pass 1 (kernels.close_and_locate): (end, found, hits, records), each ping's presence end and its area
    candidates. ``chunks`` time chunks run in parallel (default: kernels.chunk_count for the ping count)."""
    n_dev = max(p.n_dev, 1)
    width = max(n_dev, len(index.codes) * days.count * ((n_dev + 63) // 64 + 1))
    end = np.empty(p.ts.size, np.int64)
    found = np.empty(p.ts.size, np.int32)
    hits = np.empty(p.ts.size, np.uint32)
    records = kernels.close_and_locate(
        p.dev,
        n_dev,
        p.ts,
        p.x,
        p.y,
        p.speed,
        params.gap_us,
        params.speed_limit,
        index.grid,
        index.shape,
        index.buffer_m,
        kernels.chunk_count(p.ts.size, width) if chunks is None else chunks,
        end,
        found,
        hits,
    )
    return end, found, hits, records


def fast_figures(
    p: PingArrays, index: AreaIndex, days: Days, params: PatrolParams, *, chunks: int | None = None
) -> tuple[np.ndarray, ...]:
    """(patrol, officer, visits, koper, devices, window, longest) per (area, day) in microseconds or counts: pass 1
    (``locate``) then passes 2-3 (kernels.daily_figures)."""
    end, found, hits, records = locate(p, index, days, params, chunks=chunks)
    return kernels.daily_figures(
        p.ts,
        end,
        p.dev,
        p.x,
        p.y,
        found,
        hits,
        records,
        len(index.codes),
        max(p.n_dev, 1),
        index.max_per_cell,
        index.grid,
        index.shape,
        index.buffer_m,
        days.midnights,
        days.win,
        koper_us(params),
    )


def figures_frame(figures: tuple[np.ndarray, ...], codes: Sequence[str], days: Days) -> pd.DataFrame:
    """OUTPUT_COLUMNS, one row per (area, day) with presence, from the per-(area, day) arrays."""
    patrol, officer, visits, koper, devices, window, longest = figures
    a_idx, d_idx = np.nonzero(officer > 0)
    if a_idx.size == 0:
        return empty_result()
    return pd.DataFrame(
        {
            "area_code": np.asarray(codes, dtype=object)[a_idx],
            "date": [days.date(d) for d in d_idx],
            "patrol_minutes": patrol[a_idx, d_idx] / US_PER_MINUTE,
            "officer_minutes": officer[a_idx, d_idx] / US_PER_MINUTE,
            "visits": visits[a_idx, d_idx],
            "koper_visits": koper[a_idx, d_idx],
            "devices": devices[a_idx, d_idx],
            "window_minutes": window[a_idx, d_idx] / US_PER_MINUTE,
            "longest_visit_minutes": longest[a_idx, d_idx] / US_PER_MINUTE,
        }
    ).sort_values(["area_code", "date"], ignore_index=True)


def empty_result() -> pd.DataFrame:
    frame = pd.DataFrame(
        {c: pd.Series(dtype=object if c in ("area_code", "date") else "float64") for c in OUTPUT_COLUMNS}
    )
    return frame.astype({"visits": "int64", "koper_visits": "int64", "devices": "int64"})


def patrol_minutes(
    pings: Any,
    areas: Sequence[tuple[str, Any]] | AreaIndex,
    params: PatrolParams,
) -> pd.DataFrame:
    """Daily patrol per area: columns OUTPUT_COLUMNS, one row per (area, local date) with presence.

    pings: DataFrame or mapping of arrays [device_key, ts, easting, northing, speed_kmh]; areas: list of
    (area_code, shapely geometry in EPSG:27700), or a prebuilt AreaIndex for the same buffer; params:
    PatrolParams.from_settings(settings).
    """
    index = areas if isinstance(areas, AreaIndex) else AreaIndex.build(list(areas), params.buffer_m)
    if index.buffer_m != params.buffer_m:
        raise ValueError(f"AreaIndex built for buffer {index.buffer_m} m, params ask for {params.buffer_m} m.")
    p = pings if isinstance(pings, PingArrays) else PingArrays.from_input(pings)
    if p.ts.size == 0:
        return empty_result()
    days = ping_days(p, params)
    return figures_frame(fast_figures(p, index, days, params), index.codes, days)
