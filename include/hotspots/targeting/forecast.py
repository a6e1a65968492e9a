"""Harm-prevented forecast, in the seed's form: "patrolling these N areas (x% of the county) could prevent about
P% of the relevant harm (interval ...)".

    P = harm share of the selected areas x effect on patrol days x share of days each hot spot is patrolled

- harm share: the selected areas' share of the harm over the selection's look-back window (the forecast assumes
  the coming months look like it; `hotspots backtest` measures how far that holds);
- effect: the fall in harm on patrol days. From the project's own evaluation when one exists (the latest
  evaluation_runs row of the force with an intention-to-treat harm estimate in evaluation_estimates: effect =
  1 - rate ratio, its interval from the ratio's; setting forecast_use_evaluation), otherwise from the literature:
  Operation Rowan, Bedfordshire (Bland, Leggetter, Cestaro and Sebire 2021, Cambridge Journal of Evidence-Based
  Policing 5(3-4) 93-118, doi:10.1007/s41887-021-00066-3): 44% lower CCHI harm from serious violence on patrol
  days (settings forecast_effect, forecast_effect_low/high for its interval). No interval, standard error or
  p-value for that 44% was found in the reachable sources (abstract, CrimeSolutions and CEBCP summaries; the
  results tables were not reachable: docs/targeting.md), so by default the effect is a point value;
- share of days: plan_k / number of hot spots under a randomised daily plan, else 1 (every hot spot every day).

The interval: a bootstrap of the crimes counted (harm is heavy-tailed, DOMAIN.md) gives the interval of the harm
share; it is multiplied by the effect's interval when one is set, else by the effect itself (the interval then
holds only the harm share's sampling uncertainty, and the sentence says the effect's own is not set).
"""

from __future__ import annotations

import json

import duckdb
import numpy as np

from hotspots.selection import _resolve_selection, month_start
from hotspots.settings import Settings
from hotspots.warehouse import read_sql

ROWAN = (
    "Operation Rowan (Bland et al. 2021, Camb. J. Evidence-Based Policing 5:93-118): 44% lower serious-violence "
    "harm on patrol days"
)


def share_of_days(settings: Settings, n_hotspots: int) -> float:
    """The share of days each hot spot is patrolled: plan_k of n drawn each day, else every day."""
    if not n_hotspots:
        return 0.0
    return 1.0 if settings.plan_k is None else min(1.0, settings.plan_k / n_hotspots)


def bootstrap_share(harm: np.ndarray, selected: np.ndarray, *, draws: int, level: float, seed: int) -> tuple:
    """The (low, high) quantiles of the selected share of harm over ``draws`` resamples of the crimes."""
    n = len(harm)
    if n == 0 or draws < 1 or harm.sum() <= 0:
        return None, None
    rng = np.random.default_rng(seed)
    shares = np.empty(draws)
    for i in range(draws):
        idx = rng.integers(0, n, n)
        total = harm[idx].sum()
        shares[i] = (harm[idx] * selected[idx]).sum() / total if total > 0 else 0.0
    tail = (1 - level) / 2
    return float(np.quantile(shares, tail)), float(np.quantile(shares, 1 - tail))


def own_effect(con: duckdb.DuckDBPyConnection, force: str) -> dict | None:
    """The effect on harm from the force's latest evaluation (intention to treat, harm), or None."""
    has = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('evaluation_runs', 'evaluation_estimates')"
    ).fetchone()[0]
    if has < 2:
        return None
    row = con.execute(
        "SELECT e.rate_ratio, e.ci_low, e.ci_high, r.run_id, r.design, r.end_date FROM evaluation_estimates AS e "
        "JOIN evaluation_runs AS r ON e.run_id = r.run_id WHERE r.force = ? AND e.estimate = 'itt' "
        "AND e.term = 'harm' AND e.rate_ratio IS NOT NULL ORDER BY r.end_date DESC LIMIT 1",
        [force],
    ).fetchone()
    if row is None:
        return None
    ratio, low, high, run_id, design, end = row

    def fall(r: float | None) -> float | None:
        return None if r is None else min(1.0, max(0.0, 1.0 - float(r)))

    return {
        "effect": fall(ratio),
        "low": fall(high),
        "high": fall(low),
        "source": f"the force's own evaluation {run_id} ({design}, to {end}): harm rate ratio {float(ratio):.2f}",
    }


def forecast(
    con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, selection_id: str | None = None
) -> dict:
    """The harm-prevented forecast for a published selection (default: the force's current one)."""
    selection_id = _resolve_selection(con, force, selection_id)
    params_json, hotspots = con.execute(
        "SELECT params, hotspots FROM selections WHERE force = ? AND selection_id = ?", [force, selection_id]
    ).fetchone()
    params = json.loads(params_json)
    missing = {"first_month", "last_month", "crime_types", "weights", "exclude_proactive"} - set(params)
    if missing:
        raise ValueError(f"Selection {selection_id!r} records no {sorted(missing)}: no forecast for it.")
    rows = con.execute(
        read_sql("transform/forecast_crimes", settings),
        {
            "force": force,
            "first_month": month_start(params["first_month"]),
            "last_month": month_start(params["last_month"]),
            "crime_types": params["crime_types"],
            "weights": params["weights"],
            "exclude_proactive": params["exclude_proactive"],
            "hotspots": list(hotspots),
        },
    ).fetchall()
    harm = np.array([float(r[2]) for r in rows])
    selected = np.array([bool(r[3]) for r in rows])
    n_areas, land, list_land = con.execute(
        "SELECT count(*), sum(area_m2), sum(area_m2) FILTER (WHERE list_contains(?, area_code)) FROM stg_areas "
        "WHERE force = ?",
        [list(hotspots), force],
    ).fetchone()
    total = float(harm.sum())
    share = float((harm * selected).sum() / total) if total > 0 else 0.0
    days = share_of_days(settings, len(hotspots))
    own = own_effect(con, force) if settings.forecast_use_evaluation else None
    if own is not None:
        effect, bounds, source = own["effect"], [own["low"], own["high"]], own["source"]
    else:
        effect = settings.forecast_effect
        bounds = [settings.forecast_effect_low, settings.forecast_effect_high]
        source = settings.forecast_effect_source
    low_effect = bounds[0] if bounds[0] is not None else effect
    high_effect = bounds[1] if bounds[1] is not None else effect
    share_low, share_high = bootstrap_share(
        harm, selected, draws=settings.forecast_draws, level=settings.forecast_level, seed=settings.forecast_seed
    )
    prevented = share * effect * days
    low = share_low * low_effect * days if share_low is not None else None
    high = share_high * high_effect * days if share_high is not None else None
    area_share = len(hotspots) / n_areas if n_areas else 0.0
    land_share = float(list_land or 0) / float(land) if land else None
    result = {
        "selection_id": selection_id,
        "areas": len(hotspots),
        "area_share": area_share,
        "land_share": land_share,
        "harm_share": share,
        "harm_share_interval": [share_low, share_high],
        "effect": effect,
        "effect_interval": bounds,
        "effect_source": source,
        "effect_from_evaluation": own is not None,
        "share_of_days": days,
        "prevented_share": prevented,
        "prevented_interval": [low, high],
        "level": settings.forecast_level,
        "crimes": len(rows),
    }
    result["text"] = forecast_text(result)
    return result


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def forecast_text(f: dict) -> str:
    """The sentence command staff read."""
    land = f" and {_pct(f['land_share'])} of the land" if f["land_share"] is not None else ""
    low, high = f["prevented_interval"]
    effect_bounds = "" if f["effect_interval"][0] is not None else "; the effect's own interval is not set"
    return (
        f"Patrolling these {f['areas']} areas ({_pct(f['area_share'])} of the county's areas{land}) could prevent "
        f"about {_pct(f['prevented_share'])} of the relevant harm (interval {_pct(low)} to {_pct(high)}, "
        f"{f['level']:.0%} bootstrap of the harm share{effect_bounds}): they held {_pct(f['harm_share'])} of it, "
        f"each is patrolled on {_pct(f['share_of_days'])} of days, and harm falls {_pct(f['effect'])} on patrol "
        f"days ({f['effect_source']})."
    )
