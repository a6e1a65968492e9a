"""Estimators of a hot-spot patrol trial, on a place-day frame (one row per hot spot per day).

Frame columns (FRAME_COLUMNS): area_code, date, treated (drawn in the day's plan), window_minutes (delivered
minutes inside the patrol window), patrol_minutes (whole day), koper_visits, count (crimes counted), harm (their
CCHI weight under settings.harm_weights), ring_count (crimes in the displacement ring around the hot spot).

- Intention to treat: count and prevalence by the Poisson model with area and day-of-week effects (models.py),
  harm by the area-stratified rate ratio with a cluster (area) bootstrap interval (scipy.stats.bootstrap);
  every p-value by randomisation inference (inference.py).
- Dose-response: delivered window minutes in bins whose edges are the Koper visit length and the daily target
  (settings.koper_minutes, settings.target_minutes: 0, 1-9, 10-14, 15+ by default) and Koper visits (0, 1, 2+),
  each bin against place-days with no patrol in the window. Not randomised: read it as per protocol.
- Carry-over: patrolled days by consecutive patrolled days (1, 2, 3+) and unpatrolled days by days since the last
  patrol (1, 2, 3), each against unpatrolled days 4+ days after the last patrol (or never patrolled): the
  wash-out reference (Sherman 2022; settings.alarm_days = 3 sets the 3).
- Displacement: ring crimes on treated against control days (the same count model).
- Before/after designs (every hot spot every day): difference in differences against matched comparison areas,
  with WDQ (Bowers and Johnson 2003) and WDD (Wheeler and Ratcliffe 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hotspots.evaluation import inference
from hotspots.evaluation.models import poisson_fe

FRAME_COLUMNS = (
    "area_code",
    "date",
    "treated",
    "window_minutes",
    "patrol_minutes",
    "koper_visits",
    "count",
    "harm",
    "ring_count",
)
EMPTY = {"rate_ratio": None, "ci_low": None, "ci_high": None, "p_value": None}


@dataclass(frozen=True)
class Options:
    """What the estimators read from settings (hotspots.settings: the one owner of each number)."""

    redraws: int = 2000
    seed: int = 0
    force: str = "cli"
    koper_minutes: float = 10.0
    target_minutes: float = 15.0
    alarm_days: int = 3
    ring_m: float = 100.0
    workers: int = 1

    @classmethod
    def from_settings(cls, settings, *, force: str, redraws: int | None = None) -> "Options":
        return cls(
            redraws=settings.evaluation_redraws if redraws is None else redraws,
            seed=settings.evaluation_seed,
            force=force,
            koper_minutes=settings.koper_minutes,
            target_minutes=settings.target_minutes,
            alarm_days=settings.alarm_days,
            ring_m=settings.displacement_ring_m,
            workers=settings.evaluation_workers,
        )


def _clean(d: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) and np.isfinite(v) else v) for k, v in d.items()}


def count_model(frame: pd.DataFrame, outcome: str, terms: list[str]) -> dict[str, dict]:
    """Rate ratio of each 0/1 term column on `outcome`, with area and day-of-week effects, clustered by area."""
    f = frame.assign(_dow=pd.to_datetime(frame["date"]).dt.dayofweek)
    cells = f.groupby(["area_code", "_dow", *terms], observed=True).agg(y=(outcome, "sum"), n=(outcome, "size"))
    cells = cells.reset_index()
    dows = [d for d in sorted(cells["_dow"].unique())][1:]
    columns = [cells[t].to_numpy(dtype=float) for t in terms] + [(cells["_dow"] == d).to_numpy(float) for d in dows]
    names = list(terms) + [f"dow_{d}" for d in dows]
    x = np.column_stack(columns) if columns else np.zeros((len(cells), 0))
    fit = poisson_fe(cells["y"].to_numpy(), cells["n"].to_numpy(), x, cells["area_code"].to_numpy(), names)
    return {t: fit.ratio(t) for t in terms}


def harm_ratio(m: inference.Matrices, *, resamples: int, seed: int) -> dict:
    """Area-stratified harm rate ratio, treated against control, with a 95% percentile interval from a bootstrap
    over areas (clusters), scipy.stats.bootstrap."""
    y_t, n_t, y_c, n_c = inference.area_sums(m.treated, m.present, m.outcomes["harm"])
    point = float(inference.mh_ratio(y_t, n_t, y_c, n_c))
    if not np.isfinite(point) or len(m.areas) < 2:
        return dict(EMPTY)

    def statistic(idx, axis=-1):
        idx = np.asarray(idx, dtype=int)
        return inference.mh_ratio(y_t[idx], n_t[idx], y_c[idx], n_c[idx])

    res = stats.bootstrap(
        (np.arange(len(m.areas)),),
        statistic,
        n_resamples=max(resamples, 100),
        vectorized=True,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = res.confidence_interval
    return {"rate_ratio": point, "ci_low": float(low), "ci_high": float(high)}


def itt(frame: pd.DataFrame, opts: Options) -> tuple[dict, inference.Matrices]:
    """Intention to treat for count, harm and prevalence (plus the ring, for displacement)."""
    f = frame.assign(any_crime=(frame["count"] > 0).astype(float), treated_i=frame["treated"].astype(float))
    m = inference.matrices(f, ["count", "harm", "any_crime", "ring_count"])
    p, observed = inference.randomisation_p(m, n=opts.redraws, seed=opts.seed, force=opts.force, workers=opts.workers)
    count = count_model(f, "count", ["treated_i"])["treated_i"]
    prevalence = count_model(f, "any_crime", ["treated_i"])["treated_i"]
    ring = count_model(f, "ring_count", ["treated_i"])["treated_i"]
    harm = harm_ratio(m, resamples=opts.redraws, seed=opts.seed)
    out = {}
    for name, est, key, method in (
        ("count", count, "count", "Poisson, area and day-of-week effects, SE clustered by area"),
        ("harm", harm, "harm", "area-stratified ratio, bootstrap over areas"),
        ("prevalence", prevalence, "any_crime", "Poisson (relative risk), area and day-of-week effects"),
        ("ring", ring, "ring_count", "Poisson, area and day-of-week effects, SE clustered by area"),
    ):
        row = {k: est.get(k) for k in ("rate_ratio", "ci_low", "ci_high")}
        row["p_value"] = p[key]
        row["wald_p"] = est.get("p_value")
        row["stratified_ratio"] = observed[key] if np.isfinite(observed[key]) else None
        row["method"] = method + f"; p by randomisation inference ({opts.redraws} re-draws of the plan)"
        out[name] = _clean(row)
    return out, m


def minute_bins(opts: Options) -> list[tuple[int, int | None]]:
    """(min_minutes, max_minutes) of the dose bins in whole delivered minutes: 0, 1..koper-1, koper..target-1,
    target+ (defaults 0, 1-9, 10-14, 15+)."""
    koper, target = int(np.ceil(opts.koper_minutes)), int(np.ceil(opts.target_minutes))
    edges = sorted({1, max(koper, 1), max(target, 1)})
    bins: list[tuple[int, int | None]] = [(0, 0)]
    for lo, hi in zip(edges, edges[1:]):
        bins.append((lo, hi - 1))
    bins.append((edges[-1], None))
    return bins


def _binned(
    frame: pd.DataFrame, values: pd.Series, bins: list[tuple[int, int | None]], prefix: str, unit: str
) -> list[dict]:
    cols = {}
    for lo, hi in bins[1:]:
        name = f"{prefix}_{lo}"
        cols[name] = ((values >= lo) & ((values <= hi) if hi is not None else True)).astype(float)
    f = frame.assign(**cols)
    fits = count_model(f, "count", list(cols))
    rows = [
        {f"min_{unit}": 0, f"max_{unit}": 0, "place_days": int((values == 0).sum()), "rate_ratio": 1.0}
        | {"ci_low": None, "ci_high": None, "p_value": None, "reference": True}
    ]
    for (lo, hi), name in zip(bins[1:], cols):
        est = fits[name]
        rows.append(
            _clean(
                {f"min_{unit}": lo, f"max_{unit}": hi, "place_days": int(f[name].sum())}
                | {k: est.get(k) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")}
            )
        )
    return rows


def dose_response(frame: pd.DataFrame, opts: Options) -> tuple[list[dict], list[dict]]:
    """Crime count by delivered window minutes (bins) and by Koper visits (0, 1, 2+), each against no patrol."""
    minutes = np.floor(frame["window_minutes"].astype(float)).astype(int)
    by_minutes = _binned(frame, minutes, minute_bins(opts), "dose", "minutes")
    visits = frame["koper_visits"].astype(int)
    by_koper = _binned(frame, visits, [(0, 0), (1, 1), (2, None)], "koper", "visits")
    return by_minutes, by_koper


def carry_over_columns(frame: pd.DataFrame, patrolled: pd.Series) -> pd.DataFrame:
    """streak (consecutive patrolled days ending on the day, 0 when unpatrolled) and days_since (days since the
    last patrolled day, for unpatrolled days; NaN when never patrolled), per area over calendar days."""
    f = frame.assign(_p=patrolled.to_numpy(bool), _d=pd.to_datetime(frame["date"]))
    f = f.sort_values(["area_code", "_d"])
    streak = np.zeros(len(f), dtype=int)
    since = np.full(len(f), np.nan)
    for _, idx in f.groupby("area_code", sort=False).indices.items():
        days = f["_d"].to_numpy()[idx].astype("datetime64[D]").astype(np.int64)
        flags = f["_p"].to_numpy()[idx]
        last, run, prev = None, 0, None
        for j, (day, flag) in enumerate(zip(days, flags)):
            if flag:
                run = run + 1 if (prev is not None and day - prev == 1 and run > 0) else 1
                last = day
            else:
                run = 0
                if last is not None:
                    since[idx[j]] = day - last
            streak[idx[j]] = run
            prev = day
    return f.assign(streak=streak, days_since=since).drop(columns=["_p", "_d"])


def carry_over(frame: pd.DataFrame, opts: Options, *, delivered: bool) -> dict:
    """Rate ratios by consecutive patrolled days and by days since the last patrol, against the wash-out days."""
    patrolled = frame["window_minutes"] > 0 if delivered else frame["treated"].astype(bool)
    f = carry_over_columns(frame, patrolled)
    top = max(int(opts.alarm_days), 1)
    cols, labels = {}, {}
    for s in range(1, top + 1):
        name = f"streak_{s}"
        cols[name] = ((f["streak"] >= s) if s == top else (f["streak"] == s)).astype(float)
        labels[name] = ("consecutive_patrol_days", s, s == top)
    for s in range(1, top + 1):
        name = f"since_{s}"
        cols[name] = (f["days_since"] == s).astype(float)
        labels[name] = ("days_since_patrol", s, False)
    f = f.assign(**cols)
    fits = count_model(f, "count", list(cols))
    out: dict = {
        "patrolled_by": "delivered minutes in the window" if delivered else "the plan (no patrol data)",
        "reference": f"unpatrolled place-days {top + 1}+ days after the last patrol, or never patrolled",
        "reference_place_days": int(((f["streak"] == 0) & ~(f["days_since"] <= top)).sum()),
        "consecutive_patrol_days": [],
        "days_since_patrol": [],
    }
    for name, (group, s, plus) in labels.items():
        est = fits[name]
        out[group].append(
            _clean(
                {"days": s, "or_more": plus, "place_days": int(f[name].sum())}
                | {k: est.get(k) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")}
            )
        )
    return out


def displacement(ring: dict, opts: Options, ring_crimes: int) -> dict:
    """The ring's ITT ratio read as displacement (ratio above 1) or diffusion of benefits (below 1) when its
    randomisation p-value is at most 0.05; otherwise none detected."""
    finding = "none detected"
    if ring.get("p_value") is not None and ring["p_value"] <= 0.05 and ring.get("rate_ratio") is not None:
        finding = "displacement" if ring["rate_ratio"] > 1 else "diffusion of benefits"
    return {"ring_m": opts.ring_m, "ring_crimes": ring_crimes, "finding": finding} | {
        k: ring.get(k) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")
    }


def wdq_wdd(t0: float, t1: float, c0: float, c1: float, d0: float, d1: float, cd0: float, cd1: float) -> dict:
    """WDQ (Bowers and Johnson 2003) and WDD with its Poisson standard error (Wheeler and Ratcliffe 2018).

    T target (hot spots), D their rings, C comparison areas, CD the comparison rings; 0 before, 1 after.
    """
    success = (t1 / c1 - t0 / c0) if c0 > 0 and c1 > 0 else None
    buffer = (d1 / c1 - d0 / c0) if c0 > 0 and c1 > 0 else None
    wdq = buffer / success if success not in (None, 0) and buffer is not None else None
    wdd = (t1 - t0) - (c1 - c0) + (d1 - d0) - (cd1 - cd0)
    se = float(np.sqrt(t0 + t1 + c0 + c1 + d0 + d1 + cd0 + cd1))
    z = wdd / se if se > 0 else None
    return {
        "counts": {"T0": t0, "T1": t1, "C0": c0, "C1": c1, "D0": d0, "D1": d1, "CD0": cd0, "CD1": cd1},
        "success_measure": success,
        "buffer_measure": buffer,
        "wdq": wdq,
        "wdd": float(wdd),
        "wdd_se": se,
        "wdd_z": z,
        "wdd_p_value": float(2 * stats.norm.sf(abs(z))) if z is not None else None,
    }


def match_comparisons(before_harm: pd.Series, hotspots: list[str], per_hotspot: int = 1) -> dict[str, list[str]]:
    """For each hot spot, the unselected areas nearest to it in harm rank before the deployment (harm desc,
    area_code asc), each used once: areas of similar harm that were not selected."""
    ranked = before_harm.rename_axis("area_code").reset_index(name="harm")
    ranked = ranked.sort_values(["harm", "area_code"], ascending=[False, True]).reset_index(drop=True)
    rank = {code: i for i, code in enumerate(ranked["area_code"])}
    chosen = set(hotspots)
    free = [c for c in ranked["area_code"] if c not in chosen]
    out: dict[str, list[str]] = {}
    for code in sorted(hotspots, key=lambda c: rank.get(c, len(rank))):
        r = rank.get(code, len(rank))
        picks = sorted(free, key=lambda c: (abs(rank[c] - r), rank[c]))[:per_hotspot]
        out[code] = picks
        free = [c for c in free if c not in picks]
    return out


def difference_in_differences(panel: pd.DataFrame) -> dict:
    """Before/after against comparison areas: Poisson with area and day-of-week effects, an after-period effect,
    and the hotspot x after interaction whose exp is the rate ratio; SE clustered by area. Harm is fitted by
    the same Poisson pseudo-likelihood (valid for any non-negative outcome with robust errors); p-values are
    Wald (nothing was randomised).

    panel: area_code, date, hotspot (bool), after (bool), count, ring_count, and optionally harm.
    """
    f = panel.assign(
        after_i=panel["after"].astype(float),
        did=(panel["after"] & panel["hotspot"]).astype(float),
        any_crime=(panel["count"] > 0).astype(float),
    )
    outcomes = {"count": "count", "harm": "harm", "prevalence": "any_crime", "ring": "ring_count"}
    fits = {
        name: (count_model(f, column, ["did", "after_i"])["did"] if column in f.columns else dict(EMPTY))
        for name, column in outcomes.items()
    }
    sums = f.groupby(["hotspot", "after"])[["count", "ring_count"]].sum()

    def cell(hot: bool, after: bool, col: str) -> float:
        return float(sums[col].get((hot, after), 0.0))

    measures = wdq_wdd(
        cell(True, False, "count"),
        cell(True, True, "count"),
        cell(False, False, "count"),
        cell(False, True, "count"),
        cell(True, False, "ring_count"),
        cell(True, True, "ring_count"),
        cell(False, False, "ring_count"),
        cell(False, True, "ring_count"),
    )
    estimates = {
        name: _clean({k: est.get(k) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")})
        for name, est in fits.items()
    }
    return (
        estimates
        | {
            "hotspots": int(f.loc[f["hotspot"], "area_code"].nunique()),
            "comparison_areas": int(f.loc[~f["hotspot"], "area_code"].nunique()),
        }
        | {k: (_clean(v) if isinstance(v, dict) else v) for k, v in measures.items()}
    )


def evaluate_frame(frame: pd.DataFrame, opts: Options, *, delivered: bool) -> dict:
    """Every randomised-trial estimate of one place-day frame, as the JSON the command prints."""
    missing = set(FRAME_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"place-day frame lacks column(s) {sorted(missing)}")
    treated = int(frame["treated"].sum())
    control = int(len(frame) - treated)
    result: dict = {
        "design": "randomised",
        "treated_place_days": treated,
        "control_place_days": control,
        "hotspots": int(frame["area_code"].nunique()),
        "days": int(pd.to_datetime(frame["date"]).nunique()),
        "start": str(pd.to_datetime(frame["date"]).min().date()) if len(frame) else None,
        "end": str(pd.to_datetime(frame["date"]).max().date()) if len(frame) else None,
        "crimes": int(frame["count"].sum()),
        "redraws": opts.redraws,
    }
    estimates, _ = itt(frame, opts)
    ring = estimates.pop("ring")
    result["itt"] = estimates
    if delivered:
        result["dose_response"], result["koper_response"] = dose_response(frame, opts)
    else:
        result["dose_response"], result["koper_response"] = [], []
    result["carry_over"] = carry_over(frame, opts, delivered=delivered)
    result["displacement"] = displacement(ring, opts, int(frame["ring_count"].sum()))
    return result
