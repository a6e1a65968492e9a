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
    return pd.DataFrame(
        {
            "area_code": np.tile(codes, days),
            "date": np.repeat(pd.to_datetime(dates), n),
            "hotspot": np.tile(hot, days),
            "after": np.repeat(after[:, 0], n),
            "count": counts.ravel(),
            "ring_count": ring.ravel(),
        }
    )
