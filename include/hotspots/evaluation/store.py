"""The pipeline's evaluation step: evaluate a force's plan through a day, store the marts evaluation_runs and
evaluation_estimates (replaced per run: idempotent), and write the HTML report."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from hotspots.evaluation.data import Inputs, evaluate, warehouse_patrol, warehouse_plan
from hotspots.evaluation.report import write_report
from hotspots.evaluation.summary import plain_summary
from hotspots.settings import Settings
from hotspots.warehouse import transaction

log = logging.getLogger(__name__)
ESTIMATE_KEYS = ("rate_ratio", "ci_low", "ci_high", "p_value")


def _bin(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}")


def estimate_rows(result: dict) -> list[dict]:
    """The result as long rows: estimate, term, place_days and the ratio with its interval and p."""
    rows = []

    def add(estimate: str, term: str, est: dict | None, place_days: int | None = None) -> None:
        if est:
            rows.append(
                {"estimate": estimate, "term": term, "place_days": place_days} | {k: est.get(k) for k in ESTIMATE_KEYS}
            )

    for term, est in (result.get("itt") or {}).items():
        add("itt", term, est)
    for r in result.get("dose_response") or []:
        add("dose_response", _bin(r["min_minutes"], r["max_minutes"]), r, r["place_days"])
    for r in result.get("koper_response") or []:
        add("koper_response", _bin(r["min_visits"], r["max_visits"]), r, r["place_days"])
    carry = result.get("carry_over") or {}
    for group, prefix in (("consecutive_patrol_days", "streak"), ("days_since_patrol", "since")):
        for r in carry.get(group, []):
            add("carry_over", f"{prefix}_{r['days']}{'+' if r['or_more'] else ''}", r, r["place_days"])
    disp = result.get("displacement") or {}
    add("displacement", "ring", disp.get("ring") if "ring" in disp else disp)
    return rows


def evaluate_and_store(con: duckdb.DuckDBPyConnection, *, force: str, end: date, settings: Settings) -> dict:
    """Evaluate the force's plan up to ``end`` on the warehouse, replace its run and estimates, write the report."""
    inputs = Inputs(warehouse_plan(con, force), warehouse_patrol(con, force))
    result = evaluate(con, force=force, inputs=inputs, settings=settings, end=end)
    run_id = f"{force}|{result['end']}"
    report = Path(settings.reports_dir) / "evaluation" / f"evaluation-{force}-{result['end']}.html"
    write_report(result, report, title=f"Hot-spot patrol evaluation: {force}, {result['start']} to {result['end']}")
    summary = "\n".join(plain_summary(result))
    rows = estimate_rows(result)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with transaction(con):
        con.execute("DELETE FROM evaluation_estimates WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM evaluation_runs WHERE run_id = ?", [run_id])
        con.execute(
            "INSERT INTO evaluation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                force,
                result["design"],
                result["start"],
                result["end"],
                result["hotspots"],
                result["treated_place_days"],
                result["control_place_days"],
                result["crimes"],
                result.get("redraws", 0),
                settings.evaluation_seed,
                summary,
                str(report),
                json.dumps(result, default=str),
                now,
            ],
        )
        con.executemany(
            "INSERT INTO evaluation_estimates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[run_id, r["estimate"], r["term"], r["place_days"], *(r[k] for k in ESTIMATE_KEYS)] for r in rows],
        )
    log.info("Evaluation %s: %s", run_id, summary.replace("\n", " "))
    return {"run_id": run_id, "design": result["design"], "estimates": len(rows), "report": str(report)} | {
        "summary": summary
    }
