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
    """Load the force's area set (every boundary file) into stg_areas: its polygons, or with area_unit=grid the
    grid cells over their outline."""
    from hotspots.sources.areas import load_area_set

    settings = force_settings(force, settings)
    raw = [_to_raw(source, settings.force_raw(force) / "areas") for source in area_set_files(force, settings)]
    with open_warehouse(settings) as con:
        counts = load_area_set(con, force=force, path=raw, settings=settings)
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


def _crime_totals(force: str, month: str | None) -> dict[str, Any]:
    return {
        "force": force,
        "month": month,
        "origin": None,
        "files": [],
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "quarantined_by_reason": {},
    }


def _add_counts(totals: dict[str, Any], counts: dict[str, Any]) -> None:
    for key in ("rows_read", "rows_loaded", "rows_quarantined"):
        totals[key] += int(counts.get(key, 0))
    for reason, n in counts.get("quarantined_by_reason", {}).items():
        totals["quarantined_by_reason"][reason] = totals["quarantined_by_reason"].get(reason, 0) + n


def police_api_client(settings: Settings) -> Any:
    """The data.police.uk client of settings.crime_api_url (existing splitting and retries: sources.police_api)."""
    from hotspots.sources.police_api import PoliceApiClient

    return PoliceApiClient(settings.crime_api_url)


def api_month_file(force: str, month: str, settings: Settings) -> Path:
    """Where a month fetched from the API lands: landing/<force>/crime/YYYY-MM/api/YYYY-MM-<force>-street.csv (the
    archive's name, in a folder of its own so an archive file landing later is told apart)."""
    return settings.force_landing(force) / "crime" / month / "api" / f"{month}-{force}-street.csv"


@writer_step
def ingest_crime(
    force: str, month: str, settings: Settings | None = None, *, client: Any = None, published: str | None = None
) -> dict[str, Any]:
    """Validate and load one month of street-level crime for a force: every street file landed for the month (see
    police_uk.ingest_crime_files), else, when the force counts police_uk and HOTSPOTS_CRIME_API_URL is set, the
    month fetched from the API by the force's boundary (fetch_api_month) once the API has published it
    (``published``: its crime-last-updated month, asked when not given). ``missing`` says the month is in neither."""
    from hotspots.sources import crime_feed

    settings = force_settings(force, settings)
    files = crime_files_for_month(force, month, settings)
    if files:
        return _load_street_month(force, month, files, settings)
    with open_warehouse(settings) as con:
        api_allowed = bool(settings.crime_api_url) and crime_feed.counts_police_uk(con, force, settings)
    totals = _crime_totals(force, month) | {"missing": True}
    if not api_allowed:
        log.warning("No crime files for %s %s in %s", force, month, settings.force_landing(force) / "crime")
        return totals
    client = client or police_api_client(settings)
    published = published or client.last_updated()
    if month > published:
        log.warning("No crime files for %s %s, and the API has published up to %s only", force, month, published)
        return totals | {"api_published": published}
    return fetch_api_month(force, month, settings, client=client, published=published)


def _load_street_month(force: str, month: str, files: list[Path], settings: Settings) -> dict[str, Any]:
    """Load the month's landed street files (raw copy with versions, rows replaced per file name), record each as a
    crime drop, and drop a month the API gave earlier under another name (never counted twice)."""
    from hotspots.sources import crime_feed
    from hotspots.sources.police_uk import SOURCE, ingest_crime_files

    totals = _crime_totals(force, month) | {"origin": crime_feed.STREET_FILE}
    raws = [_to_raw(path, settings.force_raw(force) / "crime" / f"month={month}") for path in files]
    with open_warehouse(settings) as con:
        loaded = ingest_crime_files(con, force=force, paths=raws, settings=settings, docs_dir=_docs_dir(settings))
        for raw, counts in zip(raws, loaded):
            totals["files"].append(str(raw))
            _add_counts(totals, counts)
        for landed, raw in zip(files, raws):
            crime_feed.record_drop(con, force=force, source=crime_feed.STREET_FILE, landed=landed, raw=raw, month=month)
        names = {raw.name for raw in raws}
        for name in crime_feed.month_drops(con, force, month)[crime_feed.API_MONTH]:
            if name in names:  # the archive file has the API file's name: its load replaced those rows
                con.execute(
                    "DELETE FROM crime_drops WHERE force = ? AND source = ? AND name = ?",
                    [force, crime_feed.API_MONTH, name],
                )
            else:
                crime_feed.forget_crime_file(
                    con, force=force, source=SOURCE, name=name, drop_source=crime_feed.API_MONTH
                )
            log.info("crime %s %s: the archive file replaces the month fetched from the API (%s)", force, month, name)
    build_data_docs()
    log.info("crime %s %s: %s", force, month, totals)
    return totals


@writer_step
def fetch_api_month(force: str, month: str, settings: Settings, *, client: Any, published: str) -> dict[str, Any]:
    """Fetch the month from the API by the force's boundary (sources.police_api: split on 503, retried on 429),
    land it as a street file (api_month_file) and load it like one. A month fetched again with the same content
    (the API published other months) only has its crime-last-updated stamp renewed: ``changed`` is False."""
    from hotspots.sources import crime_feed
    from hotspots.sources.police_api import write_street_csv
    from hotspots.sources.police_uk import ingest_crime_files

    with open_warehouse(settings) as con:
        polygons = crime_feed.force_polygons(con, force)
    found: dict[Any, dict] = {}
    for polygon in polygons:
        for record in client.fetch_month(polygon, month):
            found[record.get("id") or (record.get("persistent_id"), len(found))] = record
    totals = _crime_totals(force, month) | {"origin": crime_feed.API_MONTH, "api_published": published}
    if not found:
        log.warning("The API has no crimes for %s %s inside the force's boundary: nothing loaded", force, month)
        return totals | {"missing": True}
    landed = api_month_file(force, month, settings)
    write_street_csv(found.values(), landed, reported_by=force)
    raw = _to_raw(landed, settings.force_raw(force) / "crime" / f"month={month}" / "api")
    with open_warehouse(settings) as con:
        known = crime_feed.drop(con, force, crime_feed.API_MONTH, landed.name)
        if known is not None and known["sha256"] == crime_feed.content_digest(raw):
            crime_feed.record_drop(
                con,
                force=force,
                source=crime_feed.API_MONTH,
                landed=landed,
                raw=raw,
                month=month,
                api_updated=published,
            )
            return totals | {"changed": False}
        counts = ingest_crime_files(con, force=force, paths=[raw], settings=settings, docs_dir=_docs_dir(settings))[0]
        crime_feed.record_drop(
            con, force=force, source=crime_feed.API_MONTH, landed=landed, raw=raw, month=month, api_updated=published
        )
    totals["files"].append(str(raw))
    _add_counts(totals, counts)
    build_data_docs()
    log.info("crime %s %s from the API: %s", force, month, totals)
    return totals | {"changed": True}


def landed_crime_months(force: str, settings: Settings) -> set[str]:
    """Months with a street file in landing/<force>/crime/ (month folders, flat files, zipped archives)."""
    import zipfile

    from hotspots.sources.police_uk import STREET_FILE

    landing = settings.force_landing(force) / "crime"
    names = [p.name for p in landing.glob("*/*-street.csv")] + [p.name for p in landing.glob("*-street.csv")]
    for archive in sorted(landing.glob("*.zip")):  # only the force's own files are taken from an archive
        with zipfile.ZipFile(archive) as opened:
            members = [Path(m).name for m in opened.namelist()]
        names += [m for m in members if (found := STREET_FILE.match(m)) and found.group(2).lower() == force.lower()]
    return {found.group(1) for name in names if (found := STREET_FILE.match(name))}


@writer_step
def catch_up_crime(force: str, today: date, settings: Settings | None = None) -> dict[str, Any]:
    """The scheduled ingest_crime step: every month of the look-back window published by ``today`` (ended
    crime_publication_lag_days ago, crime_feed.expected_months) and every month with a landed street file, loaded
    when not loaded yet or when its file changed (a late or republished month: rows replaced, the earlier raw copy
    kept under versions/). When the force counts police_uk, a month with no street file comes from the API once it
    has published it, and a month the API fetched is fetched again when the API published since (republished
    months). A window month still missing raises feed_missing for the data engineers (once per month)."""
    from hotspots.alerts.rules import store_alerts
    from hotspots.sources import crime_feed

    settings = force_settings(force, settings)
    window = crime_feed.expected_months(today, settings)
    months = sorted(set(window) | landed_crime_months(force, settings))
    with open_warehouse(settings) as con:
        police_uk = crime_feed.counts_police_uk(con, force, settings)
        api_allowed = police_uk and bool(settings.crime_api_url)
        loaded = crime_feed.loaded_street_months(con, force)
        todo: list[tuple[str, str]] = []  # (month, why)
        for month in months:
            files = crime_files_for_month(force, month, settings)
            drops = crime_feed.month_drops(con, force, month)
            if files:
                stale = [f for f in files if crime_feed.needs_load(con, force, crime_feed.STREET_FILE, f)]
                if stale or drops[crime_feed.API_MONTH]:
                    todo.append((month, "street_file"))
            elif api_allowed and (drops[crime_feed.API_MONTH] or month not in loaded):
                todo.append((month, "api"))
            elif police_uk and month not in loaded:
                todo.append((month, "missing"))
    client = police_api_client(settings) if api_allowed and any(why == "api" for _, why in todo) else None
    published = client.last_updated() if client is not None else None
    results, missing = [], []
    for month, why in todo:
        if why == "street_file":
            results.append(_load_street_month(force, month, crime_files_for_month(force, month, settings), settings))
            continue
        if why == "api":
            with open_warehouse(settings) as con:
                known = crime_feed.month_drops(con, force, month)[crime_feed.API_MONTH]
                stamp = crime_feed.drop(con, force, crime_feed.API_MONTH, known[0]) if known else None
            fresh = stamp is not None and stamp["api_updated"] is not None
            if fresh and crime_feed.month_text(stamp["api_updated"]) >= published:
                continue  # fetched since the API's last publication
            if month <= published:
                result = fetch_api_month(force, month, settings, client=client, published=published)
                if not result.get("missing"):
                    results.append(result)
                    continue
        if month in window:
            missing.append(month)
    where = f"{settings.force_landing(force) / 'crime'}" + (
        f" and the data.police.uk API (published up to {published})" if published else ""
    )
    alerts = [crime_feed.month_alert(force, m, settings=settings, today=today, where=where) for m in missing]
    with open_warehouse(settings) as con:
        raised = store_alerts(con, alerts, settings)
    changed = [r for r in results if r.get("changed", True)]
    if missing:
        log.error("Crime months missing for %s past the publication lag: %s (feed_missing raised)", force, missing)
    log.info("crime catch-up %s on %s: loaded %s", force, today, [r["month"] for r in changed])
    return {
        "force": force,
        "today": today.isoformat(),
        "window": [window[0], window[-1]],
        "loaded_months": [r["month"] for r in changed],
        "rows_loaded": sum(r["rows_loaded"] for r in changed),
        "missing_months": missing,
        "api_published": published,
        "alerts_raised": raised,
    }


def crime_loaded(months: list[dict], records: list[dict]) -> dict[str, Any]:
    """Per force, the months and extracts ingest_crime's steps loaded (empty: nothing new, the selection stands)."""
    loaded: dict[str, Any] = {}
    for result in months:
        done = result.get("loaded_months", [result["month"]] if result.get("files") else [])
        if done:
            loaded.setdefault(result["force"], {})["months"] = done
    for result in records:
        if result.get("files"):
            loaded.setdefault(result["force"], {})["records"] = [Path(f).name for f in result["files"]]
    return loaded


RECORD_SUFFIXES = (".csv", ".parquet")


def record_files(force: str, settings: Settings) -> list[Path]:
    """The force records extracts landed in landing/<force>/records/ (CSV or Parquet)."""
    folder = settings.force_landing(force) / "records"
    return sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in RECORD_SUFFIXES)


@writer_step
def ingest_force_records(force: str, settings: Settings | None = None) -> dict[str, Any]:
    """Load every force records extract of landing/<force>/records/ that is new or changed since it was loaded
    (crime_drops): raw copy (earlier content kept under versions/), Great Expectations with quarantine
    (sources.force_records), rows replaced per file name. An extract beyond a tolerance fails the step naming it,
    after the others loaded."""
    from hotspots.sources import crime_feed
    from hotspots.sources.force_records import ingest_force_records as load
    from hotspots.validation.core import InputFileError

    settings = force_settings(force, settings)
    totals = _crime_totals(force, None) | {"origin": crime_feed.RECORDS, "knife_crimes": 0}
    rejected: list[str] = []
    with open_warehouse(settings) as con:
        for landed in record_files(force, settings):
            if not crime_feed.needs_load(con, force, crime_feed.RECORDS, landed):
                continue
            raw = _to_raw(landed, settings.force_raw(force) / "records")
            try:
                counts = load(con, force=force, path=raw, settings=settings, docs_dir=_docs_dir(settings))
            except InputFileError as exc:
                rejected.append(str(exc))
                continue
            crime_feed.record_drop(con, force=force, source=crime_feed.RECORDS, landed=landed, raw=raw)
            totals["files"].append(str(raw))
            totals["knife_crimes"] += counts["knife_crimes"]
            _add_counts(totals, counts)
    if totals["files"]:
        build_data_docs()
    log.info("force records %s: %s", force, totals)
    if rejected:
        raise InputFileError("; ".join(rejected))
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
    folder_empty = not landed and not only_new  # a micro-batch finding nothing is not a dark day
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
        if folder_empty:
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
                con, force=force, day=local_day, settings=settings, folder_empty=folder_empty
            )
    if raws or folder_empty:
        build_data_docs()
    totals["dates"] = [d.isoformat() for d in dates]
    totals["complete_dates"] = [d.isoformat() for d in complete]
    totals["feed_missing"] = feed_missing
    if folder_empty:
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
