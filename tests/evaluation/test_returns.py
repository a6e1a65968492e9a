"""`hotspots export returns`: the funder return per hot spot and in total, for a month or a quarter."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.returns import PeriodError, parse_period

# (area, day, planned, target, delivered, patrol minutes, koper visits, status, visits in daily_patrol)
DAYS = [
    ("A", date(2025, 3, 30), True, 15, 20, 25, 1, "met", 2),
    ("A", date(2025, 3, 31), True, 15, 5, 5, 0, "under", 1),
    ("B", date(2025, 3, 30), False, 0, 0, 0, 0, "not_planned", None),
    ("B", date(2025, 3, 31), True, 15, 15, 30, 2, "met", 3),
    ("A", date(2025, 2, 28), True, 15, 15, 15, 1, "met", 1),
    ("A", date(2025, 4, 1), True, 15, 15, 15, 1, "met", 1),
]


@pytest.fixture
def published(settings, warehouse):
    from hotspots.warehouse import publish_snapshot

    force, now = settings.forces[0], datetime(2025, 4, 2)
    for area, day, planned, target, delivered, minutes, koper, status, visits in DAYS:
        warehouse.execute(
            "INSERT INTO daily_compliance VALUES "
            "(?, ?, ?, 's1', ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, 0, NULL, NULL, NULL, ?)",
            [force, area, day, planned, target, delivered, minutes, koper, status, now],
        )
        if visits is not None:
            warehouse.execute(
                "INSERT INTO daily_patrol VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, NULL, ?)",
                [force, area, day, minutes, minutes, visits, koper, delivered, now],
            )
    warehouse.execute("CHECKPOINT")
    publish_snapshot(settings)
    return settings


def export(*args: str):
    return CliRunner().invoke(app, ["export", "returns", *args])


def test_periods():
    assert parse_period("2025-03") == (date(2025, 3, 1), date(2025, 3, 31))
    assert parse_period("2025q4") == (date(2025, 10, 1), date(2025, 12, 31))
    assert parse_period("2024Q1") == (date(2024, 1, 1), date(2024, 3, 31))
    with pytest.raises(PeriodError):
        parse_period("2025-13")


def test_month_return_per_hot_spot_and_in_total(published, tmp_path):
    result = export("--period", "2025-03", "--format", "csv", "--out", str(tmp_path / "r.csv"))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "r.csv").set_index("area_code")
    assert list(rows.index) == ["A", "B", "TOTAL"] and set(rows["period"]) == {"2025-03"}
    assert rows.loc["A", ["hotspot_days", "planned_days", "visits", "koper_visits", "days_met"]].tolist() == [
        2,
        2,
        3,
        1,
        1,
    ]
    assert rows.loc["A", "patrol_hours"] == 0.5 and rows.loc["A", "compliance"] == round(25 / 30, 4)
    assert rows.loc["B", "planned_days"] == 1 and rows.loc["B", "compliance"] == 1.0
    total = rows.loc["TOTAL"]
    assert (total["hotspot_days"], total["visits"], total["koper_visits"], total["days_met"]) == (4, 6, 3, 2)
    assert total["patrol_hours"] == 1.0 and total["window_patrol_hours"] == round(40 / 60, 2)
    assert total["target_hours"] == 0.75 and total["compliance"] == round(40 / 45, 4)


def test_quarter_return_takes_the_quarters_days(published, tmp_path):
    assert export("--period", "2025Q1", "--out", str(tmp_path / "q.csv")).exit_code == 0
    rows = pd.read_csv(tmp_path / "q.csv").set_index("area_code")
    assert rows.loc["A", "hotspot_days"] == 3 and rows.loc["A", "patrol_hours"] == 0.75
    assert rows.loc["TOTAL", "hotspot_days"] == 5 and rows.loc["TOTAL", "compliance"] == round(55 / 60, 4)


def test_xlsx_holds_the_same_return_as_the_csv(published, tmp_path):
    assert export("--period", "2025-03", "--out", str(tmp_path / "r.csv")).exit_code == 0
    result = export("--period", "2025-03", "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 0, result.output
    sheet = pd.read_excel(tmp_path / "r.xlsx", sheet_name="return", engine="openpyxl")
    pd.testing.assert_frame_equal(sheet, pd.read_csv(tmp_path / "r.csv"), check_dtype=False)


@pytest.mark.parametrize("args", [["--period", "2025-3"], ["--period", "2025Q1", "--format", "pdf"]])
def test_bad_options_are_one_error_line(published, args):
    result = export(*args)
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.output
