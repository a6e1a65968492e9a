"""Back-test of the hot-spot rule: select on a training window, score the list on the following test window.

The selection is the project's own (selection.rank_areas over sql/transform/hotspot_ranking.sql, the same
weights, crime types, min-events, consistency and budget rules as the DAG); the test window's harm per area is
the same query run over the test months. Scores (docs/targeting.md):

- harm_share: share of the test window's harm that fell in the selected areas;
- events_share: share of the test window's counted events in them;
- pai: predictive accuracy index, harm_share / area_share (1 = no better than chance);
- spearman: rank correlation of every area's harm between the two windows (rank stability).

Baselines: ``last_year_count`` = the same number of areas ranked by plain counts over the last 12 months of the
training window (or the whole window when shorter); ``random`` = the expectation of a random pick of that many
areas (harm and events share = area share, pai = 1).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import duckdb
from scipy import stats

from hotspots.harm import load_harm_weights
from hotspots.selection import CANDIDATE, _check_weights, month_start, rank_areas
from hotspots.settings import Settings

BASELINE_MONTHS = 12


class BacktestError(ValueError):
    """A back-test the data cannot support (too few months, no areas, no crimes): the user's to fix."""


def add_months(month: date, n: int) -> date:
    """The first day of the month n months after (n < 0: before) ``month``."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_text(month: date) -> str:
    return month.isoformat()[:7]


@dataclass(frozen=True)
class Window:
    """A training window and the test window right after it, as first days of months (both ends included)."""

    train_first: date
    train_last: date
    test_first: date
    test_last: date

    def as_dict(self) -> dict:
        return {
            "train": [month_text(self.train_first), month_text(self.train_last)],
            "test": [month_text(self.test_first), month_text(self.test_last)],
        }


def make_window(test_last: date, train_months: int, test_months: int) -> Window:
    """The window whose test period ends with ``test_last``."""
    test_first = add_months(test_last, -(test_months - 1))
    train_last = add_months(test_first, -1)
    return Window(add_months(train_last, -(train_months - 1)), train_last, test_first, test_last)


def windows(
    first: date,
    last: date,
    *,
    train_months: int,
    test_months: int,
    rolling: bool = False,
    step_months: int | None = None,
) -> list[Window]:
    """The windows the data from ``first`` to ``last`` (months) support.

    Single: the test period ends with ``last``. Rolling: the first training window starts with ``first``; each
    next window starts ``step_months`` later (default: test_months), as long as its test period ends by ``last``.
    """
    if train_months < 1 or test_months < 1:
        raise BacktestError("train and test windows need at least one month each.")
    first, last = month_start(first), month_start(last)
    span = (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1
    if span < train_months + test_months:
        raise BacktestError(
            f"the crime data cover {month_text(first)}..{month_text(last)} ({span} months); a back-test of "
            f"{train_months} training and {test_months} test months needs {train_months + test_months}. "
            "Load more months or shorten --train-months / --test-months."
        )
    if not rolling:
        return [make_window(last, train_months, test_months)]
    step = step_months or test_months
    if step < 1:
        raise BacktestError("--step-months must be at least 1.")
    out = []
    test_last = add_months(first, train_months + test_months - 1)
    while test_last <= last:
        out.append(make_window(test_last, train_months, test_months))
        test_last = add_months(test_last, step)
    return out


def _ranked(con: duckdb.DuckDBPyConnection, name: str, *, force: str, settings: Settings, end_month: date) -> None:
    """The project's ranking (selection.rank_areas) into the temporary table ``name``."""
    rank_areas(con, force=force, settings=settings, end_month=end_month)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {CANDIDATE}")
    con.execute(f"DROP TABLE {CANDIDATE}")


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _pai(share: float | None, area_share: float) -> float | None:
    return share / area_share if share is not None and area_share > 0 else None


def _scores(rows: list[tuple], flag: int, n_areas: int) -> dict:
    """harm_share, events_share, pai of the areas whose column ``flag`` is true; rows: see score_window."""
    chosen = [r for r in rows if r[flag]]
    total_harm = sum(r[3] for r in rows)
    total_events = sum(r[4] for r in rows)
    area_share = len(chosen) / n_areas if n_areas else 0.0
    harm_share = _share(sum(r[3] for r in chosen), total_harm)
    return {
        "selected": len(chosen),
        "area_share": area_share,
        "harm_share": harm_share,
        "events_share": _share(sum(r[4] for r in chosen), total_events),
        "pai": _pai(harm_share, area_share),
    }


def score_window(con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, window: Window) -> dict:
    """Select on the window's training months, score on its test months; returns the scores and baselines."""
    train_months = _months(window.train_first, window.train_last)
    test_months = _months(window.test_first, window.test_last)
    _ranked(
        con,
        "bt_train",
        force=force,
        settings=_with(settings, lookback_months=train_months),
        end_month=window.train_last,
    )
    selected = con.execute("SELECT count(*) FROM bt_train WHERE selected").fetchone()[0]
    # The test window: harm and events per area over the test months only (selection rules do not matter there).
    _ranked(
        con,
        "bt_test",
        force=force,
        settings=_with(settings, lookback_months=test_months, consistency_years_k=0, min_events=0),
        end_month=window.test_last,
    )
    baseline = _with(
        settings,
        harm_weights="count",
        lookback_months=min(BASELINE_MONTHS, train_months),
        budget_mode="top",
        hotspot_count=max(selected, 1),
    )
    _ranked(con, "bt_base", force=force, settings=baseline, end_month=window.train_last)
    rows = con.execute(
        "SELECT a.area_code, a.harm, a.selected, t.harm, t.events, b.selected AND {sel} "
        "FROM bt_train AS a JOIN bt_test AS t USING (area_code) JOIN bt_base AS b USING (area_code) "
        "ORDER BY a.rank".format(sel="TRUE" if selected else "FALSE")
    ).fetchall()
    for name in ("bt_train", "bt_test", "bt_base"):
        con.execute(f"DROP TABLE {name}")
    n_areas = len(rows)
    train_total = sum(r[1] for r in rows)
    rule = _scores(rows, 2, n_areas)
    rule["train_harm_share"] = _share(sum(r[1] for r in rows if r[2]), train_total)
    rule["spearman"], rule["spearman_p"] = _spearman([r[1] for r in rows], [r[3] for r in rows])
    area_share = rule["area_share"]
    return {
        **window.as_dict(),
        "areas": n_areas,
        "test_harm": float(sum(r[3] for r in rows)),
        "test_events": int(sum(r[4] for r in rows)),
        **rule,
        "hotspots": [r[0] for r in rows if r[2]],
        "baselines": {
            "last_year_count": _scores(rows, 5, n_areas),
            "random": {
                "selected": rule["selected"],
                "area_share": area_share,
                "harm_share": area_share,
                "events_share": area_share,
                "pai": 1.0 if area_share > 0 else None,
            },
        },
    }


def _months(first: date, last: date) -> int:
    return (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1


def _with(settings: Settings, **changes) -> Settings:
    return settings.model_copy(update=changes)


def _spearman(train: list[float], test: list[float]) -> tuple[float | None, float | None]:
    """Spearman's rho of every area's harm in the two windows (ties get mean ranks); None when a side is constant."""
    if len(train) < 3 or len(set(train)) < 2 or len(set(test)) < 2:
        return None, None
    result = stats.spearmanr(train, test)
    rho, p = float(result.statistic), float(result.pvalue)
    return (None, None) if math.isnan(rho) else (rho, p)


SUMMARY_KEYS = ("harm_share", "events_share", "pai", "spearman")


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def backtest(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    settings: Settings,
    train_months: int,
    test_months: int,
    rolling: bool = False,
    step_months: int | None = None,
    last_month: str | date | None = None,
) -> dict:
    """Back-test the selection rule of ``settings`` on the force's crimes in the warehouse.

    The data's months are those of stg_crimes for the force; ``last_month`` ends the (last) test window earlier.
    Returns the parameters, one entry per window and, for several windows, the mean of each score.
    """
    load_harm_weights(con, settings)
    _check_weights(con, settings)
    if not con.execute("SELECT count(*) FROM stg_areas WHERE force = ?", [force]).fetchone()[0]:
        raise BacktestError(f"no areas for force {force!r}; load the area boundaries first.")
    first, last = con.execute("SELECT min(month), max(month) FROM counted_crimes WHERE force = ?", [force]).fetchone()
    if first is None:
        raise BacktestError(f"no crimes for force {force!r}; load crime files first.")
    if last_month is not None:
        last = min(month_start(last), month_start(last_month))
    found = windows(
        first, last, train_months=train_months, test_months=test_months, rolling=rolling, step_months=step_months
    )
    results = [score_window(con, force=force, settings=settings, window=w) for w in found]
    budget = {"top": settings.hotspot_count, "area_share": settings.area_share, "harm_share": settings.harm_share}
    summary = {key: _mean([r[key] for r in results]) for key in SUMMARY_KEYS}
    summary["last_year_count_harm_share"] = _mean([r["baselines"]["last_year_count"]["harm_share"] for r in results])
    summary["random_harm_share"] = _mean([r["baselines"]["random"]["harm_share"] for r in results])
    return {
        "force": force,
        "params": {
            "weights": settings.harm_weights,
            "crime_types": list(settings.crime_types),
            "train_months": train_months,
            "test_months": test_months,
            "rolling": rolling,
            "step_months": (step_months or test_months) if rolling else None,
            "min_events": settings.min_events,
            "consistency_years_k": settings.consistency_years_k,
            "consistency_years_n": settings.consistency_years_n,
            "exclude_proactive": settings.exclude_proactive,
            "budget_mode": settings.budget_mode,
            "budget": budget[settings.budget_mode],
        },
        "data_months": [month_text(month_start(first)), month_text(month_start(last))],
        "windows": results,
        "mean": summary,
    }


SCORE_COLUMNS = (
    "areas",
    "selected",
    "area_share",
    "train_harm_share",
    "harm_share",
    "events_share",
    "pai",
    "spearman",
    "count_harm_share",
    "count_pai",
    "random_harm_share",
)


def _row(result: dict, w: dict) -> dict:
    base, rand = w["baselines"]["last_year_count"], w["baselines"]["random"]
    p = result["params"]
    return {
        "force": result["force"],
        "train_first": month_start(w["train"][0]),
        "train_last": month_start(w["train"][1]),
        "test_first": month_start(w["test"][0]),
        "test_last": month_start(w["test"][1]),
        "weights": p["weights"],
        "budget_mode": p["budget_mode"],
        "budget": float(p["budget"]),
        "params": json.dumps(p, sort_keys=True),
        "areas": w["areas"],
        "selected": w["selected"],
        "area_share": w["area_share"],
        "train_harm_share": w["train_harm_share"],
        "harm_share": w["harm_share"],
        "events_share": w["events_share"],
        "pai": w["pai"],
        "spearman": w["spearman"],
        "count_harm_share": base["harm_share"],
        "count_pai": base["pai"],
        "random_harm_share": rand["harm_share"],
    }


def store_backtest(con: duckdb.DuckDBPyConnection, result: dict) -> int:
    """Write each window of a back-test result to backtest_scores; a window already stored with the same
    parameters and scores is left as it is (idempotent). Returns the rows written."""
    from datetime import datetime, timezone

    from hotspots.warehouse import transaction

    key = ("force", "train_first", "test_last", "weights", "budget_mode", "budget")
    kept = ("params", "train_last", "test_first", *SCORE_COLUMNS)
    written = 0
    with transaction(con):
        for w in result["windows"]:
            row = _row(result, w)
            where = " AND ".join(f"{k} = ?" for k in key)
            old = con.execute(f"SELECT {', '.join(kept)} FROM backtest_scores WHERE {where}", [row[k] for k in key])
            existing = old.fetchone()
            if existing is not None and _same(existing, [row[k] for k in kept]):
                continue
            con.execute(f"DELETE FROM backtest_scores WHERE {where}", [row[k] for k in key])
            columns = list(row) + ["created_at"]
            con.execute(
                f"INSERT INTO backtest_scores ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                list(row.values()) + [datetime.now(timezone.utc).replace(tzinfo=None)],
            )
            written += 1
    return written


def _same(stored: tuple, new: list) -> bool:
    for a, b in zip(stored, new):
        if isinstance(b, float) and a is not None:
            if not math.isclose(float(a), b, rel_tol=1e-12, abs_tol=1e-12):
                return False
        elif a != b:
            return False
    return True


def latest_backtests(con: duckdb.DuckDBPyConnection, force: str, limit: int = 3) -> list[dict]:
    """The most recent stored windows of the force (latest test window first), for the report."""
    cur = con.execute(
        "SELECT train_first, train_last, test_first, test_last, weights, budget_mode, budget, "
        + ", ".join(SCORE_COLUMNS)
        + " FROM backtest_scores WHERE force = ? ORDER BY test_last DESC, train_first DESC, weights LIMIT ?",
        [force, limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]
