"""Randomisation inference: re-draw the daily plan with the plan's own method (hotspots.plan) many times.

Each re-draw is a whole plan as ``make_plan`` would draw it under another plan seed: every day's seed is
``plan.day_seed(seed_r, force, day)`` and its hot spots ``plan.draw(pool, k, seed)``, with the day's own list and
k. The test statistic is the area-stratified (Mantel-Haenszel) rate ratio of treated against control
place-days, cheap enough for thousands of re-draws; day-of-week effects cancel because every day has its k.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterator

import numpy as np
import pandas as pd

from hotspots.plan import day_seed, draw


@dataclass(frozen=True)
class Matrices:
    """A place-day frame as day x area matrices (areas and days sorted)."""

    areas: tuple[str, ...]
    days: tuple[date, ...]
    present: np.ndarray  # bool (D, A): the area was on the day's list
    treated: np.ndarray  # bool (D, A): drawn for patrol that day
    outcomes: dict[str, np.ndarray]  # float (D, A), 0 where not present


def matrices(frame: pd.DataFrame, outcomes: list[str]) -> Matrices:
    areas = tuple(sorted(frame["area_code"].unique()))
    days = tuple(sorted(pd.to_datetime(frame["date"]).dt.date.unique()))
    a = pd.Index(areas).get_indexer(frame["area_code"])
    d = pd.Index(days).get_indexer(pd.to_datetime(frame["date"]).dt.date)
    present = np.zeros((len(days), len(areas)), dtype=bool)
    present[d, a] = True
    treated = np.zeros_like(present)
    treated[d, a] = frame["treated"].to_numpy(dtype=bool)
    values = {}
    for name in outcomes:
        m = np.zeros(present.shape, dtype=np.float64)
        m[d, a] = frame[name].to_numpy(dtype=np.float64)
        values[name] = m
    return Matrices(areas, days, present, treated, values)


def replicate_seeds(n: int, seed: int) -> list[int]:
    """n plan seeds for the re-draws (63-bit, from numpy's SeedSequence of the evaluation seed)."""
    state = np.random.SeedSequence(seed).generate_state(n, dtype=np.uint64)
    return [int(s >> np.uint64(1)) for s in state]


@dataclass(frozen=True)
class Design:
    """What the plan was drawn from, per day: the day's list of hot spots (sorted) and its k."""

    days: tuple[date, ...]
    pools: tuple[tuple[str, ...], ...]
    ks: tuple[int, ...]
    index: dict[str, int]
    shape: tuple[int, int]

    @classmethod
    def of(cls, m: Matrices) -> "Design":
        pools = tuple(tuple(m.areas[i] for i in np.flatnonzero(row)) for row in m.present)
        ks = tuple(int(k) for k in m.treated.sum(axis=1))
        return cls(m.days, pools, ks, {c: i for i, c in enumerate(m.areas)}, m.present.shape)


def draw_plan(design: Design, plan_seed: int, force: str) -> np.ndarray:
    """The plan (D, A) that ``make_plan`` draws under ``plan_seed``: each day's list and k, plan.day_seed and
    plan.draw (the one owner of the draw)."""
    out = np.zeros(design.shape, dtype=bool)
    index = design.index
    for d, day in enumerate(design.days):
        if design.ks[d]:
            chosen = draw(design.pools[d], design.ks[d], day_seed(plan_seed, force, day))
            out[d, [index[c] for c in chosen]] = True
    return out


def redraws(m: Matrices, seeds: list[int], *, force: str, chunk: int = 100) -> Iterator[np.ndarray]:
    """Re-drawn treatment matrices (r, D, A), one per plan seed, ``chunk`` plans at a time."""
    design = Design.of(m)
    for lo in range(0, len(seeds), chunk):
        yield np.stack([draw_plan(design, s, force) for s in seeds[lo : lo + chunk]])


def mh_ratio(y_t: np.ndarray, n_t: np.ndarray, y_c: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Mantel-Haenszel rate ratio over areas (last axis): sum(yT nC / n) / sum(yC nT / n)."""
    n = n_t + n_c
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.where(n > 0, y_t * n_c / np.where(n > 0, n, 1), 0).sum(axis=-1)
        bottom = np.where(n > 0, y_c * n_t / np.where(n > 0, n, 1), 0).sum(axis=-1)
        return top / bottom


def area_sums(treated: np.ndarray, present: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-area yT, nT, yC, nC for treatment arrays (..., D, A)."""
    t = treated.astype(np.float64)
    n_t = t.sum(axis=-2)
    n_all = present.sum(axis=0).astype(np.float64)
    y_t = (t * y).sum(axis=-2)
    return y_t, n_t, y.sum(axis=0) - y_t, n_all - n_t


def _extreme_counts(m: Matrices, seeds: list[int], force: str, bounds: np.ndarray) -> np.ndarray:
    """For each outcome, how many re-draws give |log ratio| >= its bound (the observed |log ratio|)."""
    stacked = np.stack([m.outcomes[k] for k in m.outcomes])
    n_all = m.present.sum(axis=0).astype(np.float64)
    y_all = stacked.sum(axis=1)  # (O, A)
    counts = np.zeros(len(m.outcomes), dtype=np.int64)
    for block in redraws(m, seeds, force=force):
        t = block.astype(np.float64)
        n_t = t.sum(axis=1)  # (r, A)
        y_t = np.einsum("rda,oda->roa", t, stacked, optimize=True)  # (r, O, A)
        ratios = mh_ratio(y_t, n_t[:, None, :], y_all[None] - y_t, (n_all - n_t)[:, None, :])  # (r, O)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.abs(np.log(ratios))
        counts += np.sum(logs >= bounds[None, :] - 1e-12, axis=0)
    return counts


def randomisation_p(
    m: Matrices, *, n: int, seed: int, force: str, workers: int = 1
) -> tuple[dict[str, float | None], dict[str, float]]:
    """Two-sided randomisation p-value of each outcome's MH rate ratio, (1 + #{|log r| >= |log obs|}) / (1 + n)
    over n re-drawn plans; also the observed ratios. An outcome with no events on an arm gets p None.
    ``workers`` > 1 shares the re-draws among that many processes (the same seeds, the same answer)."""
    observed = {k: float(mh_ratio(*area_sums(m.treated, m.present, y))) for k, y in m.outcomes.items()}
    valid = {k: bool(np.isfinite(v) and v > 0) for k, v in observed.items()}
    bounds = np.array([abs(np.log(observed[k])) if valid[k] else np.inf for k in m.outcomes])
    seeds = replicate_seeds(n, seed)
    if workers > 1 and n >= 2 * workers:
        from concurrent.futures import ProcessPoolExecutor

        parts = [seeds[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            counts = sum(pool.map(_extreme_counts, [m] * workers, parts, [force] * workers, [bounds] * workers))
    else:
        counts = _extreme_counts(m, seeds, force, bounds)
    p = {k: ((1 + int(c)) / (1 + n) if valid[k] else None) for k, c in zip(m.outcomes, counts)}
    return p, observed
