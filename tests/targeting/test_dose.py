"""The dose under capacity: the allocation by hand, never over capacity, more to more harm; stored per day for the
planned hot spots only; the command and the morning plan step."""

from __future__ import annotations

import csv
import json
import random
from datetime import date

import pytest
from targeting_rows import FORCE, R, V, add_areas, add_crimes
from typer.testing import CliRunner

from hotspots.targeting.dose import allocate, plan_dose

DAY = date(2024, 3, 5)


def alloc(harm, capacity, unit=15, **kw):
    args = {"effect": 0.5, "decay": 0.5, "visit_minutes": 15} | kw
    return {r["area_code"]: r for r in allocate(harm, capacity_minutes=capacity, unit_minutes=unit, **args)}


def test_allocation_by_hand():
    # Gains: A 2, A 1, B 1 (tie: the higher harm first), A 0.5 -> A 3 visits, B 1, C 0.
    rows = alloc({"A": 4.0, "B": 2.0, "C": 1.0}, 60)
    assert [rows[c]["units"] for c in "ABC"] == [3, 1, 0]
    assert [rows[c]["minutes"] for c in "ABC"] == [45, 15, 0]
    assert rows["A"]["expected_prevented"] == pytest.approx(3.5) and rows["B"]["expected_prevented"] == 1.0
    assert [r["units"] for r in alloc({"A": 4.0, "B": 2.0, "C": 1.0}, 74).values()] == [3, 1, 0]  # whole units only
    # A 30-minute unit is worth one visit (no more: Koper); 60 minutes buy two, both to A (2 > B's 1).
    rows = alloc({"A": 4.0, "B": 2.0, "C": 1.0}, 60, unit=30)
    assert rows["A"]["units"] == 2 and rows["A"]["expected_prevented"] == pytest.approx(3.0)
    # A 10-minute unit is worth two thirds of a visit.
    assert alloc({"A": 3.0}, 10, unit=10)["A"]["expected_prevented"] == pytest.approx(3.0 * 0.5 * 2 / 3)
    # At most one visit each: 45 of the 60 minutes are used.
    rows = alloc({"A": 4.0, "B": 2.0, "C": 1.0}, 60, max_units=1)
    assert [rows[c]["units"] for c in "ABC"] == [1, 1, 1]
    # No harm, no visit.
    assert alloc({"A": 0.0}, 60)["A"]["units"] == 0


def test_never_over_capacity_and_more_to_more_harm():
    rng = random.Random(7)
    for _ in range(200):
        harm = {f"H{i}": rng.choice([0.0, rng.uniform(0, 10)]) for i in range(rng.randint(1, 12))}
        capacity = rng.uniform(0, 400)
        unit = rng.choice([5, 10, 15, 20, 30])
        rows = allocate(
            harm, capacity_minutes=capacity, unit_minutes=unit, effect=0.44, decay=rng.uniform(0, 1), visit_minutes=15
        )
        assert sum(r["minutes"] for r in rows) <= capacity
        for a in rows:
            for b in rows:
                if a["expected_harm"] > b["expected_harm"]:
                    assert a["units"] >= b["units"], (a, b)


def test_bad_unit_is_refused():
    with pytest.raises(ValueError, match="positive"):
        allocate({"A": 1.0}, capacity_minutes=60, unit_minutes=0, effect=0.44, decay=0.5, visit_minutes=15)


def test_plan_dose_stores_the_planned_hot_spots_only(county, settings):
    from hotspots.selection import select_hotspots

    mine = settings.model_copy(update={"hotspot_count": 2, "lookback_months": 2, "plan_k": 1})
    select_hotspots(county, force=FORCE, settings=mine, as_of_month="2024-02")  # C, A from March
    first = plan_dose(county, force=FORCE, day=DAY, settings=mine, capacity_minutes=45)
    drawn = county.execute(
        "SELECT area_code FROM daily_plan WHERE force = ? AND date = ? AND planned", [FORCE, DAY]
    ).fetchall()
    assert [r["area_code"] for r in first["allocation"]] == [drawn[0][0]]
    assert first["allocation"][0]["units"] == 3 and first["minutes_allocated"] == 45
    # Harm per day over January-February 2024 (60 days): C 800, A 730.
    assert first["allocation"][0]["expected_harm"] == pytest.approx({"C": 800, "A": 730}[drawn[0][0]] / 60)
    again = plan_dose(county, force=FORCE, day=DAY, settings=mine, capacity_minutes=45)
    assert again["allocation"] == first["allocation"]
    stored = county.execute("SELECT area_code, units, minutes FROM dose_plan WHERE date = ?", [DAY]).fetchall()
    assert stored == [(drawn[0][0], 3, 45.0)]


def build_county(settings):
    from hotspots.selection import select_hotspots
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        add_areas(con, list("ABC"))
        add_crimes(con, [("A", "2024-01", R, 3), ("B", "2024-01", V, 2), ("C", "2024-02", V, 1)])
        select_hotspots(con, force=FORCE, settings=settings.model_copy(update={"min_events": 1, "lookback_months": 2}))


def test_plan_dose_command_and_morning_step(settings, tmp_path, monkeypatch):
    from hotspots.cli import app
    from hotspots.pipeline import publish_plan
    from hotspots.settings import reload_settings

    build_county(settings)
    out = tmp_path / "dose.csv"
    args = ["plan-dose", "--capacity-minutes", "60", "--date", "2024-03-05", "--force", FORCE]
    result = CliRunner().invoke(app, args + ["--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout[result.stdout.index("{") :])
    # Harm: A 3 x 365 = 1095, B 400, C 200; gains 1095, 547.5, 400, 273.75 -> A 3 visits, B 1.
    assert [(r["area_code"], r["units"]) for r in plan["allocation"]] == [("A", 3), ("B", 1), ("C", 0)]
    with out.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["area_code", "units", "minutes"],
            ["A", "3", "45.0"],
            ["B", "1", "15.0"],
            ["C", "0", "0.0"],
        ]
    text = CliRunner().invoke(app, args + ["--unit", "30"])
    assert text.exit_code == 0, text.output
    assert "60 of 60 minutes in 2 visits of 30 min over 3 planned hot spots" in text.output
    bad = CliRunner().invoke(app, ["plan-dose", "--capacity-minutes", "60", "--date", "2023-01-01", "--force", FORCE])
    assert bad.exit_code == 2 and "Error: no hot-spot selection in force" in bad.output
    monkeypatch.setenv("HOTSPOTS_DOSE_CAPACITY_MINUTES", "30")
    step = publish_plan(FORCE, date(2024, 3, 6), reload_settings())
    assert [(r["area_code"], r["units"]) for r in step["dose"]["allocation"]] == [("A", 2), ("B", 0), ("C", 0)]


def test_compliance_target_comes_from_the_dose_plan_when_set(settings, monkeypatch):
    """Issue 18: with HOTSPOTS_DOSE_PLAN_TARGETS the day's target of a hot spot is its dose_plan minutes (A 45, B 15,
    C 0 from 60 minutes of capacity), else the flat 15 minutes."""
    from compliance_helpers import add_feed, add_patrol

    from hotspots.alerts.rules import evaluate_plan, evaluate_rules
    from hotspots.compliance import build_compliance
    from hotspots.pipeline import publish_plan
    from hotspots.settings import reload_settings
    from hotspots.warehouse import open_warehouse

    build_county(settings)
    day = date(2024, 3, 6)
    monkeypatch.setenv("HOTSPOTS_DOSE_CAPACITY_MINUTES", "60")
    publish_plan(FORCE, day, reload_settings())  # the morning step writes the dose plan
    with open_warehouse(settings) as con:
        add_feed(con, day, force=FORCE)
        add_patrol(con, "A", day, 30, force=FORCE)
        add_patrol(con, "B", day, 16, force=FORCE)

        def compliance():
            mine = reload_settings()
            build_compliance(con, force=FORCE, date=day, settings=mine)
            figures = con.execute(
                "SELECT area_code, target_minutes, status FROM daily_compliance WHERE force = ? AND date = ? "
                "ORDER BY area_code",
                [FORCE, day],
            ).fetchall()
            return figures, {
                a.area_code: a.details["target_minutes"]
                for a in evaluate_rules(con, force=FORCE, date=day, settings=mine)
                if a.rule == "under_target"
            }

        flat, _ = compliance()
        assert flat == [("A", 15.0, "met"), ("B", 15.0, "met"), ("C", 15.0, "none")]
        monkeypatch.setenv("HOTSPOTS_DOSE_PLAN_TARGETS", "true")
        planned, alerted = compliance()
        assert planned == [("A", 45.0, "under"), ("B", 15.0, "met"), ("C", 0.0, "met")]  # 0 visits: no dose asked
        assert alerted == {"A": 45.0}  # the under_target message carries the dose-plan target
        monkeypatch.setenv("HOTSPOTS_PLAN_K", "3")  # all three drawn: the morning notices carry the same targets
        notices = evaluate_plan(con, force=FORCE, date=day, settings=reload_settings())
        assert {a.area_code: a.details["target_minutes"] for a in notices} == {"A": 45.0, "B": 15.0, "C": 0.0}
        monkeypatch.delenv("HOTSPOTS_PLAN_K")
        con.execute("DELETE FROM dose_plan")
        assert compliance()[0] == flat  # no dose plan that day: the flat target
