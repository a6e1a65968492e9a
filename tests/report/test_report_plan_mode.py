"""The report in plan mode (HOTSPOTS_PLAN_K, Operation Rowan): hot spots not drawn today are shown, not a crash."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
import warehouse_rows as rows

from hotspots.report import STATUS_COLOURS, report_path

DAY = date(2024, 5, 31)
K = 2
EXPECTED_STATUS = {code: rows.status(*rows.dose(code, DAY)[:2]) for code in rows.HOTSPOTS}


def hotspot_groups(text: str) -> dict[str, tuple[str, str, str]]:
    """area_code -> (status, fill colour, tooltip) of each hot spot drawn on the map."""
    found = re.findall(
        r'<g class="hotspot" data-area="([^"]+)" data-status="([^"]+)" fill="([^"]+)"><title>(.*?)</title>', text, re.S
    )
    return {code: (status, fill, html.unescape(title)) for code, status, fill, title in found}


@pytest.fixture
def plan_settings(tmp_path, monkeypatch):
    """The hand-built warehouse with a daily plan of 2 of the 5 hot spots."""
    from hotspots.settings import reload_settings

    rows.isolated_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("HOTSPOTS_PLAN_K", str(K))
    settings = reload_settings()
    assert settings.plan_k == K
    rows.build_warehouse(settings)
    return settings


def test_publish_writes_the_report_in_plan_mode(plan_settings):
    from hotspots.pipeline import compliance_and_alerts, publish
    from hotspots.warehouse import connect

    settings = plan_settings
    compliance_and_alerts(rows.FORCE, [DAY], settings)
    result = publish({rows.FORCE: [DAY.isoformat()]}, settings)  # the publish task: raised KeyError before
    path = report_path(settings, rows.FORCE, DAY)
    assert result["reports"] == [str(path)] and settings.snapshot_path.exists()

    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        planned = {
            code
            for (code,) in con.execute(
                "SELECT area_code FROM daily_plan WHERE force = ? AND date = ? AND planned", [rows.FORCE, DAY]
            ).fetchall()
        }
    finally:
        con.close()
    assert len(planned) == K and planned <= set(rows.HOTSPOTS)

    spots = hotspot_groups(path.read_text())
    expected = {code: (s if code in planned else "not_planned") for code, s in EXPECTED_STATUS.items()}
    assert {code: s[0] for code, s in spots.items()} == expected
    assert all(fill == STATUS_COLOURS[status] for status, fill, _ in spots.values())
    for code in set(rows.HOTSPOTS) - planned:
        window, all_day, koper = rows.dose(code, DAY)
        tooltip = spots[code][2]
        assert f"not drawn today (randomised plan), {window:.1f} min in the patrol window" in tooltip, tooltip
        assert f"({all_day:.1f} min all day)" in tooltip and f"Koper visits: {koper}" in tooltip
    text = path.read_text()
    summary = re.search(r'<section class="summary" id="summary">(.*?)</section>', text, re.S).group(1)
    assert f"{len(rows.HOTSPOTS) - K} not drawn today" in summary


def test_contamination_figure_in_the_view_the_report_and_the_alerts(plan_settings):
    """Patrol minutes on hot spots not drawn: daily_contamination, the report's line and one alert each."""
    from hotspots.pipeline import compliance_and_alerts, publish
    from hotspots.warehouse import connect

    settings = plan_settings
    raised = compliance_and_alerts(rows.FORCE, [DAY], settings)["alerts_raised"]
    publish({rows.FORCE: [DAY.isoformat()]}, settings)
    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        planned = {
            c
            for (c,) in con.execute(
                "SELECT area_code FROM daily_plan WHERE force = ? AND date = ? AND planned", [rows.FORCE, DAY]
            ).fetchall()
        }
        figure = con.execute(
            "SELECT planned_hotspots, unplanned_hotspots, contaminated_hotspots, planned_minutes, "
            "contamination_minutes, contamination_share FROM daily_contamination WHERE force = ? AND date = ?",
            [rows.FORCE, DAY],
        ).fetchone()
    finally:
        con.close()
    unplanned = sorted(set(rows.HOTSPOTS) - planned)
    window = {code: rows.dose(code, DAY)[0] for code in rows.HOTSPOTS}
    contaminated = [c for c in unplanned if window[c] > 0]
    stray = sum(window[c] for c in unplanned)
    on_plan = sum(window[c] for c in planned)
    assert contaminated, "the hand-built day has patrol on some hot spot not drawn"
    assert figure[:3] == (K, len(unplanned), len(contaminated))
    assert figure[3] == pytest.approx(on_plan) and figure[4] == pytest.approx(stray)
    assert figure[5] == pytest.approx(stray / (stray + on_plan))
    assert sorted(k.split("|")[2] for k in raised if k.startswith("contamination|")) == contaminated
    text = report_path(settings, rows.FORCE, DAY).read_text()
    line = re.search(r'<p id="contamination">(.*?)</p>', text, re.S).group(1)
    assert f"Contamination: {stray:.1f} min in the patrol window on {len(contaminated)} of the {len(unplanned)}" in line
    assert f"({100 * stray / (stray + on_plan):.0f}% of the hot-spot patrol minutes)" in line
