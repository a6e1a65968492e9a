"""Hot-spot selection: rank areas by harm, apply the budget, publish versioned lists, report concentration.

The ranking is SQL (sql/transform/hotspot_ranking.sql) run in DuckDB; this module only orchestrates it and
publishes. A new ``selections`` row is written only when the list of hot spots changes; the previous list
then ends the day before the new one starts. Rerunning with the same data changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from hotspots.harm import key_types, load_harm_weights
from hotspots.settings import Settings
from hotspots.warehouse import read_sql, transaction

log = logging.getLogger(__name__)

CANDIDATE = "selection_candidate"


def month_start(month: str | date) -> date:
    """First day of a month given as 'YYYY-MM' (or a date)."""
    if isinstance(month, date):
        return month.replace(day=1)
    try:
        return datetime.strptime(month.strip()[:7], "%Y-%m").date()
    except ValueError:
        raise ValueError(f"Month {month!r} is not YYYY-MM.") from None


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def selection_params(settings: Settings, *, end_month: date) -> dict:
    """Everything that decides a selection, as stored in selections.params."""
    start = end_month
    for _ in range(settings.lookback_months - 1):
        start = (start - timedelta(days=1)).replace(day=1)
    budget = {"top": settings.hotspot_count, "area_share": settings.area_share, "harm_share": settings.harm_share}
    return {
        "weights": settings.harm_weights,
        "crime_types": list(settings.crime_types),
        "exclude_proactive": settings.exclude_proactive,
        "lookback_months": settings.lookback_months,
        "first_month": start.isoformat()[:7],
        "last_month": end_month.isoformat()[:7],
        "min_events": settings.min_events,
        "consistency_years_k": settings.consistency_years_k,
        "consistency_years_n": settings.consistency_years_n,
        "budget_mode": settings.budget_mode,
        "budget": budget[settings.budget_mode],
    } | _persistence_params(settings)


def _persistence_params(settings: Settings) -> dict:
    """The persistence rule, recorded only when one is set (lists chosen without it keep their ids)."""
    if not settings.selection_persistence:
        return {}
    return {
        "persistence_classes": list(settings.selection_persistence),
        "persistence_years": settings.persistence_years,
        "persistence_hot_share": settings.persistence_hot_share,
        "persistence_persistent_share": settings.persistence_persistent_share,
    }


def _check_weights(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    if settings.harm_weights == "count":
        return
    category = key_types(settings.harm_weights)[0]
    known = {row[0] for row in con.execute("SELECT key FROM harm_weights WHERE key_type = ?", [category]).fetchall()}
    missing = [t for t in settings.crime_types if t not in known]
    if missing:
        raise ValueError(
            f"Crime type(s) {missing} in HOTSPOTS_CRIME_TYPES have no {settings.harm_weights} weight in "
            "include/hotspots/data/ (or the force's weights file) "
            f"(known: {sorted(known)}); fix the spelling or add a weight row."
        )


def sync_crime_source(con: duckdb.DuckDBPyConnection, force: str, settings: Settings) -> None:
    """Record settings.crime_source for the force in force_crime_source (no row for auto), which counted_crimes
    reads: the one owner of which source is counted."""
    con.execute("DELETE FROM force_crime_source WHERE force = ?", [force])
    if settings.crime_source != "auto":
        con.execute("INSERT INTO force_crime_source VALUES (?, ?)", [force, settings.crime_source])


def rank_areas(con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, end_month: date) -> None:
    """Rank every area of the force into the temporary table selection_candidate (see hotspot_ranking.sql)."""
    from hotspots.targeting.persistence import build_persistence

    required = list(settings.selection_persistence)
    build_persistence(con, force=force, settings=settings, end_month=end_month, empty=not required)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CANDIDATE} AS " + read_sql("transform/hotspot_ranking", settings),
        {
            "force": force,
            "end_month": end_month,
            "lookback_months": settings.lookback_months,
            "crime_types": list(settings.crime_types),
            "weights": settings.harm_weights,
            "exclude_proactive": settings.exclude_proactive,
            "min_events": settings.min_events,
            "consistency_k": settings.consistency_years_k,
            "consistency_n": settings.consistency_years_n,
            "budget_mode": settings.budget_mode,
            "hotspot_count": settings.hotspot_count,
            "area_share": settings.area_share,
            "harm_share": settings.harm_share,
            "persistence_classes": required,
        },
    )
    con.execute("DROP TABLE selection_persistence")


def _selection_id(force: str, effective_from: date, params: dict, hotspots: list[str]) -> str:
    payload = json.dumps(
        {"force": force, "effective_from": effective_from.isoformat(), "params": params, "hotspots": hotspots},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _selection_row(con: duckdb.DuckDBPyConnection, where: str, args: list) -> dict | None:
    row = con.execute(
        "SELECT selection_id, effective_from, effective_to, hotspots, added, removed FROM selections "
        f"WHERE {where} ORDER BY effective_from DESC LIMIT 1",
        args,
    ).fetchone()
    if row is None:
        return None
    keys = ("selection_id", "effective_from", "effective_to", "hotspots", "added", "removed")
    return dict(zip(keys, row))


def _publish(
    con: duckdb.DuckDBPyConnection, *, force: str, effective_from: date, params: dict, hotspots: list[str]
) -> tuple[dict, bool]:
    """Write the list as a new selection when it differs from the one in force; returns (selection, changed)."""
    latest = _selection_row(con, "force = ?", [force])
    if latest and effective_from < latest["effective_from"]:
        # An older month rerun after a newer list was published: history is not rewritten.
        in_force = _selection_row(
            con,
            "force = ? AND effective_from <= ? AND (effective_to IS NULL OR effective_to >= ?)",
            [force, effective_from, effective_from],
        )
        log.warning(
            "Selection for %s from %s not published: a list from %s is already published.",
            force,
            effective_from,
            latest["effective_from"],
        )
        return (in_force or latest), False
    if latest and latest["hotspots"] == hotspots:
        return latest, False

    previous = latest
    if latest and latest["effective_from"] == effective_from:
        # Same month recomputed on corrected data: the new list replaces the one published for it.
        con.execute("DELETE FROM hotspot_ranking WHERE force = ? AND selection_id = ?", [force, latest["selection_id"]])
        con.execute("DELETE FROM selections WHERE force = ? AND selection_id = ?", [force, latest["selection_id"]])
        previous = _selection_row(con, "force = ? AND effective_from < ?", [force, effective_from])
    before = set(previous["hotspots"]) if previous else set()
    added = [code for code in hotspots if code not in before]
    removed = sorted(before - set(hotspots))
    selection_id = _selection_id(force, effective_from, params, hotspots)
    if previous:
        con.execute(
            "UPDATE selections SET effective_to = ? WHERE force = ? AND selection_id = ?",
            [effective_from - timedelta(days=1), force, previous["selection_id"]],
        )
    con.execute(
        "INSERT INTO selections VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?)",
        [
            force,
            selection_id,
            effective_from,
            json.dumps(params),
            hotspots,
            added,
            removed,
            datetime.now(timezone.utc).replace(tzinfo=None),
        ],
    )
    con.execute(
        f"""INSERT INTO hotspot_ranking
            SELECT ?, ?, area_code, area_name, events, harm, harm_share, cumulative_share, rank, selected
            FROM {CANDIDATE}""",
        [force, selection_id],
    )
    selection = {
        "selection_id": selection_id,
        "effective_from": effective_from,
        "effective_to": None,
        "hotspots": hotspots,
        "added": added,
        "removed": removed,
    }
    return selection, True


def select_hotspots(
    con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, as_of_month: str | None = None
) -> dict:
    """Rank areas over the look-back ending at as_of_month (default: the force's latest month), publish if changed.

    Returns selection_id, effective_from, hotspots (rank order), added, removed, changed, gini,
    selected_harm_share, plus the parameters and window counted.
    """
    load_harm_weights(con, settings)
    _check_weights(con, settings)
    if not con.execute("SELECT count(*) FROM stg_areas WHERE force = ?", [force]).fetchone()[0]:
        raise ValueError(
            f"No areas for force {force!r} in stg_areas; load the area boundaries first (hotspots ingest areas)."
        )
    sync_crime_source(con, force, settings)
    if as_of_month is None:
        latest = con.execute("SELECT max(month) FROM counted_crimes WHERE force = ?", [force]).fetchone()[0]
        if latest is None:
            raise ValueError(f"No crimes for force {force!r} in stg_crimes; ingest crime files first.")
        end_month = month_start(latest)
    else:
        end_month = month_start(as_of_month)
    params = selection_params(settings, end_month=end_month)
    effective_from = next_month(end_month)

    with transaction(con):
        rank_areas(con, force=force, settings=settings, end_month=end_month)
        hotspots = [
            r[0] for r in con.execute(f"SELECT area_code FROM {CANDIDATE} WHERE selected ORDER BY rank").fetchall()
        ]
        selection, changed = _publish(con, force=force, effective_from=effective_from, params=params, hotspots=hotspots)
        con.execute(f"DROP TABLE {CANDIDATE}")
    figures = concentration(con, force=force, selection_id=selection["selection_id"])
    log.info(
        "Selection %s for %s from %s: %d hot spots (%s), %.1f%% of harm, Gini %.3f",
        selection["selection_id"],
        force,
        selection["effective_from"],
        len(selection["hotspots"]),
        "changed" if changed else "unchanged",
        100 * figures["selected_harm_share"],
        figures["gini"],
    )
    return {
        "force": force,
        "selection_id": selection["selection_id"],
        "effective_from": selection["effective_from"].isoformat(),
        "effective_to": selection["effective_to"].isoformat() if selection["effective_to"] else None,
        "hotspots": list(selection["hotspots"]),
        "added": list(selection["added"]),
        "removed": list(selection["removed"]),
        "changed": changed,
        "params": params,
        "areas": figures["areas"],
        "gini": figures["gini"],
        "selected_harm_share": figures["selected_harm_share"],
    }


def event_counts(con: duckdb.DuckDBPyConnection, *, force: str, params: dict, settings: Settings) -> dict:
    """Events placed in an area, and those the selection counted (sql/transform/selection_event_counts.sql)."""
    row = con.execute(
        read_sql("transform/selection_event_counts", settings),
        {
            "force": force,
            "crime_types": list(params["crime_types"]),
            "first_month": month_start(params["first_month"]),
            "last_month": month_start(params["last_month"]),
        },
    ).fetchone()
    return {"events_placed": row[0], "events_counted": row[1]}


def write_ranked_table(con: duckdb.DuckDBPyConnection, *, force: str, selection_id: str, out: Path) -> Path:
    """Write a selection's ranking of every area as CSV (rank, area, events, harm, shares, selected)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (SELECT rank, area_code, area_name, events, harm, harm_share, cumulative_share, selected
                  FROM hotspot_ranking WHERE force = $force AND selection_id = $sid ORDER BY rank)
            TO '{str(out).replace("'", "''")}' (HEADER, DELIMITER ',')""",
        {"force": force, "sid": selection_id},
    )
    return out


def _resolve_selection(con: duckdb.DuckDBPyConnection, force: str, selection_id: str | None) -> str:
    if selection_id:
        return selection_id
    row = con.execute(
        "SELECT selection_id FROM selections WHERE force = ? ORDER BY effective_to IS NULL DESC, "
        "effective_from DESC LIMIT 1",
        [force],
    ).fetchone()
    if row is None:
        raise ValueError(f"No selection published for force {force!r}; run select_hotspots first.")
    return row[0]


def concentration(con: duckdb.DuckDBPyConnection, *, force: str, selection_id: str | None = None) -> dict:
    """Lorenz curve points (share of areas, share of harm), Gini and the selected areas' share of harm.

    Defaults to the current selection of the force.
    """
    selection_id = _resolve_selection(con, force, selection_id)
    args = {"force": force, "selection_id": selection_id}
    areas, selected, total_harm, selected_share, gini = con.execute(
        read_sql("transform/selection_concentration"), args
    ).fetchone()
    if not areas:
        raise ValueError(f"Selection {selection_id!r} of force {force!r} has no ranking rows.")
    points = con.execute(
        "SELECT area_share, harm_share, selected FROM harm_concentration "
        "WHERE force = $force AND selection_id = $selection_id ORDER BY rank",
        args,
    ).fetchall()
    return {
        "force": force,
        "selection_id": selection_id,
        "areas": int(areas),
        "selected": int(selected),
        "total_harm": float(total_harm),
        "selected_harm_share": float(selected_share),
        "gini": float(gini),
        "lorenz": [(0.0, 0.0)] + [(float(x), float(y)) for x, y, _ in points],
        "selected_area_share": (int(selected) / int(areas)),
    }


def plot_concentration(
    con: duckdb.DuckDBPyConnection, *, force: str, path: Path | str, selection_id: str | None = None
) -> Path:
    """Write the concentration curve (share of areas against share of harm) as a PNG; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = concentration(con, force=force, selection_id=selection_id)
    xs, ys = zip(*figures["lorenz"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 6))
    try:
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="harm spread evenly")
        ax.plot(xs, ys, color="firebrick", linewidth=2, label=f"areas ranked by harm (Gini {figures['gini']:.2f})")
        cut_x, cut_y = figures["selected_area_share"], figures["selected_harm_share"]
        ax.scatter([cut_x], [cut_y], color="black", zorder=3)
        ax.annotate(
            f"{figures['selected']} hot spots: {cut_x:.1%} of areas, {cut_y:.1%} of harm",
            (cut_x, cut_y),
            textcoords="offset points",
            xytext=(10, -15),
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("Share of areas (ranked by harm)")
        ax.set_ylabel("Cumulative share of harm")
        ax.set_title(f"Harm concentration, {force} (selection {figures['selection_id']})")
        ax.legend(loc="lower right")
        fig.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
