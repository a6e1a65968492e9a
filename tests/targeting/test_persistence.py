"""Persistence classes over three years of hand-built harm, and selection requiring them."""

from __future__ import annotations

import json
from datetime import date

import pytest
from targeting_rows import FORCE, R, V, add_areas, add_crimes

from hotspots.selection import select_hotspots
from hotspots.targeting.persistence import classify

END = date(2024, 12, 1)


@pytest.fixture
def years(warehouse):
    """Years (12 months ending 2024-12): 0 = 2024, 1 = 2023, 2 = 2022. Five areas, 2 hot a year (40%).

    P: 2 robberies a year (730) -> hot every year. E: 2 violence in 2023 and 2024 -> hot in years 0, 1.
    I: 2 violence in 2022 only -> hot in year 2. J: 1 violence in 2024 (200, third that year) -> never hot.
    N: 9 robberies in 2021-12 (before the three years) -> never hot.
    """
    add_areas(warehouse, list("PEIJN"))
    add_crimes(
        warehouse,
        [
            ("N", "2021-12", R, 9),
            ("P", "2022-03", R, 2),
            ("I", "2022-01", V, 2),
            ("P", "2023-06", R, 2),
            ("E", "2023-01", V, 2),
            ("P", "2024-12", R, 2),
            ("E", "2024-01", V, 2),
            ("J", "2024-05", V, 1),
        ],
    )
    return warehouse


def with_(settings, **changes):
    return settings.model_copy(update={"persistence_hot_share": 0.4} | changes)


def test_classes_by_hand(years, settings):
    result = classify(years, force=FORCE, settings=with_(settings), end_month=END)
    got = {a["area_code"]: (a["persistence"], a["years_hot"], a["hot_years_back"]) for a in result["areas"]}
    assert got == {
        "P": ("persistent", 3, [0, 1, 2]),
        "E": ("emerging", 2, [0, 1]),
        "I": ("intermittent", 1, [2]),
        "J": ("none", 0, []),
        "N": ("none", 0, []),
    }
    assert result["counts"] == {"persistent": 1, "emerging": 1, "intermittent": 1, "none": 2}
    assert result["months_with_data"] == 7  # 2021-12 is outside
    # With the persistent share at 2/3, E (hot in 2 of 3 years, the latest included) is persistent too.
    lower = classify(years, force=FORCE, settings=with_(settings, persistence_persistent_share=0.6), end_month=END)
    assert {a["area_code"]: a["persistence"] for a in lower["areas"]}["E"] == "persistent"
    # One year ending 2023-12: P and E are hot (2023), I not (2022 is outside).
    one = classify(years, force=FORCE, settings=with_(settings, persistence_years=1), end_month=date(2023, 12, 1))
    assert {a["area_code"] for a in one["areas"] if a["persistence"] == "persistent"} == {"P", "E"}


def test_selection_can_require_persistence(years, settings):
    base = with_(settings, hotspot_count=3, min_events=1, lookback_months=12)
    free = select_hotspots(years, force=FORCE, settings=base, as_of_month="2024-12")
    assert free["hotspots"] == ["P", "E", "J"]
    assert "persistence_classes" not in free["params"]
    strict = select_hotspots(
        years,
        force=FORCE,
        settings=base.model_copy(update={"selection_persistence": ["persistent"]}),
        as_of_month="2024-12",
    )
    assert strict["hotspots"] == ["P"]
    assert strict["params"]["persistence_classes"] == ["persistent"]
    both = select_hotspots(
        years,
        force=FORCE,
        settings=base.model_copy(update={"selection_persistence": ["persistent", "emerging"]}),
        as_of_month="2024-12",
    )
    assert both["hotspots"] == ["P", "E"]
    stored = years.execute("SELECT params FROM selections WHERE selection_id = ?", [both["selection_id"]]).fetchone()[0]
    assert json.loads(stored)["persistence_years"] == 3


def test_persistence_setting_from_the_environment(monkeypatch, settings):
    from hotspots.settings import reload_settings

    monkeypatch.setenv("HOTSPOTS_SELECTION_PERSISTENCE", "persistent, emerging")
    assert reload_settings().selection_persistence == ["persistent", "emerging"]
    monkeypatch.setenv("HOTSPOTS_SELECTION_PERSISTENCE", "sometimes")
    with pytest.raises(ValueError, match="selection_persistence"):
        reload_settings()
    monkeypatch.delenv("HOTSPOTS_SELECTION_PERSISTENCE")  # before the settings fixture reloads at teardown
