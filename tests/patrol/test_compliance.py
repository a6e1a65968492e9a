"""Compliance per hot spot per day against hand-built patrol histories, the daily plan, and the sample's truth."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from compliance_helpers import FORCE, add_feed, add_patrol, add_selection, days

D1 = date(2024, 5, 1)


def rows(con, day):
    cursor = con.execute(
        "SELECT * EXCLUDE (computed_at) FROM daily_compliance WHERE force = ? AND date = ? ORDER BY area_code",
        [FORCE, day],
    )
    names = [d[0] for d in cursor.description]
    return {r[names.index("area_code")]: dict(zip(names, r)) for r in cursor.fetchall()}


@pytest.fixture
def history(warehouse, tmp_path, monkeypatch):
    """Hot spots A-D from D1; D has a 30-minute target; C was last patrolled before the selection began."""
    overrides = tmp_path / "targets.csv"
    overrides.write_text("area_code,target_minutes\nD,30\n")
    monkeypatch.setenv("HOTSPOTS_TARGET_OVERRIDES_PATH", str(overrides))
    add_selection(warehouse, ["A", "B", "C", "D"], D1)
    add_patrol(warehouse, "C", date(2024, 4, 28), 40)
    add_patrol(warehouse, "A", D1, 20, koper=1)
    add_patrol(warehouse, "B", D1, 10, window=5)
    add_patrol(warehouse, "D", D1, 25, window=20, koper=2)
    add_patrol(warehouse, "B", date(2024, 5, 2), 12, window=0)  # patrolled, but only outside the window
    add_patrol(warehouse, "A", date(2024, 5, 3), 15)
    for day in (date(2024, 5, 2), date(2024, 5, 4)):
        add_feed(warehouse, day)  # GPS data in the window, but no one in a hot spot
    return warehouse


def test_statuses_targets_streaks_and_ratios(history):
    from hotspots.compliance import build_compliance
    from hotspots.settings import reload_settings

    settings = reload_settings()
    for day in days(D1, 4):
        build_compliance(history, force=FORCE, date=day, settings=settings)

    first = rows(history, D1)
    figures = {
        c: (r["status"], r["target_minutes"], r["delivered_minutes"], r["koper_visits"]) for c, r in first.items()
    }
    assert figures == {
        "A": ("met", 15.0, 20.0, 1),
        "B": ("under", 15.0, 5.0, 0),
        "C": ("none", 15.0, 0.0, 0),
        "D": ("under", 30.0, 20.0, 2),
    }
    # C's streak counts from the selection's first day, though its last patrol was earlier.
    assert first["C"]["days_without_patrol"] == 1 and first["C"]["last_patrol_date"] == date(2024, 4, 28)

    day2, day3, day4 = (rows(history, d) for d in days(date(2024, 5, 2), 3))
    assert day2["B"]["status"] == "under" and day2["B"]["days_without_patrol"] == 0  # patrol outside the window
    assert [d["C"]["days_without_patrol"] for d in (first, day2, day3, day4)] == [1, 2, 3, 4]
    assert [d["A"]["days_without_patrol"] for d in (first, day2, day3, day4)] == [0, 1, 0, 1]
    assert day4["A"]["last_patrol_date"] == date(2024, 5, 3)
    assert [d["A"]["status"] for d in (first, day2, day3, day4)] == ["met", "none", "met", "none"]
    # ratios: delivered / target summed over the days so far in the 7- and 28-day windows
    assert day2["A"]["ratio_7d"] == pytest.approx(20 / 30)
    assert day4["A"]["ratio_7d"] == pytest.approx(35 / 60) and day4["A"]["ratio_28d"] == pytest.approx(35 / 60)
    assert day4["D"]["ratio_7d"] == pytest.approx(20 / 120)
    assert day4["C"]["ratio_7d"] == 0


def test_rebuild_is_idempotent(history):
    from hotspots.compliance import build_compliance
    from hotspots.settings import reload_settings

    settings = reload_settings()
    first = build_compliance(history, force=FORCE, date=D1, settings=settings)
    before = rows(history, D1)
    again = build_compliance(history, force=FORCE, date=D1, settings=settings)
    assert (
        first
        == again
        == {
            "force": FORCE,
            "date": "2024-05-01",
            "selection_id": "sel1",
            "hotspots": 4,
            "met": 1,
            "under": 2,
            "none": 1,
            "not_planned": 0,
        }
    )
    assert rows(history, D1) == before
    assert history.execute("SELECT count(*) FROM daily_compliance").fetchone()[0] == 4


def test_selection_change_restarts_streaks(warehouse, settings):
    from hotspots.compliance import build_compliance

    add_selection(warehouse, ["A", "C"], D1, effective_to=date(2024, 5, 2))
    add_selection(warehouse, ["A", "E"], date(2024, 5, 3), selection_id="sel2")
    for day in days(D1, 4):
        build_compliance(warehouse, force=FORCE, date=day, settings=settings)
    day4 = rows(warehouse, date(2024, 5, 4))
    assert set(day4) == {"A", "E"} and day4["E"]["selection_id"] == "sel2"
    assert day4["E"]["days_without_patrol"] == 2 and day4["A"]["days_without_patrol"] == 4
    assert set(rows(warehouse, date(2024, 5, 2))) == {"A", "C"}


def test_no_selection_gives_no_rows(warehouse, settings):
    from hotspots.compliance import build_compliance

    assert build_compliance(warehouse, force=FORCE, date=D1, settings=settings)["hotspots"] == 0
    assert warehouse.execute("SELECT count(*) FROM daily_compliance").fetchone()[0] == 0


def test_bad_overrides_file_names_file_and_column(tmp_path):
    from hotspots.compliance import TargetOverridesError, load_target_overrides

    bad = tmp_path / "t.csv"
    bad.write_text("area,minutes\nA,10\n")
    with pytest.raises(TargetOverridesError, match=r"t\.csv.*target_minutes"):
        load_target_overrides(bad)
    bad.write_text("area_code,target_minutes\nA,ten\n")
    with pytest.raises(TargetOverridesError, match=r"line 2, column target_minutes"):
        load_target_overrides(bad)


def test_daily_plan_draws_k_reproducibly(warehouse, settings, monkeypatch):
    from hotspots.compliance import build_compliance
    from hotspots.plan import day_seed, draw, make_plan
    from hotspots.settings import reload_settings

    monkeypatch.setenv("HOTSPOTS_PLAN_K", "2")
    monkeypatch.setenv("HOTSPOTS_PLAN_SEED", "42")
    settings = reload_settings()
    codes = ["A", "B", "C", "D", "E"]
    add_selection(warehouse, codes, D1)
    expected = draw(codes, 2, day_seed(42, FORCE, D1))
    assert make_plan(warehouse, force=FORCE, date=D1, settings=settings) == expected
    assert make_plan(warehouse, force=FORCE, date=D1, settings=settings) == expected  # never redrawn
    stored = warehouse.execute(
        "SELECT area_code, planned, draw_order, k, n, plan_seed, day_seed FROM daily_plan "
        "WHERE planned ORDER BY draw_order"
    ).fetchall()
    assert stored == [(code, True, i + 1, 2, 5, 42, day_seed(42, FORCE, D1)) for i, code in enumerate(expected)]
    other_days = {tuple(draw(codes, 2, day_seed(42, FORCE, d))) for d in days(D1, 10)}
    assert len(other_days) > 1  # the draw changes from day to day

    unplanned = sorted(set(codes) - set(expected))
    add_feed(warehouse, D1)
    build_compliance(warehouse, force=FORCE, date=D1, settings=settings)
    day = rows(warehouse, D1)
    assert {c for c, r in day.items() if r["planned"]} == set(expected)
    assert all(day[c]["status"] == "not_planned" and day[c]["target_minutes"] == 0 for c in unplanned)
    assert all(day[c]["status"] == "none" and day[c]["target_minutes"] == 15 for c in expected)


def _truth(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_sample_truth_compliance_and_alerts(warehouse, settings, request):
    """Truth patrol table + truth hot spots -> the sample's compliance.csv and alerts.csv, exactly."""
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    sample = request.getfixturevalue("sample")
    truth = sample.truth_dir
    manifest = json.loads((truth / "manifest.json").read_text())
    hotspots = [r["area_code"] for r in sorted(_truth(truth / "hotspots.csv"), key=lambda r: int(r["rank"]))]
    start = date.fromisoformat(manifest["effective_from"])
    add_selection(warehouse, hotspots, start, force=sample.force)
    for r in _truth(truth / "patrol.csv"):
        warehouse.execute(
            "INSERT INTO daily_patrol VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [
                sample.force,
                r["area_code"],
                r["date"],
                float(r["patrol_minutes"]),
                float(r["officer_minutes"]),
                int(r["visits"]),
                int(r["koper_visits"]),
                int(r["devices"]),
                float(r["window_minutes"]),
                float(r["longest_visit_minutes"]),
            ],
        )
    raised = set()
    for day in sorted(sample.avl_dates):
        build_compliance(warehouse, force=sample.force, date=day, settings=settings)
        raised.update(raise_alerts(warehouse, force=sample.force, date=day, settings=settings))

    expected = _truth(truth / "compliance.csv")
    columns = ["target_minutes", "delivered_minutes", "patrol_minutes", "status", "days_without_patrol"]
    cursor = warehouse.execute(
        f"SELECT area_code, date::VARCHAR, {', '.join(columns)} FROM daily_compliance WHERE force = ?", [sample.force]
    )
    got = {(r[0], r[1]): dict(zip(columns, r[2:])) for r in cursor.fetchall()}
    assert set(got) == {(r["area_code"], r["date"]) for r in expected}
    for row in expected:
        mine = got[(row["area_code"], row["date"])]
        assert mine["status"] == row["status"], (row, mine)
        assert mine["days_without_patrol"] == int(row["days_without_patrol"]), (row, mine)
        for column in ("target_minutes", "delivered_minutes", "patrol_minutes"):
            assert mine[column] == pytest.approx(float(row[column]), abs=1e-6), (row, column, mine)

    want = {
        (r["rule"], f"{r['rule']}|{sample.force}|{r['area_code']}|{r['date']}", r["severity"], r["audience"])
        for r in _truth(truth / "alerts.csv")
    }
    assert want, "the sample should call for some alerts"
    stored = set(
        warehouse.execute(
            "SELECT rule, alert_key, severity, audience FROM alerts WHERE force = ?", [sample.force]
        ).fetchall()
    )
    assert stored == want
    assert raised == {key for _, key, _, _ in want}
