"""Trials with a planted truth, for testing the evaluation: place-day frames whose effect is known.

The plan is drawn with the plan's own method (hotspots.plan.day_seed and draw), so randomisation inference
re-draws it exactly as it was made. Crimes are Poisson with an area rate (gamma), a day-of-week profile and the
planted effects:
- ``rate_ratio`` on delivered days, when at least ``dose_minutes`` were delivered in the window (the planted
  dose rule: fewer minutes do nothing);
- ``carry_ratio`` on the ``carry_days`` days after such a day that had no such dose themselves (carry-over);
- ``ring_ratio`` on the ring's crimes on delivered days (above 1 displacement, below 1 diffusion).
Harm weights each crime by its category's CCHI days (hotspots.harm, the versioned weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from hotspots.harm import weight_rows
from hotspots.plan import day_seed, draw
from hotspots.settings import VIOLENCE_TYPES

DOW_PROFILE = (0.85, 0.9, 0.9, 0.95, 1.15, 1.35, 1.1)
TYPE_SHARES = {"Violence and sexual offences": 0.8, "Robbery": 0.15, "Possession of weapons": 0.05}


@dataclass(frozen=True)
class Trial:
    """A simulated trial: the place-day frame (estimators.FRAME_COLUMNS) and what was planted."""

    frame: pd.DataFrame
    force: str
    plan_seed: int
    truth: dict


def _weights() -> tuple[np.ndarray, np.ndarray]:
    cchi = {r["key"]: r["weight"] for r in weight_rows(offence_codes=False) if r["key_type"] == "crime_type"}
    types = [t for t in VIOLENCE_TYPES if t in TYPE_SHARES]
    shares = np.array([TYPE_SHARES[t] for t in types])
    return np.array([cchi[t] for t in types]), shares / shares.sum()


def simulate_trial(
    *,
    areas: int = 21,
    days: int = 90,
    k: int = 7,
    rate_ratio: float = 1.0,
    dose_minutes: float = 10.0,
    carry_ratio: float = 1.0,
    carry_days: int = 0,
    ring_ratio: float = 1.0,
    base_rate: float = 0.5,
    ring_rate: float = 0.4,
    compliance: float = 1.0,
    minute_choices: tuple[int, ...] = (10, 12, 15, 18, 20, 25),
    stray: float = 0.0,
    stray_choices: tuple[int, ...] = (3, 6, 9, 12, 16),
    seed: int = 0,
    plan_seed: int = 0,
    force: str = "sim",
    start: date = date(2025, 1, 6),
    koper_minutes: float = 10.0,
) -> Trial:
    """A randomised trial of ``areas`` hot spots over ``days`` days, ``k`` drawn a day.

    Planned hot spots are patrolled with probability ``compliance`` for one of ``minute_choices`` minutes;
    unplanned ones with probability ``stray`` for one of ``stray_choices`` (patrol outside the plan).
    """
    rng = np.random.default_rng(seed)
    codes = [f"E0{i:07d}" for i in range(areas)]
    rates = rng.gamma(4.0, base_rate / 4.0, size=areas)
    ring_rates = rng.gamma(4.0, ring_rate / 4.0, size=areas)
    weights, shares = _weights()
    dates = [start + timedelta(days=d) for d in range(days)]
    planned = np.zeros((days, areas), dtype=bool)
    for d, day in enumerate(dates):
        chosen = draw(codes, k, day_seed(plan_seed, force, day))
        planned[d, [codes.index(c) for c in chosen]] = True
    patrol = np.where(planned, rng.random((days, areas)) < compliance, rng.random((days, areas)) < stray)
    minutes = np.where(
        planned, rng.choice(minute_choices, size=(days, areas)), rng.choice(stray_choices, size=(days, areas))
    )
    minutes = np.where(patrol, minutes, 0).astype(float)
    dosed = minutes >= dose_minutes
    carry = np.zeros_like(dosed)
    if carry_days:
        for d in range(days):
            window = dosed[max(0, d - carry_days) : d].any(axis=0)
            carry[d] = window & ~dosed[d]
    multiplier = np.where(dosed, rate_ratio, np.where(carry, carry_ratio, 1.0))
    dow = np.array([DOW_PROFILE[day.weekday()] for day in dates])[:, None]
    counts = rng.poisson(rates[None, :] * dow * multiplier)
    ring = rng.poisson(ring_rates[None, :] * dow * np.where(dosed, ring_ratio, 1.0))
    harm = np.zeros(counts.shape)
    total = int(counts.sum())
    per_crime = rng.choice(weights, size=total, p=shares)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    if total:
        np.add.at(harm.reshape(-1), flat, per_crime)
    frame = pd.DataFrame(
        {
            "area_code": np.tile(codes, days),
            "date": np.repeat(pd.to_datetime(dates), areas),
            "treated": planned.ravel(),
            "window_minutes": minutes.ravel(),
            "patrol_minutes": minutes.ravel(),
            "koper_visits": (minutes >= koper_minutes).astype(int).ravel(),
            "count": counts.ravel(),
            "harm": harm.ravel(),
            "ring_count": ring.ravel(),
        }
    )
    truth = {
        "rate_ratio": rate_ratio,
        "dose_minutes": dose_minutes,
        "carry_ratio": carry_ratio,
        "carry_days": carry_days,
        "ring_ratio": ring_ratio,
    }
    return Trial(frame, force, plan_seed, truth)


def simulate_before_after(
    *,
    hotspots: int = 20,
    comparisons: int = 20,
    days_before: int = 180,
    days_after: int = 180,
    rate_ratio: float = 1.0,
    ring_ratio: float = 1.0,
    trend: float = 1.0,
    base_rate: float = 0.5,
    ring_rate: float = 0.4,
    seed: int = 0,
    start: date = date(2024, 7, 1),
) -> pd.DataFrame:
    """A non-randomised deployment: every hot spot patrolled every day of the after period; comparison areas
    never. ``trend`` multiplies every area's rate after (a change the comparison areas share)."""
    rng = np.random.default_rng(seed)
    n = hotspots + comparisons
    codes = [f"E0{i:07d}" for i in range(n)]
    hot = np.arange(n) < hotspots
    rates = rng.gamma(4.0, base_rate / 4.0, size=n)
    ring_rates = rng.gamma(4.0, ring_rate / 4.0, size=n)
    days = days_before + days_after
    dates = [start + timedelta(days=d) for d in range(days)]
    after = (np.arange(days) >= days_before)[:, None]
    dow = np.array([DOW_PROFILE[day.weekday()] for day in dates])[:, None]
    effect = np.where(after & hot[None, :], rate_ratio, 1.0) * np.where(after, trend, 1.0)
    ring_effect = np.where(after & hot[None, :], ring_ratio, 1.0) * np.where(after, trend, 1.0)
    counts = rng.poisson(rates[None, :] * dow * effect)
    ring = rng.poisson(ring_rates[None, :] * dow * ring_effect)
    weights, shares = _weights()
    harm = np.zeros(counts.shape)
    if counts.sum():
        flat = np.repeat(np.arange(counts.size), counts.ravel())
        np.add.at(harm.reshape(-1), flat, rng.choice(weights, size=int(counts.sum()), p=shares))
    return pd.DataFrame(
        {
            "area_code": np.tile(codes, days),
            "date": np.repeat(pd.to_datetime(dates), n),
            "hotspot": np.tile(hot, days),
            "after": np.repeat(after[:, 0], n),
            "count": counts.ravel(),
            "harm": harm.ravel(),
            "ring_count": ring.ravel(),
        }
    )


# Offence codes the written records use, one per simulated crime type (their CCHI weight is the harm in use).
RECORD_CODES = {"Violence and sexual offences": "5A", "Robbery": "34B", "Possession of weapons": "10C"}
CELL_M, ORIGIN = 200.0, (500_000.0, 200_000.0)


@dataclass(frozen=True)
class TrialFiles:
    """A simulated trial written as the command's inputs, and the place-day frame the files must give."""

    records: Path
    plan: Path
    areas: Path
    patrol: Path
    expected: pd.DataFrame


def write_trial_files(trial: Trial, folder: Path, *, seed: int = 0) -> TrialFiles:
    """Write a trial as force records, plan, area and patrol files.

    Areas are 200 m squares in a grid; each hot spot sits at an odd grid position, ringed by ordinary areas, so
    a ring point 20-80 m outside one hot spot is over 100 m from every other. Hot-spot crimes fall inside their
    square, ring crimes in the band around it; every crime is of the crime types selected, and its harm is its
    offence code's CCHI weight (harm_in_use with the default cchi weights).
    """
    import csv
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frame = trial.frame.sort_values(["area_code", "date"]).reset_index(drop=True)
    hot = sorted(frame["area_code"].unique())
    cols = int(np.ceil(np.sqrt(len(hot))))
    corner = {
        code: (ORIGIN[0] + (2 * (i % cols) + 1) * CELL_M, ORIGIN[1] + (2 * (i // cols) + 1) * CELL_M)
        for i, code in enumerate(hot)
    }
    features = []
    rows_n = 2 * int(np.ceil(len(hot) / cols)) + 1
    by_corner = {v: k for k, v in corner.items()}
    for gx in range(2 * cols + 1):
        for gy in range(rows_n):
            x0, y0 = ORIGIN[0] + gx * CELL_M, ORIGIN[1] + gy * CELL_M
            code = by_corner.get((x0, y0), f"X{gx:03d}{gy:03d}")
            ring = [[x0, y0], [x0 + CELL_M, y0], [x0 + CELL_M, y0 + CELL_M], [x0, y0 + CELL_M], [x0, y0]]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": code},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    areas = folder / "areas.geojson"
    areas.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": features,
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
            }
        )
    )
    weights = {r["key"]: r["weight"] for r in weight_rows() if r["key_type"] == "offence_code"}
    types = list(TYPE_SHARES)
    shares = np.array([TYPE_SHARES[t] for t in types])
    records = folder / "records.csv"
    harm = np.zeros(len(frame))
    with records.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["crime_reference", "occurred_at", "offence_code", "knife_flag", "easting", "northing"])
        ref = 0
        for i, row in frame.iterrows():
            x0, y0 = corner[row.area_code]
            day = row.date.date()
            for kind, n in (("in", int(row["count"])), ("ring", int(row["ring_count"]))):
                for _ in range(n):
                    code = RECORD_CODES[types[rng.choice(len(types), p=shares / shares.sum())]]
                    if kind == "in":
                        x, y = x0 + rng.uniform(10, CELL_M - 10), y0 + rng.uniform(10, CELL_M - 10)
                        harm[i] += weights[code]
                    else:
                        off, along, side = rng.uniform(20, 80), rng.uniform(10, CELL_M - 10), rng.integers(4)
                        x, y = [
                            (x0 - off, y0 + along),
                            (x0 + CELL_M + off, y0 + along),
                            (x0 + along, y0 - off),
                            (x0 + along, y0 + CELL_M + off),
                        ][side]
                    minute = int(rng.integers(0, 24 * 60))
                    ref += 1
                    out.writerow(
                        [
                            f"SIM/{ref:06d}",
                            f"{day}T{minute // 60:02d}:{minute % 60:02d}:00",
                            code,
                            "N",
                            f"{x:.1f}",
                            f"{y:.1f}",
                        ]
                    )
    plan = folder / "plan.csv"
    frame.assign(date=frame["date"].dt.date, planned=frame["treated"].map({True: "true", False: "false"}))[
        ["date", "area_code", "planned"]
    ].to_csv(plan, index=False)
    patrol = folder / "patrol.csv"
    delivered = frame[frame["patrol_minutes"] > 0]
    pd.DataFrame(
        {
            "area_code": delivered["area_code"],
            "date": delivered["date"].dt.date,
            "patrol_minutes": delivered["patrol_minutes"],
            "officer_minutes": delivered["patrol_minutes"],
            "visits": (delivered["patrol_minutes"] > 0).astype(int),
            "koper_visits": delivered["koper_visits"],
            "devices": 1,
            "window_minutes": delivered["window_minutes"],
        }
    ).to_csv(patrol, index=False)
    return TrialFiles(records, plan, areas, patrol, frame.assign(harm=harm))
