"""How the hot-spot list changes with the harm weighting: the same rule ranked under CCHI, CSS, sqrt(CCHI) and
counts, with the overlap of each pair of lists (Ashby 2017: CCHI and CSS rank places differently)."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import duckdb
from scipy import stats

from hotspots.selection import CANDIDATE, _check_weights, month_start, rank_areas
from hotspots.settings import Settings

COMPARED = ("cchi", "css", "sqrt", "count")


def compare_weights(
    con: duckdb.DuckDBPyConnection, *, force: str, settings: Settings, end_month: date | str, modes=COMPARED
) -> dict:
    """The selected list under each weighting (harm_weights already loaded), and for each pair: areas in both,
    overlap (in both / list size; Jaccard) and Spearman's rho of every area's harm."""
    end_month = month_start(end_month)
    lists: dict[str, list[str]] = {}
    harm: dict[str, dict[str, float]] = {}
    for mode in modes:
        mode_settings = settings.model_copy(update={"harm_weights": mode})
        _check_weights(con, mode_settings)
        rank_areas(con, force=force, settings=mode_settings, end_month=end_month)
        rows = con.execute(f"SELECT area_code, harm, selected FROM {CANDIDATE} ORDER BY rank").fetchall()
        con.execute(f"DROP TABLE {CANDIDATE}")
        lists[mode] = [code for code, _, selected in rows if selected]
        harm[mode] = {code: float(value) for code, value, _ in rows}
    pairs = []
    for a, b in combinations(modes, 2):
        common = set(lists[a]) & set(lists[b])
        union = set(lists[a]) | set(lists[b])
        codes = sorted(harm[a])
        x, y = [harm[a][c] for c in codes], [harm[b][c] for c in codes]
        rho = float(stats.spearmanr(x, y).statistic) if len(set(x)) > 1 and len(set(y)) > 1 else None
        pairs.append(
            {
                "a": a,
                "b": b,
                "in_both": len(common),
                "overlap": len(common) / max(len(lists[a]), len(lists[b]), 1),
                "jaccard": len(common) / len(union) if union else 1.0,
                "spearman": rho,
            }
        )
    return {"lists": lists, "pairs": pairs}


def print_comparison(compared: dict) -> None:
    """One line per pair of weightings, for `hotspots select --compare-weights`."""
    import typer

    for pair in compared["pairs"]:
        rho = "n/a" if pair["spearman"] is None else f"{pair['spearman']:.3f}"
        typer.echo(
            f"Weights {pair['a']} vs {pair['b']}: {pair['in_both']} areas in both lists (overlap "
            f"{pair['overlap']:.0%}, Jaccard {pair['jaccard']:.2f}), harm rank Spearman {rho}"
        )
