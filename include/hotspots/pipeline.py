"""Pipeline steps, one per DAG task: each opens the warehouse, does one partition, closes it.

Steps take and return plain values (force, dates, paths, counts) so that any worker can run any step:
no step relies on another step's memory. Files move landing/ -> raw/ (immutable copy) before they are read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotspots.settings import Settings, force_settings, resolve_settings
from hotspots.validation.core import build_data_docs
from hotspots.warehouse import migrate, open_warehouse, publish_snapshot, read_sql, writer_step

log = logging.getLogger(__name__)


@writer_step
def migrate_warehouse(settings: Settings | None = None) -> dict[str, Any]:
    """The DAGs' first task: apply the sql/ models when the warehouse's schema_version is not this checkout's
    (warehouse.migrate); every later step's writer open only checks the version."""
    result = migrate(settings)
    log.info("migrate: %s", result)
    return result


def forces(settings: Settings | None = None) -> list[str]:
    """The forces this deployment serves (settings.forces)."""
    return list(resolve_settings(settings).forces)


VERSIONS = "versions"  # raw/<...>/versions/: earlier contents of a file re-exported under the same name


def _to_raw(path: Path, raw_folder: Path) -> Path:
    """Copy a landed file into raw/ under its own name: a drop's logical identity is its force, source, day folder
    and name, so reruns reuse the copy and the loaders' "replace this file's rows" finds the earlier load. A
    corrected re-export under the same name replaces the copy, and the earlier content is kept as a version,
    raw_folder/versions/<stem>.<sha256[:12] of that content><suffix> (each version immutable). Each file is read
    once (hashed and written from the same bytes) and written atomically: a crash leaves no partial file under a
    raw name, only a hidden temporary one."""
    raw_folder.mkdir(parents=True, exist_ok=True)
    target = raw_folder / path.name
    _place(path, target)
    for sidecar in path.parent.glob(path.stem + ".*"):  # shapefile parts travel together
        if sidecar != path:
            _place(sidecar, raw_folder / sidecar.name)
    return target


def _place(source: Path, target: Path) -> None:
    """Put source's bytes at target, keeping target's earlier, different content as a version beside it."""
    data = source.read_bytes()
    if target.exists():
        old = target.read_bytes()
        if old == data:
            return
        digest = hashlib.sha256(old).hexdigest()[:12]
        version = target.parent / VERSIONS / f"{target.stem}.{digest}{target.suffix}"
        if not version.exists():
            version.parent.mkdir(exist_ok=True)
            _write_atomically(version, old, like=target)
        log.warning(
            "%s: a new content under the same name replaces the raw copy (earlier one kept as %s)", target, version
        )
    _write_atomically(target, data, like=source)


def _write_atomically(target: Path, data: bytes, *, like: Path) -> None:
    """Write ``data`` to a temporary file beside ``target``, flush it to disk, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copystat(like, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _docs_dir(settings: Settings) -> Path:
    return settings.data_dir / "gx_docs"


def area_set_files(force: str, settings: Settings) -> list[Path]:
    """The force's area set: settings.areas_path (a file or a folder), else every boundary file in
    landing/<force>/areas/. All of them are loaded together as one set."""
    from hotspots.sources.areas import AREA_SUFFIXES, area_files

    if settings.areas_path:
        return area_files(Path(settings.areas_path))
    folder = settings.force_landing(force) / "areas"
    if not any(p.suffix.lower() in AREA_SUFFIXES for p in folder.glob("*")):
        raise FileNotFoundError(
            f"No area boundary file for force '{force}' in {folder} (looked for {', '.join(AREA_SUFFIXES)}). "
            "Drop the LSOA or grid boundaries there, or set HOTSPOTS_AREAS_PATH."
        )
    return area_files(folder)


@writer_step
def ingest_areas(force: str, settings: Settings | None = None) -> dict[str, Any]:
    """Load the force's area set (every boundary file) into stg_areas."""
    from hotspots.sources.areas import load_areas

    settings = force_settings(force, settings)
    raw = [_to_raw(source, settings.force_raw(force) / "areas") for source in area_set_files(force, settings)]
    with open_warehouse(settings) as con:
        counts = load_areas(con, force=force, path=raw, settings=settings)
    build_data_docs()
    log.info("areas %s: %s", force, counts)
    return counts


def crime_files_for_month(force: str, month: str, settings: Settings) -> list[Path]:
    """Landed street CSVs for a month: archive layout YYYY-MM/YYYY-MM-*-street.csv, flat files, or the
    data.police.uk zipped archive (only this force's street files are extracted, into raw/)."""
    from hotspots.sources.police_uk import crime_files

    landing = settings.force_landing(force) / "crime"
    found = set(landing.glob(f"{month}/{month}-*-street.csv")) | set(landing.glob(f"{month}-*-street.csv"))
    for archive in sorted(landing.glob("*.zip")):
        extract_to = settings.force_raw(force) / "crime" / "archives" / archive.stem
        extracted = crime_files(archive, force=force, extract_to=extract_to)
        found.update(p for p in extracted if p.name.startswith(f"{month}-"))
    return sorted(found)


@writer_step
def ingest_crime(force: str, month: str, settings: Settings | None = None) -> dict[str, Any]:
    """Validate and load one month of street-level crime for a force (every file of the month; see
    police_uk.ingest_crime_files)."""
    from hotspots.sources.police_uk import ingest_crime_files

    settings = force_settings(force, settings)
    files = crime_files_for_month(force, month, settings)
    totals: dict[str, Any] = {
        "force": force,
        "month": month,
        "files": [],
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "quarantined_by_reason": {},
    }
    if not files:
        log.warning("No crime files for %s %s in %s", force, month, settings.force_landing(force) / "crime")
        return totals
    raws = [_to_raw(path, settings.force_raw(force) / "crime" / f"month={month}") for path in files]
    with open_warehouse(settings) as con:
        loaded = ingest_crime_files(con, force=force, paths=raws, settings=settings, docs_dir=_docs_dir(settings))
        for raw, counts in zip(raws, loaded):
            totals["files"].append(str(raw))
            for key in ("rows_read", "rows_loaded", "rows_quarantined"):
                totals[key] += int(counts.get(key, 0))
            for reason, n in counts.get("quarantined_by_reason", {}).items():
                totals["quarantined_by_reason"][reason] = totals["quarantined_by_reason"].get(reason, 0) + n
    build_data_docs()
    log.info("crime %s %s: %s", force, month, totals)
    return totals


@writer_step
def select_hotspots(force: str, settings: Settings | None = None) -> dict[str, Any]:
    """Rank areas by harm and publish the hot-spot list when it changes."""
    from hotspots.harm import load_harm_weights
    from hotspots.selection import select_hotspots as select

    settings = force_settings(force, settings)
    with open_warehouse(settings) as con:
        load_harm_weights(con, settings)
        result = select(con, force=force, settings=settings)
        result["backtest"] = _backtest(con, force, settings)
    log.info("selection %s: %s", force, {k: result.get(k) for k in ("selection_id", "effective_from", "changed")})
    return result


def _backtest(con: Any, force: str, settings: Settings) -> dict[str, Any]:
    """The rolling back-test of the rule into backtest_scores (docs/targeting.md), when the months allow."""
    from hotspots.targeting.backtest import BacktestError, backtest, store_backtest

    if settings.backtest_train_months is None:
        return {"skipped": "HOTSPOTS_BACKTEST_TRAIN_MONTHS is empty"}
    try:
        result = backtest(
            con,
            force=force,
            settings=settings,
            train_months=settings.backtest_train_months,
            test_months=settings.backtest_test_months,
            rolling=True,
            step_months=settings.backtest_step_months,
        )
    except BacktestError as exc:
        log.info("No back-test for %s: %s", force, exc)
        return {"skipped": str(exc)}
    return {"windows": len(result["windows"]), "written": store_backtest(con, result)}


def ping_files_for_day(force: str, day: date, settings: Settings) -> list[Path]:
    """The day's landed ping drops (landing/<force>/avl/YYYY-MM-DD/*.csv, .parquet, .pq)."""
    from hotspots.sources.avl import PING_SUFFIXES

    folder = settings.force_landing(force) / "avl" / day.isoformat()
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in PING_SUFFIXES)


@writer_step
def ingest_avl(
    force: str,
    day: date,
    settings: Settings | None = None,
    *,
    only_new: bool = False,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Validate, pseudonymise and load the day's ping files (sources.avl.ingest_ping_files: a rejected file fails
    the step naming it, after the others loaded); recompute daily patrol for the local dates touched.

    only_new: a micro-batch, only the files new or changed since they were loaded (landed_files), as the in-shift
    checkpoints and the landing sweep load them. as_of: the moment of the run (default: the end of the UTC day);
    only local days ended by then are complete (their feed checked at the close)."""
    from hotspots.feed import compute_feed_hours, raise_feed_alerts
    from hotspots.patrol import compute_daily_patrol
    from hotspots.sources.avl import ingest_ping_files, source_name

    settings = force_settings(force, settings)
    landed = ping_files_for_day(force, day, settings)
    totals: dict[str, Any] = {
        "force": force,
        "day": day.isoformat(),
        "files": [],
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "quarantined_by_reason": {},
    }
    dates: list[date] = []
    with open_warehouse(settings) as con:
        con.execute(f"SET memory_limit = '{settings.avl_memory_limit}'")  # until the warehouse closes below
        files = changed_ping_files(con, force, day, landed) if only_new else landed
        raws = [_to_raw(path, settings.force_raw(force) / "avl" / f"date={day.isoformat()}") for path in files]
        totals["files"] = [str(p) for p in raws]
        if raws:
            # A reload replaces each file's rows: the days its earlier content touched are recomputed too.
            earlier = con.execute(
                "SELECT DISTINCT local_date FROM stg_pings WHERE force = ? AND list_contains(?, source_file)",
                [force, [source_name(p) for p in raws]],
            ).fetchall()
            counts = ingest_ping_files(con, force=force, paths=raws, settings=settings, docs_dir=_docs_dir(settings))
            for key in ("rows_read", "rows_loaded", "rows_quarantined", "quarantined_by_reason"):
                totals[key] = counts[key]
            dates = sorted({date.fromisoformat(d) for d in counts["local_dates"]} | {d for (d,) in earlier})
        if not landed:
            # No drop at all: the local days this UTC day covers are still closed and evaluated (as no_data).
            dates = _local_dates_of_utc_day(day, settings)
        # Days whose pings retention removed keep their daily_patrol: recomputing them would find no track.
        retired = {
            r[0] for r in con.execute("SELECT local_date FROM retired_ping_days WHERE force = ?", [force]).fetchall()
        }
        dates = [d for d in dates if d not in retired]
        day_end = _utc_midnight(day + timedelta(days=1))
        closed_by = day_end if as_of is None else min(day_end, as_of.astimezone(timezone.utc))
        complete = [d for d in dates if _local_day_end(d, settings) <= closed_by]
        if dates:
            compute_daily_patrol(con, force=force, dates=dates, settings=settings)
            compute_feed_hours(con, force=force, dates=dates, settings=settings)
        _record_landed(con, force, day, files, raws)
        feed_missing = []
        for local_day in complete:  # each local day closed by this load: is its feed whole?
            feed_missing += raise_feed_alerts(
                con, force=force, day=local_day, settings=settings, folder_empty=not landed
            )
    if raws or not landed:
        build_data_docs()
    totals["dates"] = [d.isoformat() for d in dates]
    totals["complete_dates"] = [d.isoformat() for d in complete]
    totals["feed_missing"] = feed_missing
    if not landed:
        log.error(
            "No ping files for %s on %s in %s: feed_missing raised for the data engineers; the local days it closes "
            "are evaluated as no_data",
            force,
            day,
            settings.force_landing(force) / "avl" / day.isoformat(),
        )
    log.info("avl %s %s: %s", force, day, totals)
    return totals


def changed_ping_files(con: Any, force: str, day: date, files: list[Path]) -> list[Path]:
    """The landed ping files of a UTC day that are new, or whose size or modification time changed, since they
    were loaded (landed_files): what a micro-batch loads."""
    known = {
        name: (size, mtime)
        for name, size, mtime in con.execute(
            "SELECT name, bytes, mtime_ns FROM landed_files WHERE force = ? AND source = 'avl' AND day = ?",
            [force, day],
        ).fetchall()
    }
    return [p for p in files if known.get(p.name) != (p.stat().st_size, p.stat().st_mtime_ns)]


def _record_landed(con: Any, force: str, day: date, files: list[Path], raws: list[Path]) -> None:
    """Remember each landed ping file of the day as loaded (its size, modification time and content hash)."""
    rows, now = [], datetime.now(timezone.utc).replace(tzinfo=None)
    for landed, raw in zip(files, raws):
        stat = landed.stat()
        digest = hashlib.sha256(raw.read_bytes()).hexdigest()[:12]
        rows.append(
            {"force": force, "day": day, "name": landed.name, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            | {"sha256": digest, "loaded_at": now}
        )
    if rows:
        con.executemany(read_sql("transform/merge_landed_files"), rows)


def late_ping_days(con: Any, force: str, settings: Settings, now: datetime | None = None) -> list[date]:
    """Processed UTC days, ended by ``now`` (default: now), whose landing folder now holds a ping file that is new,
    or whose size or modification time changed since it was loaded (landed_files): a late or corrected drop. The
    UTC day still running is the in-shift checkpoints' (intraday_check), never late."""
    folder = settings.force_landing(force) / "avl"
    today = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    processed = {
        d
        for (d,) in con.execute(
            "SELECT DISTINCT day FROM landed_files WHERE force = ? AND source = 'avl'", [force]
        ).fetchall()
    }
    late = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            day = date.fromisoformat(path.name)
        except ValueError:
            continue
        if day not in processed or day >= today:
            continue  # never loaded (the scheduled ingest_avl run loads it) or still running
        if changed_ping_files(con, force, day, ping_files_for_day(force, day, settings)):
            late.append(day)
    return late


@writer_step
def sweep_landing(force: str, settings: Settings | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Pick up late or corrected ping files by themselves: load each processed day's new or changed files
    (ingest_avl only_new: the file's rows are replaced, daily_patrol recomputed), then re-evaluate compliance and
    alerts for the local dates it touched that were evaluated before, and every evaluated day after them (streaks)."""
    settings = force_settings(force, settings)
    with open_warehouse(settings) as con:
        late = late_ping_days(con, force, settings, now)
    loaded, touched = [], set()
    for day in late:
        result = ingest_avl(force, day, settings, only_new=True)
        loaded.append(result)
        touched.update(date.fromisoformat(d) for d in result["dates"])
    evaluated: list[date] = []
    if touched:
        with open_warehouse(settings) as con:
            rows = con.execute(
                "SELECT DISTINCT date FROM daily_compliance WHERE force = ? AND date >= ? ORDER BY date",
                [force, min(touched)],
            ).fetchall()
        evaluated = [d for (d,) in rows]
    raised = compliance_and_alerts(force, evaluated, settings)["alerts_raised"] if evaluated else []
    log.info("landing sweep %s: late days %s, re-evaluated %s", force, late, evaluated)
    return {
        "force": force,
        "late_days": [d.isoformat() for d in late],
        "files": [f for r in loaded for f in r["files"]],
        "reevaluated": [d.isoformat() for d in evaluated],
        "alerts_raised": raised,
    }


@writer_step
def compliance_and_alerts(force: str, dates: list[date], settings: Settings | None = None) -> dict[str, Any]:
    """Build compliance for each date (in order) and raise that day's alerts into the outbox."""
    from hotspots.alerts.corrections import raise_corrections
    from hotspots.alerts.routing import sync_area_teams
    from hotspots.alerts.rules import raise_alerts
    from hotspots.compliance import build_compliance

    settings = force_settings(force, settings)
    raised: list[str] = []
    with open_warehouse(settings) as con:
        sync_area_teams(con, force=force, settings=settings)
        for day in sorted(dates):
            build_compliance(con, force=force, date=day, settings=settings)
            raised.extend(raise_corrections(con, force=force, date=day, settings=settings))  # a rebuilt day
            raised.extend(raise_alerts(con, force=force, date=day, settings=settings))
    log.info("compliance %s %s: %d new alerts", force, [d.isoformat() for d in dates], len(raised))
    return {"force": force, "dates": [d.isoformat() for d in sorted(dates)], "alerts_raised": raised}


@writer_step
def deliver_alerts(settings: Settings | None = None, slack: Any = None, smtp: Any = None) -> dict[str, Any]:
    """Deliver every pending or failed alert on every channel (raises when a channel gave up)."""
    from hotspots.alerts.outbox import deliver_pending

    settings = resolve_settings(settings)
    with open_warehouse(settings) as con:
        return deliver_pending(con, settings=settings, slack=slack, smtp=smtp)


@writer_step
def publish(force_dates: dict[str, list[str]], settings: Settings | None = None) -> dict[str, Any]:
    """Write each force's daily report for its latest date, then publish the read-only analyst snapshot."""
    from hotspots.report import build_report

    settings = resolve_settings(settings)
    reports = []
    with open_warehouse(settings) as con:
        for force, dates in force_dates.items():
            if dates:
                latest = date.fromisoformat(max(dates))
                own = force_settings(force, settings)
                reports.append(str(build_report(con, force=force, date=latest, settings=own)))
    snapshot = publish_snapshot(settings)
    return {"reports": reports, "snapshot": str(snapshot)}


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def _local_dates_of_utc_day(day: date, settings: Settings) -> list[date]:
    """The local dates that overlap the UTC day [day 00:00, day+1 00:00)."""
    zone = ZoneInfo(settings.timezone)
    first = _utc_midnight(day).astimezone(zone).date()
    last = (_utc_midnight(day + timedelta(days=1)) - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _local_day_end(day: date, settings: Settings) -> datetime:
    """The instant a local day ends: only days ended within the loaded UTC data are complete."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(settings.timezone))


@writer_step
def publish_plan(force: str, day: date, settings: Settings | None = None) -> dict[str, Any]:
    """Morning: draw the day's randomised plan (when HOTSPOTS_PLAN_K is set) and raise the plan message."""
    from hotspots.alerts.rules import raise_plan_alerts
    from hotspots.plan import make_plan

    settings = force_settings(force, settings)
    dose = None
    if settings.dose_capacity_minutes is not None:  # the dose under capacity (docs/targeting.md)
        from hotspots.targeting.dose import plan_dose

        with open_warehouse(settings) as con:
            dose = plan_dose(
                con, force=force, day=day, settings=settings, capacity_minutes=settings.dose_capacity_minutes
            )
    if not settings.plan_k:
        log.info("No randomised plan (HOTSPOTS_PLAN_K unset): every hot spot is targeted every day")
        return {"force": force, "date": day.isoformat(), "planned": [], "alerts_raised": [], "dose": dose}
    with open_warehouse(settings) as con:
        planned = make_plan(con, force=force, date=day, settings=settings)
        raised = raise_plan_alerts(con, force=force, date=day, settings=settings)
    return {"force": force, "date": day.isoformat(), "planned": planned, "alerts_raised": raised, "dose": dose}


def utc_days_so_far(now_local: datetime) -> list[date]:
    """The UTC day folders that can hold pings of the local day of ``now_local`` up to that moment."""
    midnight = datetime.combine(now_local.date(), time(0), tzinfo=now_local.tzinfo).astimezone(timezone.utc).date()
    last = now_local.astimezone(timezone.utc).date()
    return [midnight + timedelta(days=i) for i in range((last - midnight).days + 1)]


@writer_step
def intraday_check(force: str, now_local: datetime, settings: Settings | None = None) -> dict[str, Any]:
    """An in-shift checkpoint (settings.checkpoint_times): load the ping files landed since the last run (a
    micro-batch through ingest_avl), which recomputes today's patrol so far; raise no_visit_yet (and
    dose_delivered) for this checkpoint and the feed checks of the shift so far; write the live "today so far"
    page."""
    from hotspots.alerts.rules import raise_checkpoint_alerts
    from hotspots.feed import raise_feed_alerts
    from hotspots.live import write_today_page

    settings = force_settings(force, settings)
    today = now_local.date()
    loaded = [ingest_avl(force, d, settings, only_new=True, as_of=now_local) for d in utc_days_so_far(now_local)]
    with open_warehouse(settings) as con:
        raised = raise_checkpoint_alerts(con, force=force, date=today, now_local=now_local, settings=settings)
        raised += raise_feed_alerts(con, force=force, day=today, settings=settings, now_utc=now_local)
        page = write_today_page(con, force=force, date=today, now_local=now_local, settings=settings)
    return {
        "force": force,
        "date": today.isoformat(),
        "as_of": now_local.strftime("%H:%M"),
        "files": [f for r in loaded for f in r["files"]],
        "rows_loaded": sum(r["rows_loaded"] for r in loaded),
        "alerts_raised": raised,
        "page": str(page),
    }


@writer_step
def apply_retention(force: str, today: date, settings: Settings | None = None) -> dict[str, Any]:
    """The retention DAG's step (hotspots.retention): delete what outlived its limit, then republish the analyst
    snapshot when rows went, so no copy keeps them."""
    from hotspots.retention import apply_retention as apply

    settings = force_settings(force, settings)
    result = apply(force, today, settings)
    if result["pings"]["rows"] or result["quarantine"]["rows"]:
        result["snapshot"] = str(publish_snapshot(settings))
    return result


@writer_step
def evaluate_patrol(force: str, day: date, settings: Settings | None = None) -> dict[str, Any]:
    """Weekly: evaluate the force's patrol plan through ``day`` (hotspots.evaluation.store): the marts
    evaluation_runs and evaluation_estimates and the HTML evaluation report. A force with no plan yet is skipped."""
    from hotspots.evaluation.store import evaluate_and_store
    from hotspots.validation.core import InputFileError

    settings = force_settings(force, settings)
    with open_warehouse(settings) as con:
        try:
            return evaluate_and_store(con, force=force, end=day, settings=settings)
        except InputFileError as exc:
            log.warning("No evaluation for %s through %s: %s", force, day, exc)
            return {"force": force, "date": day.isoformat(), "skipped": str(exc)}
