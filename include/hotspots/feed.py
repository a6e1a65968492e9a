"""Feed health: what the GPS feed delivered per local hour (feed_hours), and feed_missing alerts to the data
engineers when a day closes without ping files, when no ping arrives for a while inside the patrol window, or
when an hour's reporting devices fall well below the hour's norm (docs/patrol.md, Feed health)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

from hotspots.settings import Settings
from hotspots.warehouse import fetch_dicts, read_sql, transaction

log = logging.getLogger(__name__)

FEED_RULE = "feed_missing"
KIND_TEXT = {
    "no_files": "no ping files for the day",
    "gap": "no ping inside the patrol window",
    "low_devices": "few devices reporting",
}


class FeedMissingError(RuntimeError):
    """A day's landing folder held no ping files: the run fails after the feed_missing alert went out."""


def missing_days_message(results: list[dict]) -> str | None:
    """The failure text for ingest_avl results (one per force) whose day had no ping files, else None."""
    empty = [f"{r['force']} on {r['day']}" for r in results if not r.get("files")]
    if not empty:
        return None
    return (
        f"No ping files for {', '.join(empty)}: the data engineers got feed_missing, and the local days these close "
        "are evaluated as no_data. Land the files and rerun ingest_avl for that day (docs/operations.md)."
    )


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def window_bounds_utc(day: date, settings: Settings) -> list[tuple[datetime, datetime]]:
    """The day's patrol window as (start, end) UTC pairs (naive): one, or two when the window wraps midnight.
    The one owner of the window's edges is hotspots.patrol.core.local_days."""
    from hotspots.patrol.core import PatrolParams, local_days

    days = local_days(day, day, PatrolParams.from_settings(settings))
    pairs = []
    for lo, hi in days.win[0]:
        if hi > lo:
            pairs.append(
                tuple(datetime.fromtimestamp(int(v) / 1e6, timezone.utc).replace(tzinfo=None) for v in (lo, hi))
            )
    return pairs


def hour_bounds_utc(day: date, settings: Settings) -> list[tuple[int, datetime, datetime]]:
    """(local clock hour, start, end) in naive UTC for every hour of the local day (23 or 25 on clock changes)."""
    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)
    hours = []
    while start < end:
        hours.append((start.astimezone(zone).hour, _naive_utc(start), _naive_utc(start + timedelta(hours=1))))
        start += timedelta(hours=1)
    return hours


def day_has_data(con: duckdb.DuckDBPyConnection, force: str, day: date, settings: Settings) -> bool:
    """Whether the force has any GPS data inside the day's patrol window (where the target is measured): a ping
    in stg_pings, or a daily_patrol row with window minutes, or a day whose pings retention removed (its counts are
    in retired_ping_days). A day without is no_data in daily_compliance."""
    retired = con.execute(
        "SELECT 1 FROM retired_ping_days WHERE force = ? AND local_date = ? LIMIT 1", [force, day]
    ).fetchone()
    if retired:
        return True
    for lo, hi in window_bounds_utc(day, settings):
        found = con.execute(
            "SELECT 1 FROM stg_pings WHERE force = ? AND local_date = ? AND ts_utc >= ? AND ts_utc < ? LIMIT 1",
            [force, day, lo, hi],
        ).fetchone()
        if found:
            return True
    found = con.execute(
        "SELECT 1 FROM daily_patrol WHERE force = ? AND date = ? AND window_minutes > 0 LIMIT 1", [force, day]
    ).fetchone()
    return found is not None


def compute_feed_hours(con: duckdb.DuckDBPyConnection, *, force: str, dates: list[date], settings: Settings) -> int:
    """Replace the feed_hours rows of (force, date) for each date from stg_pings; idempotent. Returns rows."""
    rows = 0
    for day in sorted(set(dates)):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE feed_hour_bounds "
            "(local_hour INTEGER, hour_start TIMESTAMP, hour_end TIMESTAMP)"
        )
        con.executemany(
            "INSERT INTO feed_hour_bounds VALUES (?, ?, ?)", [list(h) for h in hour_bounds_utc(day, settings)]
        )
        with transaction(con):
            con.execute("DELETE FROM feed_hours WHERE force = ? AND date = ?", [force, day])
            con.execute(
                f"INSERT INTO feed_hours BY NAME ({read_sql('transform/feed_hours', settings)})",
                {"force": force, "date": day},
            )
        rows += con.execute("SELECT count(*) FROM feed_hours WHERE force = ? AND date = ?", [force, day]).fetchone()[0]
    return rows


def _ranges(labels: list[tuple[datetime, datetime]], zone: ZoneInfo) -> str:
    """'14:00-16:00, 18:10-19:00' in local time from UTC (start, end) pairs, adjoining ones merged."""
    merged: list[list[datetime]] = []
    for lo, hi in sorted(labels):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])

    def local(moment: datetime) -> str:
        return moment.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%H:%M")

    return ", ".join(f"{local(lo)}-{local(hi)}" for lo, hi in merged)


def _num(value) -> float | None:
    return None if value is None else round(float(value), 1)


def feed_alerts(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    day: date,
    settings: Settings,
    now_utc: datetime | None = None,
    folder_empty: bool = False,
) -> list:
    """The feed_missing alerts for the force's local day: at the day's close (now_utc None) or during it (only what
    has happened by now_utc). Reads feed_hours (compute_feed_hours first) and stg_pings; writes nothing."""
    from hotspots.alerts.routing import load_routing
    from hotspots.alerts.rules import Alert

    if FEED_RULE not in settings.alert_rules:
        return []
    zone = ZoneInfo(settings.timezone)
    now = None if now_utc is None else _naive_utc(now_utc)
    hours = [h for h in hour_bounds_utc(day, settings) if now is None or h[2] <= now]
    seen = {
        r["hour_start_utc"]: r
        for r in fetch_dicts(con, "SELECT * FROM feed_hours WHERE force = ? AND date = ?", [force, day])
    }
    norm = {
        r["local_hour"]: r
        for r in fetch_dicts(
            con,
            read_sql("transform/feed_norm", settings),
            {"force": force, "date": day, "norm_days": settings.feed_norm_days},
        )
    }

    def figures(spans: list[tuple[int, datetime, datetime]]) -> dict:
        expected = [norm.get(h) for h, _, _ in spans]
        known = [e for e in expected if e is not None and e["days"] >= settings.feed_norm_min_days]
        got = [seen.get(lo) for _, lo, _ in spans]
        return {
            "seen_files": sum(g["files"] for g in got if g),
            "expected_files": _num(sum(e["files"] for e in known)) if known else None,
            "seen_devices": max((g["devices"] for g in got if g), default=0),
            "expected_devices": _num(max(e["devices"] for e in known)) if known else None,
        }

    team = load_routing(settings).feed_team
    found: list[tuple[str, str, list[tuple[int, datetime, datetime]], dict]] = []
    if now is None and (folder_empty or not seen):
        found.append(("no_files", _ranges([(lo, hi) for _, lo, hi in hours], zone), hours, {}))
    else:
        gaps = []
        for lo, hi in window_bounds_utc(day, settings):
            hi = hi if now is None else min(hi, now)
            if hi <= lo:
                continue
            params = {"force": force, "lo": lo, "hi": hi, "gap_minutes": settings.feed_gap_minutes}
            gaps += [
                (g["gap_start"], g["gap_end"])
                for g in fetch_dicts(con, read_sql("transform/feed_gaps", settings), params)
            ]
        if gaps:
            touched = [h for h in hour_bounds_utc(day, settings) if any(h[1] < b and a < h[2] for a, b in gaps)]
            longest = max((b - a).total_seconds() / 60 for a, b in gaps)
            found.append(("gap", _ranges(gaps, zone), touched, {"longest_gap_minutes": round(longest, 1)}))
        low = []
        for hour, lo, hi in hours:
            expected = norm.get(hour)
            if expected is None or expected["days"] < settings.feed_norm_min_days:
                continue
            if expected["devices"] < settings.feed_min_devices:
                continue
            devices = seen[lo]["devices"] if lo in seen else 0
            if devices < settings.feed_device_share * expected["devices"]:
                low.append((hour, lo, hi))
        if low:
            found.append(("low_devices", _ranges([(lo, hi) for _, lo, hi in low], zone), low, {}))
    alerts = []
    for kind, ranges, spans, extra in found:
        details = (
            {
                "area_code": "GPS feed",
                "area_name": None,
                "rank": None,
                "force": force,
                "date": day.isoformat(),
                "kind": kind,
                "what": KIND_TEXT[kind],
                "hours": ranges,
                "device_share": settings.feed_device_share if kind == "low_devices" else None,
                "as_of": None if now is None else now.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%H:%M"),
            }
            | figures(spans)
            | extra
        )
        alerts.append(Alert(FEED_RULE, force, f"feed:{kind}", day, team, details))
    return alerts


def raise_feed_alerts(
    con: duckdb.DuckDBPyConnection,
    *,
    force: str,
    day: date,
    settings: Settings,
    now_utc: datetime | None = None,
    folder_empty: bool = False,
) -> list[str]:
    """Store the day's feed_missing alerts in the outbox (each kind once per force and day); returns new keys."""
    from hotspots.alerts.rules import store_alerts

    alerts = feed_alerts(con, force=force, day=day, settings=settings, now_utc=now_utc, folder_empty=folder_empty)
    for alert in alerts:
        log.warning("GPS feed %s for %s on %s: %s", alert.details["kind"], force, day, alert.details)
    return store_alerts(con, alerts, settings)
