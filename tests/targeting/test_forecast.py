"""The harm-prevented forecast's arithmetic, checked by hand on the hand-built county."""

from __future__ import annotations

import numpy as np
import pytest
from targeting_rows import FORCE

from hotspots.selection import select_hotspots
from hotspots.targeting.forecast import bootstrap_share, forecast, share_of_days


def selected(county, settings, **changes):
    mine = settings.model_copy(update={"hotspot_count": 2, "lookback_months": 2} | changes)
    result = select_hotspots(county, force=FORCE, settings=mine, as_of_month="2024-02")
    return mine, result


def test_forecast_by_hand(county, settings):
    mine, result = selected(county, settings, plan_k=1, forecast_draws=0)
    f = forecast(county, force=FORCE, settings=mine, selection_id=result["selection_id"])
    # January-February harm: A 730, B 600, C 800, D 365 (E's December robberies are outside); the list is C, A.
    assert result["hotspots"] == ["C", "A"]
    assert f["harm_share"] == pytest.approx(1530 / 2495) == pytest.approx(result["selected_harm_share"])
    assert f["share_of_days"] == 0.5  # one of the two hot spots drawn each day
    assert f["effect"] == 0.44
    assert f["prevented_share"] == pytest.approx(1530 / 2495 * 0.44 * 0.5)
    assert f["area_share"] == pytest.approx(0.4) and f["land_share"] == pytest.approx(0.4)
    assert f["prevented_interval"] == [None, None]  # no bootstrap draws
    assert f["text"].startswith(
        "Patrolling these 2 areas (40.0% of the county's areas and 40.0% of the land) could prevent about 13.5% of "
        "the relevant harm"
    )
    assert "Operation Rowan" in f["text"]


def test_forecast_interval_uses_effect_bounds(county, settings):
    mine, result = selected(county, settings, forecast_effect_low=0.2, forecast_effect_high=0.6, forecast_draws=400)
    f = forecast(county, force=FORCE, settings=mine, selection_id=result["selection_id"])
    low_share, high_share = f["harm_share_interval"]
    assert 0 < low_share <= f["harm_share"] <= high_share <= 1
    assert f["share_of_days"] == 1.0  # no plan: every hot spot every day
    assert f["prevented_interval"] == [pytest.approx(low_share * 0.2), pytest.approx(high_share * 0.6)]
    again = forecast(county, force=FORCE, settings=mine, selection_id=result["selection_id"])
    assert again["prevented_interval"] == f["prevented_interval"]  # seeded: reproducible


def test_bootstrap_and_days_edge_cases(settings):
    ones = np.ones(4)
    assert bootstrap_share(ones, np.ones(4, bool), draws=50, level=0.9, seed=1) == (1.0, 1.0)
    assert bootstrap_share(ones, np.zeros(4, bool), draws=50, level=0.9, seed=1) == (0.0, 0.0)
    assert bootstrap_share(np.zeros(0), np.zeros(0, bool), draws=50, level=0.9, seed=1) == (None, None)
    assert share_of_days(settings.model_copy(update={"plan_k": 7}), 21) == pytest.approx(1 / 3)
    assert share_of_days(settings.model_copy(update={"plan_k": 30}), 21) == 1.0
    assert share_of_days(settings, 0) == 0.0


def test_report_shows_the_forecast(county, settings):
    from datetime import date

    from hotspots.report import render_report

    mine, result = selected(county, settings, forecast_draws=0)
    html = render_report(county, force=FORCE, day=date(2024, 3, 5), settings=mine)
    expected = forecast(county, force=FORCE, settings=mine, selection_id=result["selection_id"])
    assert '<p id="forecast">Patrolling these 2 areas' in html
    assert f"could prevent about {expected['prevented_share']:.1%} of the relevant harm" in html


def test_forecast_takes_the_effect_from_the_forces_own_evaluation(county, settings):
    mine, result = selected(county, settings, forecast_draws=0)
    for run_id, end, ratio in (
        ("testforce|2024-01-31", "2024-01-31", 0.5),
        ("testforce|2024-02-29", "2024-02-29", 0.7),
    ):
        county.execute(
            "INSERT INTO evaluation_runs VALUES (?, ?, 'randomised', '2024-01-01', ?, 2, 10, 20, 5, 0, 0, 's', NULL, "
            "'{}', now())",
            [run_id, FORCE, end],
        )
        county.execute(
            "INSERT INTO evaluation_estimates VALUES (?, 'itt', 'harm', NULL, ?, ?, ?, 0.01)",
            [run_id, ratio, ratio - 0.2, ratio + 0.2],
        )
    f = forecast(county, force=FORCE, settings=mine, selection_id=result["selection_id"])
    # The latest run: harm rate ratio 0.7 (0.5 to 0.9) -> effect 30% (10% to 50%).
    assert f["effect_from_evaluation"] is True
    assert f["effect"] == pytest.approx(0.3) and f["effect_interval"] == [pytest.approx(0.1), pytest.approx(0.5)]
    assert f["prevented_share"] == pytest.approx(1530 / 2495 * 0.3)
    assert "own evaluation testforce|2024-02-29" in f["text"]
    literature = forecast(
        county,
        force=FORCE,
        settings=mine.model_copy(update={"forecast_use_evaluation": False}),
        selection_id=result["selection_id"],
    )
    assert literature["effect"] == 0.44 and literature["effect_from_evaluation"] is False
