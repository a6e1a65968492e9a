"""Funder returns (Home Office hot-spot funding): patrol hours, visits, Koper visits and compliance per hot spot
and in total, for a month (2025-03) or a quarter (2025Q1), from the warehouse (sql/transform/funder_returns.sql).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from hotspots.settings import Settings
from hotspots.warehouse import read_sql

FORMATS = ("csv", "xlsx")


class PeriodError(ValueError):
    """A period that is neither YYYY-MM nor YYYYQn."""


def parse_period(text: str) -> tuple[date, date]:
    """'2025-03' -> (2025-03-01, 2025-03-31); '2025Q1' -> (2025-01-01, 2025-03-31)."""
    text = text.strip().upper()
    month = re.fullmatch(r"(\d{4})-(\d{2})", text)
    quarter = re.fullmatch(r"(\d{4})Q([1-4])", text)
    if month and 1 <= int(month.group(2)) <= 12:
        year, first_month, months = int(month.group(1)), int(month.group(2)), 1
    elif quarter:
        year, first_month, months = int(quarter.group(1)), 3 * int(quarter.group(2)) - 2, 3
    else:
        raise PeriodError(f"{text!r} is not a period: write a month as 2025-03 or a quarter as 2025Q1.")
    first = date(year, first_month, 1)
    after = date(year + (first_month + months - 1) // 12, (first_month + months - 1) % 12 + 1, 1)
    return first, after - timedelta(days=1)


def funder_returns(
    con: duckdb.DuckDBPyConnection, *, period: str, settings: Settings, force: str | None = None
) -> pd.DataFrame:
    """One row per force and hot spot, then the force's TOTAL row, for the period."""
    first, last = parse_period(period)
    frame = con.execute(
        read_sql("transform/funder_returns", settings), {"first_day": first, "last_day": last, "force": force}
    ).df()
    frame.insert(1, "period", period.strip().upper())
    return frame


def write_returns(frame: pd.DataFrame, out: Path, fmt: str) -> Path:
    """The return as CSV, or as an Excel workbook (openpyxl, pinned) with one sheet named return."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(out, index=False)
        return out
    frame.to_excel(out, index=False, sheet_name="return", engine="openpyxl")
    return out
