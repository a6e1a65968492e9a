"""Back-test scores on hand-built crimes with known answers, and its windows at month boundaries."""

from __future__ import annotations

import math
from datetime import date

import pytest
from targeting_rows import FORCE, V, add_crimes

from hotspots.targeting.backtest import BacktestError, backtest, windows


def with_(settings, **changes):
    return settings.model_copy(update=changes)


def run(con, settings, **kw):
    args = {"train_months": 2, "test_months": 1, "last_month": "2024-03"} | kw
    return backtest(con, force=FORCE, settings=settings, **args)


def test_scores_on_known_answers(county, settings):
    result = run(county, with_(settings, hotspot_count=2))
    (w,) = result["windows"]
    assert w["train"] == ["2024-01", "2024-02"] and w["test"] == ["2024-03", "2024-03"]
    # CCHI training harm: C 800, A 730, B 600; the top 2 are C and A (E's December robberies are outside).
    assert w["hotspots"] == ["C", "A"]
    assert w["areas"] == 5 and w["selected"] == 2 and w["area_share"] == pytest.approx(0.4)
    assert w["test_harm"] == pytest.approx(1330) and w["test_events"] == 5  # April, burglary, outside: not counted
    assert w["train_harm_share"] == pytest.approx(1530 / 2495)
    assert w["harm_share"] == pytest.approx(565 / 1330)
    assert w["events_share"] == pytest.approx(2 / 5)
    assert w["pai"] == pytest.approx((565 / 1330) / 0.4)
    # Ranks (mean ranks for ties): train A4 B3 C5 D2 E1, test A3.5 B5 C2 D3.5 E1 -> rho = 2 / sqrt(10 * 9.5).
    assert w["spearman"] == pytest.approx(2 / math.sqrt(95))
    # Last year's counts: C 4, B 3 events -> {B, C} captures 600 of 1330 harm and 3 of 5 events.
    base = w["baselines"]["last_year_count"]
    assert base["selected"] == 2
    assert base["harm_share"] == pytest.approx(600 / 1330) and base["events_share"] == pytest.approx(3 / 5)
    assert base["pai"] == pytest.approx((600 / 1330) / 0.4)
    assert w["baselines"]["random"] == {
        "selected": 2,
        "area_share": pytest.approx(0.4),
        "harm_share": pytest.approx(0.4),
        "events_share": pytest.approx(0.4),
        "pai": 1.0,
    }


def test_weights_and_budget_change_the_list(county, settings):
    counted = run(county, with_(settings, hotspot_count=2, harm_weights="count"))["windows"][0]
    assert counted["hotspots"] == ["C", "B"] and counted["harm_share"] == pytest.approx(3 / 5)  # harm = events
    # Fewest areas reaching 50% of the selectable training harm (2130): C 800, then A (1530 >= 1065).
    shared = run(county, with_(settings, budget_mode="harm_share", harm_share=0.5))["windows"][0]
    assert shared["hotspots"] == ["C", "A"]
    # min_events 0 lets D (one robbery) in: top 4 = C, A, B, D.
    four = run(county, with_(settings, hotspot_count=4, min_events=0))["windows"][0]
    assert four["hotspots"] == ["C", "A", "B", "D"] and four["harm_share"] == pytest.approx(1)


def test_month_boundaries_are_exact(county, settings):
    # A training window that starts in December counts E's five December robberies: E ranks first.
    longer = run(county, with_(settings, hotspot_count=1), train_months=3)["windows"][0]
    assert longer["train"] == ["2023-12", "2024-02"] and longer["hotspots"] == ["E"]
    # Without last_month the test month is April: A's ten robberies are the whole test harm.
    april = backtest(county, force=FORCE, settings=with_(settings, hotspot_count=1), train_months=2, test_months=1)
    (w,) = april["windows"]
    assert w["train"] == ["2024-02", "2024-03"] and w["test"] == ["2024-04", "2024-04"]
    assert w["test_harm"] == pytest.approx(3650) and w["test_events"] == 10
    assert april["data_months"] == ["2023-12", "2024-04"]


def test_rolling_windows_and_mean(county, settings):
    add_crimes(county, [("B", "2024-04", V, 1)])
    result = backtest(
        county, force=FORCE, settings=with_(settings, hotspot_count=2), train_months=2, test_months=1, rolling=True
    )
    tests = [w["test"][0] for w in result["windows"]]
    assert tests == ["2024-02", "2024-03", "2024-04"]
    shares = [w["harm_share"] for w in result["windows"]]
    assert result["mean"]["harm_share"] == pytest.approx(sum(shares) / 3)
    assert result["params"]["rolling"] is True and result["params"]["step_months"] == 1


def test_windows_arithmetic():
    (w,) = windows(date(2022, 1, 1), date(2024, 12, 1), train_months=24, test_months=12)
    assert (w.train_first, w.train_last) == (date(2022, 1, 1), date(2023, 12, 1))
    assert (w.test_first, w.test_last) == (date(2024, 1, 1), date(2024, 12, 1))
    rolled = windows(date(2021, 1, 1), date(2024, 12, 1), train_months=24, test_months=12, rolling=True, step_months=6)
    assert [(x.train_first, x.test_last) for x in rolled] == [
        (date(2021, 1, 1), date(2023, 12, 1)),
        (date(2021, 7, 1), date(2024, 6, 1)),
        (date(2022, 1, 1), date(2024, 12, 1)),
    ]
    with pytest.raises(BacktestError, match=r"35 months.*needs 36"):
        windows(date(2022, 1, 1), date(2024, 11, 1), train_months=24, test_months=12)


def test_too_few_months_is_a_user_error(county, settings):
    with pytest.raises(BacktestError, match="needs 36"):
        backtest(county, force=FORCE, settings=settings, train_months=24, test_months=12)
