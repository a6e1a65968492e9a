"""What ingest_crime looks for and has loaded: the months of the look-back window data.police.uk has published by
now (HOTSPOTS_CRIME_PUBLICATION_LAG_DAYS), each crime drop by its logical identity (crime_drops), the force's
boundary for the API, and the feed_missing alert of a month still missing past the lag (docs/data_formats.md,
"When crime months arrive")."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
from shapely import wkb
from shapely.geometry import MultiPolygon, Polygon

from hotspots.settings import Settings
from hotspots.sources.areas import NoAreasLoaded
from hotspots.warehouse import read_sql

STREET_FILE = "street_file"
API_MONTH = "police_api"
RECORDS = "force_records"


def month_start(month: str) -> date:
    """date(2024, 2, 1) from '2024-02'."""
    return date.fromisoformat(f"{month}-01")


def month_text(day: date) -> str:
    return day.strftime("%Y-%m")


def add_months(month: str, n: int) -> str:
    first = month_start(month)
    index = first.year * 12 + first.month - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def latest_expected_month(today: date, settings: Settings) -> str:
    """The last month that ended at least crime_publication_lag_days before ``today``."""
    cutoff = today - timedelta(days=settings.crime_publication_lag_days)
    return month_text((cutoff + timedelta(days=1)).replace(day=1) - timedelta(days=1))


def expected_months(today: date, settings: Settings) -> list[str]:
    """The look-back window (lookback_months months) ending with the latest month published by ``today``."""
    last = latest_expected_month(today, settings)
    return [add_months(last, -k) for k in range(settings.lookback_months - 1, -1, -1)]


def content_digest(path: Path) -> str:
    """First 12 hex digits of the file's SHA-256 (the identity of a content)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def drop(con: duckdb.DuckDBPyConnection, force: str, source: str, name: str) -> dict | None:
    """The crime_drops row of a logical file, or None when it was never loaded."""
    row = con.execute(
        "SELECT bytes, mtime_ns, sha256, month, api_updated FROM crime_drops "
        "WHERE force = ? AND source = ? AND name = ?",
        [force, source, name],
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("bytes", "mtime_ns", "sha256", "month", "api_updated"), row))


def month_drops(con: duckdb.DuckDBPyConnection, force: str, month: str) -> dict[str, list[str]]:
    """Names of the street files and API months loaded for a month, by source."""
    rows = con.execute(
        "SELECT source, name FROM crime_drops WHERE force = ? AND month = ? AND source IN (?, ?) ORDER BY name",
        [force, month_start(month), STREET_FILE, API_MONTH],
    ).fetchall()
    found: dict[str, list[str]] = {STREET_FILE: [], API_MONTH: []}
    for source, name in rows:
        found[source].append(name)
    return found


def unchanged(known: dict | None, landed: Path) -> bool:
    """Whether a landed file still has the size and modification time it had when loaded."""
    stat = landed.stat()
    return known is not None and (known["bytes"], known["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)


def needs_load(con: duckdb.DuckDBPyConnection, force: str, source: str, landed: Path) -> bool:
    """Whether a landed file is new or its content changed since it was loaded. A file only touched (new
    modification time, same content) is not loaded again: its stored size and time are renewed."""
    known = drop(con, force, source, landed.name)
    if unchanged(known, landed):
        return False
    if known is not None and known["sha256"] == content_digest(landed):
        stat = landed.stat()
        con.execute(
            "UPDATE crime_drops SET bytes = ?, mtime_ns = ? WHERE force = ? AND source = ? AND name = ?",
            [stat.st_size, stat.st_mtime_ns, force, source, landed.name],
        )
        return False
    return True


def record_drop(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    source: str,
    landed: Path,
    raw: Path,
    month: str | None = None,
    api_updated: str | None = None,
) -> None:
    """Remember a loaded crime file (its landed size and modification time, the raw copy's content hash)."""
    stat = landed.stat()
    con.execute(
        read_sql("transform/merge_crime_drops"),
        {
            "force": force,
            "source": source,
            "name": landed.name,
            "month": month_start(month) if month else None,
            "bytes": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": content_digest(raw),
            "api_updated": month_start(api_updated) if api_updated else None,
            "loaded_at": datetime.now(timezone.utc).replace(tzinfo=None),
        },
    )


def forget_crime_file(con: duckdb.DuckDBPyConnection, *, force: str, source: str, name: str, drop_source: str) -> None:
    """Remove a loaded file's crimes, quarantine, validation runs and drop (an API month an archive file replaced)."""
    file_ids = [
        r[0]
        for r in con.execute(
            "SELECT file_id FROM stg_crime_files WHERE force = ? AND source = ? AND source_file = ?",
            [force, source, name],
        ).fetchall()
    ]
    for file_id in file_ids:
        con.execute("DELETE FROM stg_crime_records WHERE file_id = ?", [file_id])
        con.execute("DELETE FROM stg_crime_files WHERE file_id = ?", [file_id])
    for table in ("quarantine", "validation_runs"):
        con.execute(f"DELETE FROM {table} WHERE force = ? AND source = ? AND source_file = ?", [force, source, name])
    con.execute("DELETE FROM crime_drops WHERE force = ? AND source = ? AND name = ?", [force, drop_source, name])


def loaded_street_months(con: duckdb.DuckDBPyConnection, force: str) -> set[str]:
    """Months with data.police.uk crimes in the warehouse (street files or API), whatever loaded them."""
    rows = con.execute(
        "SELECT DISTINCT r.month FROM stg_crime_records AS r INNER JOIN stg_crime_files AS f USING (file_id) "
        "WHERE f.force = ? AND f.source = 'police_uk'",
        [force],
    ).fetchall()
    return {month_text(m) for (m,) in rows}


def counts_police_uk(con: duckdb.DuckDBPyConnection, force: str, settings: Settings) -> bool:
    """Whether the force counts data.police.uk (street files or the API): crime_source police_uk, or auto with
    no force records loaded (the rule of the view counted_crimes)."""
    if settings.crime_source != "auto":
        return settings.crime_source == "police_uk"
    found = con.execute(
        "SELECT 1 FROM stg_crime_files WHERE force = ? AND source = 'force_records' LIMIT 1", [force]
    ).fetchone()
    return found is None


def force_polygons(con: duckdb.DuckDBPyConnection, force: str) -> list[Polygon]:
    """The force's boundary for the API, in WGS84 (lon, lat): the union of its areas, widened by 100 m (data.police.uk
    snaps crimes to map points near streets) and simplified to 50 m; one polygon per part, holes filled."""
    row = con.execute(
        "SELECT ST_AsWKB(ST_Transform(ST_SimplifyPreserveTopology(ST_Buffer(ST_Union_Agg(geom), 100), 50), "
        "'EPSG:27700', 'EPSG:4326', always_xy := true)) FROM stg_areas WHERE force = ?",
        [force],
    ).fetchone()
    if row is None or row[0] is None:
        raise NoAreasLoaded(
            f"No areas loaded for force '{force}': the API is asked by the force's boundary, the union of its areas. "
            "Run ingest_areas first."
        )
    shape = wkb.loads(bytes(row[0]))
    parts = shape.geoms if isinstance(shape, MultiPolygon) else [shape]
    return [Polygon(part.exterior.coords) for part in parts if isinstance(part, Polygon) and not part.is_empty]


def month_alert(force: str, month: str, *, settings: Settings, today: date, where: str):
    """The feed_missing alert of a month of the window still missing past the publication lag."""
    from hotspots.alerts.routing import load_routing
    from hotspots.alerts.rules import Alert
    from hotspots.feed import FEED_RULE

    end = month_start(add_months(month, 1)) - timedelta(days=1)
    details = {
        "area_code": "Crime data",
        "area_name": None,
        "rank": None,
        "force": force,
        "date": month_start(month).isoformat(),
        "kind": "crime_month",
        "what": f"no crime data for {month}",
        "month": month,
        "expected_by": (end + timedelta(days=settings.crime_publication_lag_days)).isoformat(),
        "checked_on": today.isoformat(),
        "looked_in": where,
    }
    return Alert(FEED_RULE, force, "feed:crime", month_start(month), load_routing(settings).feed_team, details)
