"""Inputs of an evaluation: the plan, the delivered dose and the crimes, as place-day frames.

The same path serves files (the command on force-records extracts, a plan CSV and a patrol CSV, loaded into a
scratch warehouse by the project's loaders) and the warehouse (daily_plan or daily_compliance, daily_patrol,
stg_crimes). Crimes are counted by sql/transform/evaluation_crimes.sql and placed into place-days and rings by
sql/transform/evaluation_place_days.sql.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from hotspots.evaluation import estimators
from hotspots.settings import Settings
from hotspots.validation.core import InputFileError
from hotspots.warehouse import read_sql

PLAN_COLUMNS = ("date", "area_code", "planned")
PATROL_COLUMNS = ("area_code", "date", "patrol_minutes", "window_minutes", "koper_visits")
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}


def _rows(path: Path, required: tuple[str, ...], what: str) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        found = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
        missing = [c for c in required if c not in found]
        if missing:
            raise InputFileError(
                f"{path}: the {what} lacks column(s) {missing}; its header must name {', '.join(required)}."
            )
        reader.fieldnames = found
        return list(reader)


def _day(value: str, path: Path, line: int) -> date:
    try:
        return date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        raise InputFileError(f"{path}, line {line}, column date: {value!r} is not a date (YYYY-MM-DD).") from None


def read_plan(path: Path) -> pd.DataFrame:
    """The plan CSV (date, area_code, planned: one row per hot spot per day, planned true or false)."""
    rows = []
    for line, row in enumerate(_rows(path, PLAN_COLUMNS, "plan"), start=2):
        word = (row["planned"] or "").strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise InputFileError(f"{path}, line {line}, column planned: {row['planned']!r} is not true or false.")
        code = (row["area_code"] or "").strip()
        if not code:
            raise InputFileError(f"{path}, line {line}, column area_code: empty; every row names its hot spot.")
        rows.append((_day(row["date"], path, line), code, word in TRUE_WORDS))
    frame = pd.DataFrame(rows, columns=["date", "area_code", "planned"])
    if frame.empty:
        raise InputFileError(f"{path}: the plan has no rows; it needs one row per hot spot per day.")
    repeated = frame.duplicated(["date", "area_code"])
    if repeated.any():
        first = frame[repeated].iloc[0]
        raise InputFileError(
            f"{path}: hot spot {first.area_code} is in the plan twice on {first.date}; one row per hot spot per day."
        )
    return frame


def read_patrol(path: Path) -> pd.DataFrame:
    """The daily patrol CSV as `hotspots patrol-minutes` writes it."""
    rows = []
    for line, row in enumerate(_rows(path, PATROL_COLUMNS, "patrol file"), start=2):
        try:
            values = [float(row[c]) for c in ("patrol_minutes", "window_minutes", "koper_visits")]
        except (TypeError, ValueError):
            raise InputFileError(
                f"{path}, line {line}: patrol_minutes, window_minutes and koper_visits must be numbers."
            ) from None
        rows.append(((row["area_code"] or "").strip(), _day(row["date"], path, line), *values))
    return pd.DataFrame(rows, columns=["area_code", "date", "patrol_minutes", "window_minutes", "koper_visits"])


def warehouse_plan(con: duckdb.DuckDBPyConnection, force: str) -> pd.DataFrame:
    """The stored plan (daily_plan), else every hot spot every day from daily_compliance (no randomised plan)."""
    plan = con.execute(
        "SELECT date, area_code, planned FROM daily_plan WHERE force = ? ORDER BY date, area_code", [force]
    ).df()
    if plan.empty:
        plan = con.execute(
            "SELECT date, area_code, planned FROM daily_compliance WHERE force = ? ORDER BY date, area_code", [force]
        ).df()
    if plan.empty:
        raise InputFileError(
            f"warehouse: no plan or compliance rows for force {force!r}; run the pipeline (patrol_compliance) first, "
            "or pass --records, --plan and --areas."
        )
    plan["date"] = pd.to_datetime(plan["date"]).dt.date
    return plan


def warehouse_patrol(con: duckdb.DuckDBPyConnection, force: str) -> pd.DataFrame:
    return con.execute(
        "SELECT area_code, date, patrol_minutes, window_minutes, koper_visits FROM daily_patrol WHERE force = ?",
        [force],
    ).df()


@dataclass(frozen=True)
class Inputs:
    plan: pd.DataFrame  # date, area_code, planned
    patrol: pd.DataFrame | None  # area_code, date, patrol_minutes, window_minutes, koper_visits


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, columns: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
    if not frame.empty:
        con.register("_eval_frame", frame)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _eval_frame")
        con.unregister("_eval_frame")


def place_days(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    places: pd.DataFrame,
    hotspots: list[str],
    patrol: pd.DataFrame | None,
    settings: Settings,
) -> pd.DataFrame:
    """The place-day frame of ``places`` (area_code, date, treated) with dose, crimes, harm and ring crimes."""
    first, last = min(places["date"]), max(places["date"])
    _register(
        con, "eval_places", places[["area_code", "date", "treated"]], "area_code VARCHAR, date DATE, treated BOOLEAN"
    )
    _register(con, "eval_hot", pd.DataFrame({"area_code": sorted(set(hotspots))}), "area_code VARCHAR")
    dose = patrol if patrol is not None else pd.DataFrame(columns=list(PATROL_COLUMNS))
    _register(
        con,
        "eval_patrol",
        dose[list(PATROL_COLUMNS)],
        "area_code VARCHAR, date DATE, patrol_minutes DOUBLE, window_minutes DOUBLE, koper_visits INTEGER",
    )
    params = {
        "force": force,
        "first_day": first,
        "last_day": last,
        "crime_types": list(settings.crime_types),
        "weights": settings.harm_weights,
        "exclude_proactive": settings.exclude_proactive,
    }
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE eval_crimes AS ({read_sql('transform/evaluation_crimes', settings)})", params
    )
    frame = con.execute(
        read_sql("transform/evaluation_place_days", settings), {"force": force, "ring_m": settings.displacement_ring_m}
    ).df()
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def evaluate(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    inputs: Inputs,
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
) -> dict:
    """The evaluation of a plan: a randomised trial when some place-days were not drawn, else before/after
    against matched comparison areas (the same number of days before the first planned day)."""
    plan = inputs.plan
    if start is not None:
        plan = plan[plan["date"] >= start]
    if end is not None:
        plan = plan[plan["date"] <= end]
    if plan.empty:
        raise InputFileError(f"the plan has no rows between {start or 'its start'} and {end or 'its end'}.")
    opts = estimators.Options.from_settings(settings, force=force)
    delivered = inputs.patrol is not None and not inputs.patrol.empty
    hotspots = sorted(plan["area_code"].unique())
    places = plan.rename(columns={"planned": "treated"})
    if not places["treated"].all():
        frame = place_days(con, force=force, places=places, hotspots=hotspots, patrol=inputs.patrol, settings=settings)
        result = estimators.evaluate_frame(frame, opts, delivered=delivered)
    else:
        result = before_after(con, force=force, places=places, hotspots=hotspots, inputs=inputs, settings=settings)
        result["redraws"] = 0
    result["force"] = force
    result["settings"] = {
        "harm_weights": settings.harm_weights,
        "crime_types": list(settings.crime_types),
        "displacement_ring_m": settings.displacement_ring_m,
        "evaluation_seed": settings.evaluation_seed,
    }
    return result


def before_after(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    places: pd.DataFrame,
    hotspots: list[str],
    inputs: Inputs,
    settings: Settings,
) -> dict:
    """Every hot spot every day: difference in differences against the areas nearest in harm rank before."""
    first, last = min(places["date"]), max(places["date"])
    span = (last - first).days + 1
    before_start = first - timedelta(days=span)
    params = {
        "force": force,
        "first_day": before_start,
        "last_day": first - timedelta(days=1),
        "crime_types": list(settings.crime_types),
        "weights": settings.harm_weights,
        "exclude_proactive": settings.exclude_proactive,
    }
    query = read_sql("transform/evaluation_crimes", settings)
    harm = con.execute(
        f"SELECT a.area_code, coalesce(sum(c.harm), 0) AS harm FROM stg_areas AS a LEFT JOIN ({query}) AS c "
        "ON a.area_code = c.area_code WHERE a.force = $force GROUP BY a.area_code",
        params,
    ).df()
    matches = estimators.match_comparisons(
        harm.set_index("area_code")["harm"], hotspots, settings.comparison_per_hotspot
    )
    comparisons = sorted({c for picks in matches.values() for c in picks})
    days = [before_start + timedelta(days=i) for i in range(2 * span)]
    grid = pd.MultiIndex.from_product([hotspots + comparisons, days], names=["area_code", "date"]).to_frame(False)
    grid["treated"] = grid["area_code"].isin(hotspots) & (grid["date"] >= first)
    frame = place_days(con, force=force, places=grid, hotspots=hotspots, patrol=inputs.patrol, settings=settings)
    panel = frame.assign(
        hotspot=frame["area_code"].isin(hotspots).to_numpy(), after=(frame["date"].dt.date >= first).to_numpy()
    )
    did = estimators.difference_in_differences(panel)
    after_hot = panel[panel["hotspot"] & panel["after"]]
    opts = estimators.Options.from_settings(settings, force=force)
    delivered = inputs.patrol is not None and not inputs.patrol.empty
    dose, koper = estimators.dose_response(after_hot, opts) if delivered else ([], [])
    return {
        "design": "before_after",
        "treated_place_days": int(len(after_hot)),
        "control_place_days": int((~panel["hotspot"] & panel["after"]).sum()),
        "hotspots": len(hotspots),
        "comparison_areas": comparisons,
        "days": span,
        "start": str(first),
        "end": str(last),
        "before_start": str(before_start),
        "crimes": int(after_hot["count"].sum()),
        "itt": {k: did[k] for k in ("count", "harm", "prevalence")},
        "dose_response": dose,
        "koper_response": koper,
        "carry_over": estimators.carry_over(after_hot, opts, delivered=True) if delivered else {},
        "displacement": {"ring_m": settings.displacement_ring_m, "ring": did["ring"]}
        | {k: did[k] for k in ("counts", "success_measure", "buffer_measure", "wdq", "wdd", "wdd_se", "wdd_z")}
        | {"wdd_p_value": did["wdd_p_value"]},
        "difference_in_differences": {k: did[k] for k in ("count", "harm", "prevalence", "ring")},
    }
