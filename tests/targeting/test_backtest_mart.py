"""The back-test as a mart (backtest_scores): written once per window, rerun leaves it as it is; the select step
writes it; the report shows it."""

from __future__ import annotations

from datetime import date

import pytest
from targeting_rows import FORCE, R, V, add_areas, add_crimes

from hotspots.targeting.backtest import backtest, latest_backtests, store_backtest


def rows(con):
    return con.execute("SELECT * FROM backtest_scores ORDER BY test_last").fetchall()


def test_store_is_idempotent(county, settings):
    mine = settings.model_copy(update={"hotspot_count": 2})
    result = backtest(county, force=FORCE, settings=mine, train_months=2, test_months=1, rolling=True)
    assert store_backtest(county, result) == 3
    first = rows(county)
    assert store_backtest(county, result) == 0
    assert rows(county) == first  # same rows, same created_at
    march = next(r for r in latest_backtests(county, FORCE, limit=5) if r["test_first"] == date(2024, 3, 1))
    assert march["harm_share"] == pytest.approx(565 / 1330) and march["count_harm_share"] == pytest.approx(600 / 1330)
    assert march["selected"] == 2 and march["random_harm_share"] == pytest.approx(0.4)
    # New March crimes change the window tested on March and the one trained on it; February's is kept.
    add_crimes(county, [("B", "2024-03", V, 5)])
    again = backtest(county, force=FORCE, settings=mine, train_months=2, test_months=1, rolling=True)
    assert store_backtest(county, again) == 2
    assert len(rows(county)) == 3
    assert [r for r in rows(county) if r[3] == date(2024, 2, 1)] == [r for r in first if r[3] == date(2024, 2, 1)]


def test_select_step_writes_the_mart_and_the_report_shows_it(settings):
    from hotspots import pipeline
    from hotspots.report import render_report
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        add_areas(con, list("ABC"))
        add_crimes(con, [("A", m, R, 2) for m in ("2024-01", "2024-02", "2024-03")] + [("B", "2024-02", V, 2)])
    mine = settings.model_copy(
        update={"hotspot_count": 1, "backtest_train_months": 2, "backtest_test_months": 1, "backtest_step_months": 1}
    )
    result = pipeline.select_hotspots(FORCE, mine)
    assert result["backtest"] == {"windows": 1, "written": 1}
    assert pipeline.select_hotspots(FORCE, mine)["backtest"] == {"windows": 1, "written": 0}
    short = pipeline.select_hotspots(FORCE, mine.model_copy(update={"backtest_train_months": 12}))
    assert "needs 13" in short["backtest"]["skipped"]
    with open_warehouse(settings) as con:
        (stored,) = latest_backtests(con, FORCE)
        assert stored["harm_share"] == 1.0 and stored["pai"] == pytest.approx(3.0)  # A holds all of March's harm
        html = render_report(con, force=FORCE, day=date(2024, 4, 2), settings=mine)
    assert '<section id="backtest">' in html and "2024-01..2024-02</td><td>2024-03..2024-03" in html
