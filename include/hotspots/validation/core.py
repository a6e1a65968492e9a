"""Run a Great Expectations 1.x suite over a DataFrame and split it into loaded rows and quarantined rows.

Row-level expectations whose failures stay within their ``mostly`` threshold send the failing rows to
quarantine with the rule's reason; a rule that fails beyond its threshold, or a table-level rule, rejects the
whole file with a message that names the file, the column and what to do.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)


FIX_AT_SOURCE = "Fix the file at the source and drop it in the landing folder again."


class InputFileError(ValueError):
    """A file that cannot be loaded as a whole; the message says which file, which column and what to do."""


@dataclass(frozen=True)
class Rule:
    """One expectation: GX class name and arguments, the quarantine reason and the fix to suggest."""

    reason: str
    expectation: str
    kwargs: dict[str, Any]
    advice: str = ""

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")


@dataclass
class ValidationOutcome:
    """Loaded rows, quarantined rows (with reason and raw row) and the per-rule summary."""

    loaded: pd.DataFrame
    quarantined: pd.DataFrame
    results: list[dict[str, Any]]
    success: bool
    suite: str
    rows_read: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows_read = len(self.loaded) + len(self.quarantined)

    def counts(self) -> dict[str, Any]:
        by_reason: dict[str, int] = {}
        if len(self.quarantined):
            by_reason = {str(k): int(v) for k, v in self.quarantined["reason"].value_counts().sort_index().items()}
        return {
            "rows_read": self.rows_read,
            "rows_loaded": len(self.loaded),
            "rows_quarantined": len(self.quarantined),
            "quarantined_by_reason": by_reason,
        }


_CONTEXTS: dict[str, Any] = {}
_RUNS = itertools.count(1)


def _context(docs_dir: Path | None) -> Any:
    """One ephemeral GX context per process and docs folder; validation results accumulate in it."""
    key = str(docs_dir or "")
    if key not in _CONTEXTS:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.data_sources.add_pandas("pandas")
        if docs_dir is not None:
            context.add_data_docs_site(
                site_name="local",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        _CONTEXTS[key] = context
    return _CONTEXTS[key]


def _run_gx(
    frame: pd.DataFrame,
    suite_name: str,
    rules: list[Rule],
    docs_dir: Path | None,
    source_file: str,
    result_format: str = "COMPLETE",
) -> list[Any]:
    import great_expectations as gx

    context = _context(docs_dir)
    name = f"{suite_name}__{Path(source_file).name.replace('.', '_')}__{next(_RUNS)}"
    batch = (
        context.data_sources.get("pandas").add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole_file")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    if len({rule.reason for rule in rules}) != len(rules):
        raise ValueError(f"suite {suite_name}: each rule needs its own reason (results are matched by it)")
    for rule in rules:
        suite.add_expectation(getattr(gx.expectations, rule.expectation)(**rule.kwargs, meta={"reason": rule.reason}))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    # A checkpoint stores the result, so build_data_docs() can render every file of the task at once.
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=name, validation_definitions=[definition], actions=[], result_format=result_format)
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    # The pandas engine caches every batch's DataFrame and computed metrics for the life of the context: drop
    # them (the stored result is all data docs need), or a task validating many files holds all of them.
    engine = context.data_sources.get("pandas").get_execution_engine()
    engine.batch_manager.reset_batch_cache()
    engine.batch_manager._batch_data_cache.clear()
    engine._metric_cache.clear()
    # Each result is matched to its rule by the reason it carries, never by its position in the list.
    by_reason = {
        result.expectation_config.meta["reason"]: result for result in next(iter(run.run_results.values())).results
    }
    return [by_reason[rule.reason] for rule in rules]


def _summarise(rules: list[Rule], results: list[Any], source_file: str) -> list[dict[str, Any]]:
    """Per-rule summary (reason, expectation, column, success, unexpected_count); a rule failing beyond its
    tolerance raises InputFileError naming the file, the rule and the fix."""
    summary: list[dict[str, Any]] = []
    for rule, result in zip(rules, results):
        info = result.result or {}
        summary.append(
            {
                "reason": rule.reason,
                "expectation": result.expectation_config.type,
                "column": rule.column,
                "success": bool(result.success),
                "unexpected_count": int(info.get("unexpected_count") or 0),
            }
        )
        if not result.success:
            count = info.get("unexpected_count")
            share = info.get("unexpected_percent")
            detail = f"{count} rows ({share:.1f}%)" if count is not None and share is not None else "the table"
            raise InputFileError(
                f"{source_file}: rule '{rule.reason}' ({result.expectation_config.type}"
                f"{' on column ' + repr(rule.column) if rule.column else ''}) failed for {detail}, "
                f"beyond its tolerance. {rule.advice or FIX_AT_SOURCE}"
            )
    return summary


def build_data_docs() -> list[Path]:
    """Render GX's HTML data docs for every file validated in this process (call once at the end of a task)."""
    built = []
    for key, context in _CONTEXTS.items():
        if key:
            context.build_data_docs()
            built.append(Path(key) / "index.html")
    return built


def validate_frame(
    frame: pd.DataFrame,
    *,
    suite_name: str,
    rules: list[Rule],
    source_file: str,
    docs_dir: Path | None = None,
) -> ValidationOutcome:
    """Validate ``frame`` (index = 0..n-1 in file order) and split it into loaded and quarantined rows."""
    frame = frame.reset_index(drop=True)
    results = _run_gx(frame, suite_name, rules, docs_dir, source_file)
    summary = _summarise(rules, results, source_file)
    reasons: dict[int, list[str]] = {}
    for rule, result in zip(rules, results):
        for index in (result.result or {}).get("unexpected_index_list") or []:
            reasons.setdefault(int(index), []).append(rule.reason)
    bad = sorted(reasons)
    quarantined = frame.loc[bad].copy() if bad else frame.iloc[0:0].copy()
    quarantined["reason"] = ["; ".join(reasons[i]) for i in bad]
    loaded = frame.drop(index=bad)
    log.info("%s: %d rows read, %d loaded, %d quarantined", source_file, len(frame), len(loaded), len(quarantined))
    return ValidationOutcome(loaded=loaded, quarantined=quarantined, results=summary, success=True, suite=suite_name)


def validate_checks(
    frame: pd.DataFrame, *, suite_name: str, rules: list[Rule], source_file: str, docs_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Validate precomputed check columns (the source decides which rows go to quarantine): returns the
    per-rule summary with unexpected counts, or raises InputFileError when a rule fails beyond tolerance."""
    results = _run_gx(frame, suite_name, rules, docs_dir, source_file, result_format="BASIC")
    return _summarise(rules, results, source_file)


def quarantine_records(
    quarantined: pd.DataFrame, *, force: str, source: str, source_file: str, row_column: str = "source_row"
) -> pd.DataFrame:
    """Shape quarantined rows for the quarantine table: raw row as JSON text of the original columns."""
    raw_columns = [c for c in quarantined.columns if c not in {"reason", row_column}]
    return pd.DataFrame(
        {
            "force": force,
            "source": source,
            "source_file": source_file,
            "source_row": quarantined[row_column].astype("int64").to_numpy(),
            "reason": quarantined["reason"].astype(str).to_numpy(),
            "raw_row": [
                json.dumps({c: (None if pd.isna(v) else str(v)) for c, v in row.items()})
                for row in quarantined[raw_columns].to_dict("records")
            ],
        }
    )


def record_validation(
    con: Any,
    outcome: ValidationOutcome,
    *,
    force: str,
    source: str,
    source_file: str,
    quarantine_frame: pd.DataFrame,
) -> None:
    """Replace this file's quarantine rows and validation record (idempotent per file)."""
    if len(quarantine_frame):
        con.register("quarantine_frame", quarantine_frame)
    try:
        record_run(
            con,
            force=force,
            source=source,
            source_file=source_file,
            suite=outcome.suite,
            success=outcome.success,
            counts=outcome.counts(),
            results=outcome.results,
            quarantine="quarantine_frame" if len(quarantine_frame) else None,
        )
    finally:
        if len(quarantine_frame):
            con.unregister("quarantine_frame")


def record_run(
    con: Any,
    *,
    force: str,
    source: str,
    source_file: str,
    suite: str,
    success: bool,
    counts: dict[str, Any],
    results: list[dict[str, Any]],
    quarantine: str | None = None,
) -> None:
    """Replace this file's quarantine rows (from relation ``quarantine``: force, source, source_file,
    source_row, reason, raw_row) and its validation_runs row (idempotent per file)."""
    con.execute(
        "DELETE FROM quarantine WHERE force = ? AND source = ? AND source_file = ?", [force, source, source_file]
    )
    if quarantine:
        con.execute(
            "INSERT INTO quarantine SELECT force, source, source_file, source_row, reason, raw_row, now() "
            f"FROM {quarantine}"
        )
    con.execute(
        "DELETE FROM validation_runs WHERE force = ? AND source = ? AND source_file = ?", [force, source, source_file]
    )
    con.execute(
        "INSERT INTO validation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            force,
            source,
            source_file,
            suite,
            success,
            counts["rows_read"],
            counts["rows_loaded"],
            counts["rows_quarantined"],
            json.dumps(results),
        ],
    )
