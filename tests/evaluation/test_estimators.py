"""The evaluation's estimators against planted truth: simulated trials whose effect is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.evaluation import inference
from hotspots.evaluation.estimators import (
    Options,
    count_model,
    difference_in_differences,
    evaluate_frame,
    match_comparisons,
    minute_bins,
    wdq_wdd,
)
from hotspots.evaluation.models import poisson_fe
from hotspots.evaluation.simulate import simulate_before_after, simulate_trial

FAST = Options(redraws=199, force="sim")


def covers(est: dict, value: float) -> bool:
    return est["ci_low"] <= value <= est["ci_high"]


def test_poisson_fe_equals_the_ratio_of_rates_when_the_design_is_balanced():
    # Two areas, each with 10 treated and 20 control days: the MLE of the treatment ratio is the pooled ratio.
    y = np.array([4.0, 16.0, 9.0, 30.0])
    n = np.array([10.0, 20.0, 10.0, 20.0])
    fit = poisson_fe(y, n, np.array([[1.0], [0.0], [1.0], [0.0]]), np.array(["a", "a", "b", "b"]), ["t"])
    assert fit.ratio("t")["rate_ratio"] == pytest.approx((13 / 20) / (46 / 40), rel=1e-6)


def test_the_redraw_method_is_the_plans_own():
    trial = simulate_trial(seed=3)
    m = inference.matrices(trial.frame, ["count"])
    assert (inference.draw_plan(inference.Design.of(m), trial.plan_seed, trial.force) == m.treated).all()
    other = inference.draw_plan(inference.Design.of(m), trial.plan_seed + 1, trial.force)
    assert (other.sum(axis=1) == m.treated.sum(axis=1)).all() and (other != m.treated).any()


def test_planted_rate_ratio_is_recovered():
    trial = simulate_trial(rate_ratio=0.6, seed=11)
    result = evaluate_frame(trial.frame, FAST, delivered=True)
    assert result["treated_place_days"] == 21 * 90 // 3 and result["control_place_days"] == 21 * 90 * 2 // 3
    for outcome in ("count", "harm"):
        est = result["itt"][outcome]
        assert covers(est, 0.6), (outcome, est)
        assert est["ci_high"] < 1 and est["p_value"] <= 0.01
    assert result["itt"]["prevalence"]["ci_high"] < 1


def test_null_trial_shows_no_effect():
    trial = simulate_trial(rate_ratio=1.0, seed=12)
    result = evaluate_frame(trial.frame, FAST, delivered=True)
    for outcome in ("count", "harm", "prevalence"):
        est = result["itt"][outcome]
        assert covers(est, 1.0) and est["p_value"] > 0.05, (outcome, est)


def test_count_interval_covers_the_planted_ratio_in_most_trials():
    hits = 0
    for seed in range(40):
        frame = simulate_trial(rate_ratio=0.7, seed=100 + seed).frame
        est = count_model(frame.assign(t=frame["treated"].astype(float)), "count", ["t"])["t"]
        hits += covers(est, 0.7)
    assert hits >= 34  # 95% intervals: expect 38 of 40; 34 or fewer has probability < 2%


def test_false_positive_rate_over_null_seeds_is_near_five_percent():
    """Randomisation p-values on 200 null trials (small: 10 hot spots x 20 days, 99 re-draws)."""
    rejections = 0
    seeds = 200
    for seed in range(seeds):
        trial = simulate_trial(areas=10, days=20, k=3, rate_ratio=1.0, seed=1000 + seed, plan_seed=seed)
        m = inference.matrices(trial.frame, ["count"])
        p, _ = inference.randomisation_p(m, n=99, seed=seed, force=trial.force)
        rejections += p["count"] is not None and p["count"] <= 0.05
    assert 0.015 <= rejections / seeds <= 0.09, rejections


def test_planted_effect_gives_small_randomisation_p():
    trial = simulate_trial(areas=10, days=20, k=3, rate_ratio=0.3, base_rate=2.0, seed=5)
    p, observed = inference.randomisation_p(inference.matrices(trial.frame, ["count"]), n=99, seed=1, force="sim")
    assert p["count"] == pytest.approx(0.01) and observed["count"] < 0.5


def test_dose_response_follows_the_planted_dose_rule():
    """Effect only from 10 delivered minutes: the 1-9 bin shows none, the 10-14 and 15+ bins show 0.5."""
    trial = simulate_trial(
        areas=40,
        days=120,
        k=13,
        rate_ratio=0.5,
        dose_minutes=10,
        minute_choices=(4, 8, 11, 13, 16, 22),
        stray=0.1,
        seed=21,
    )
    result = evaluate_frame(trial.frame, FAST, delivered=True)
    rows = {(r["min_minutes"], r["max_minutes"]): r for r in result["dose_response"]}
    assert list(rows) == minute_bins(FAST) == [(0, 0), (1, 9), (10, 14), (15, None)]
    assert covers(rows[(1, 9)], 1.0), rows[(1, 9)]
    for key in ((10, 14), (15, None)):  # the planted step: 0.5 from 10 minutes on, flat above it
        assert rows[key]["ci_high"] < 1 and rows[key]["rate_ratio"] == pytest.approx(0.5, abs=0.15), rows[key]
    frame = trial.frame
    assert rows[(10, 14)]["place_days"] == int(((frame.window_minutes >= 10) & (frame.window_minutes < 15)).sum())
    koper = {r["min_visits"]: r for r in result["koper_response"]}
    assert koper[1]["ci_high"] < 1 and koper[1]["rate_ratio"] == pytest.approx(0.5, abs=0.15), koper[1]


def test_carry_over_is_found_on_the_day_after_patrol():
    trial = simulate_trial(areas=40, days=120, k=13, rate_ratio=0.5, carry_ratio=0.7, carry_days=1, seed=31)
    carry = evaluate_frame(trial.frame, FAST, delivered=True)["carry_over"]
    since = {r["days"]: r for r in carry["days_since_patrol"]}
    assert covers(since[1], 0.7) and since[1]["ci_high"] < 1, since[1]
    assert covers(since[2], 1.0) and covers(since[3], 1.0)
    streak = {r["days"]: r for r in carry["consecutive_patrol_days"]}
    assert all(covers(streak[s], 0.5) for s in (1, 2, 3)), streak
    assert streak[3]["or_more"] and not streak[1]["or_more"]


def test_carry_over_streaks_count_consecutive_calendar_days():
    from hotspots.evaluation.estimators import carry_over_columns

    days = pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-05", "2025-01-06", "2025-01-08"])
    frame = pd.DataFrame({"area_code": "a", "date": days})
    out = carry_over_columns(frame, pd.Series([True, True, False, True, True, False]))
    assert out["streak"].tolist() == [1, 2, 0, 1, 2, 0]
    assert out["days_since"].fillna(-1).tolist() == [-1, -1, 1, -1, -1, 2]


def test_displacement_into_the_ring_is_detected():
    trial = simulate_trial(areas=30, days=120, k=10, rate_ratio=0.6, ring_ratio=1.5, ring_rate=1.0, seed=41)
    shown = evaluate_frame(trial.frame, FAST, delivered=True)["displacement"]
    assert shown["finding"] == "displacement" and covers(shown, 1.5), shown
    assert shown["ring_m"] == 100.0 and shown["ring_crimes"] == int(trial.frame["ring_count"].sum())


def test_no_planted_displacement_is_rarely_reported():
    findings = []
    for seed in range(20):
        trial = simulate_trial(rate_ratio=0.6, ring_ratio=1.0, seed=300 + seed, plan_seed=seed)
        findings.append(evaluate_frame(trial.frame, Options(redraws=99, force="sim"), delivered=True)["displacement"])
    assert sum(f["finding"] != "none detected" for f in findings) <= 3  # 5% expected: 4+ of 20 has p < 2%


def test_wdq_and_wdd_match_their_formulas():
    out = wdq_wdd(t0=100, t1=70, c0=200, c1=190, d0=50, d1=40, cd0=60, cd1=62)
    assert out["success_measure"] == pytest.approx(70 / 190 - 100 / 200)
    assert out["buffer_measure"] == pytest.approx(40 / 190 - 50 / 200)
    assert out["wdq"] == pytest.approx((40 / 190 - 50 / 200) / (70 / 190 - 100 / 200))
    assert out["wdd"] == (70 - 100) - (190 - 200) + (40 - 50) - (62 - 60) == -32
    assert out["wdd_se"] == pytest.approx(np.sqrt(100 + 70 + 200 + 190 + 50 + 40 + 60 + 62))


def test_difference_in_differences_recovers_the_planted_ratio_despite_a_shared_trend():
    panel = simulate_before_after(rate_ratio=0.7, trend=1.3, seed=51)
    out = difference_in_differences(panel)
    assert covers(out["count"], 0.7) and out["count"]["ci_high"] < 1, out["count"]
    assert covers(out["ring"], 1.0)
    assert covers(out["harm"], 0.7) and out["harm"]["ci_high"] < 1, out["harm"]
    assert out["hotspots"] == 20 and out["comparison_areas"] == 20 and out["wdd"] < 0


def test_comparison_areas_are_the_nearest_unselected_in_harm_rank():
    harm = pd.Series({"a": 100.0, "b": 90.0, "c": 80.0, "d": 70.0, "e": 60.0, "f": 5.0})
    assert match_comparisons(harm, ["a", "c"]) == {"a": ["b"], "c": ["d"]}
    assert match_comparisons(harm, ["a", "b"], per_hotspot=2) == {"a": ["c", "d"], "b": ["e", "f"]}


def test_poisson_fe_equals_statsmodels_glm_with_area_dummies():
    """The profiled fit gives statsmodels' Poisson GLM (one dummy per area): the same coefficients, and the same
    cluster-robust covariance up to the G/(G-1) factor (statsmodels without its small-sample correction)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    areas, days = 20, 60
    g = np.repeat(np.arange(areas), days)
    dow = np.tile(np.arange(days) % 7, areas)
    x = np.column_stack(
        [(rng.random(areas * days) < 1 / 3).astype(float)]
        + [(dow == d).astype(float) for d in range(1, 7)]
        + [rng.uniform(0, 2, areas * days)]
    )
    mu = np.exp(rng.normal(0, 0.5, areas)[g] + x @ np.r_[np.log(0.6), rng.normal(0, 0.1, 6), -0.05])
    y = rng.poisson(mu).astype(float)
    fit = poisson_fe(y, np.ones_like(y), x, g, [f"x{j}" for j in range(x.shape[1])])
    reference = sm.GLM(y, np.column_stack([np.eye(areas)[g], x]), family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": g, "use_correction": False}
    )
    np.testing.assert_allclose(fit.beta, reference.params[areas:], atol=1e-5)
    np.testing.assert_allclose(fit.cov * (areas - 1) / areas, reference.cov_params()[areas:, areas:], rtol=1e-4)
