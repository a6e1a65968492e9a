"""The daily HTML report per force: hot-spot map by compliance, the Lorenz curve, 28 days of dose per hot spot.

One self-contained file (inline SVG, inline CSS, no scripts, no network) that opens from disk:
data_dir/reports/<force>/<date>.html. Each hot spot has an anchor (#area_code) that alerts link to.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hotspots.alerts.messages import dose_rule_words
from hotspots.plan import Selection, selection_on
from hotspots.settings import Settings
from hotspots.warehouse import fetch_dicts, read_sql

TEMPLATES = Path(__file__).parent / "templates"
HISTORY_DAYS = 28
STATUS_COLOURS = {
    "met": "#1a9850",
    "under": "#f59e0b",
    "none": "#d73027",
    "not_planned": "#6baed6",
    "no_data": "#636363",
    "no data": "#9e9e9e",
}
STATUS_TEXT = {
    "met": "target met",
    "under": "under target",
    "none": "no patrol",
    "not_planned": "not drawn today",
    "no_data": "no GPS data",
    "no data": "no compliance figures",
}
OPTIONAL_STATUSES = ("not_planned", "no_data", "no data")  # in the legend only on days that have them
MAP_WIDTH_PX = 900  # nominal drawing width: simplification tolerance and label size follow from it


def report_path(settings: Settings, force: str, day: date) -> Path:
    """Where the report of force for day lives: reports_dir/<force>/<YYYY-MM-DD>.html."""
    return Path(settings.reports_dir) / force / f"{day.isoformat()}.html"


def build_report(con: duckdb.DuckDBPyConnection, *, force: str, date: date, settings: Settings) -> Path:
    """Write the report of one force about one day (the day compliance is measured) and return its path."""
    html = render_report(con, force=force, day=date, settings=settings)
    path = report_path(settings, force, date)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_report(con: duckdb.DuckDBPyConnection, *, force: str, day: date, settings: Settings) -> str:
    """The report's HTML text."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = _num
    return env.get_template("report.html.j2").render(**report_context(con, force=force, day=day, settings=settings))


def report_context(con: duckdb.DuckDBPyConnection, *, force: str, day: date, settings: Settings) -> dict[str, Any]:
    """Everything the template draws, with SVG coordinates already computed."""
    selection = selection_on(con, force, day)
    hotspots = _hotspots(con, force, day, selection) if selection else []
    counts = {status: sum(h["status"] == status for h in hotspots) for status in STATUS_COLOURS}
    return {
        "force": force,
        "day": day,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "selection": selection,
        "hotspots": hotspots,
        "counts": counts,
        "colours": STATUS_COLOURS,
        "status_text": STATUS_TEXT,
        "optional_statuses": OPTIONAL_STATUSES,
        "map": _map(con, force, hotspots),
        "lorenz": _lorenz(con, force, selection.selection_id) if selection else None,
        "forecast": _forecast(con, force, selection.selection_id, settings) if selection else None,
        "backtests": _backtests(con, force),
        "history": _history(con, force, day, hotspots),
        "alerts": _alerts(con, force, day),
        "contamination": _contamination(con, force, day),
        "target_minutes": settings.target_minutes,
        "dose_rule": dose_rule_words(settings.dose_rule, settings.dose_visit_minutes),
        "window": (
            f"{settings.patrol_window_start:%H:%M}-{settings.patrol_window_end:%H:%M}".replace("-00:00", "-24:00")
        ),
    }


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _hotspots(con: duckdb.DuckDBPyConnection, force: str, day: date, selection: Selection) -> list[dict[str, Any]]:
    rows = fetch_dicts(
        con,
        read_sql("transform/report_hotspots"),
        {"force": force, "day": day, "selection_id": selection.selection_id},
    )
    for row in rows:
        row["status"] = row["status"] or "no data"
        if row["last_patrol_date"] is not None:
            row["days_since_patrol"] = (day - row["last_patrol_date"]).days
            row["since_text"] = f"{row['days_since_patrol']} (last patrol {row['last_patrol_date']:%Y-%m-%d})"
        elif row["days_without_patrol"] is not None:
            row["days_since_patrol"] = None
            row["since_text"] = f"no patrol recorded in {row['days_without_patrol']} days on the list"
        else:
            row["days_since_patrol"] = None
            row["since_text"] = "unknown"
        row["tooltip"] = _hotspot_tooltip(row, day)
    return rows


def _hotspot_tooltip(row: dict[str, Any], day: date) -> str:
    lines = [f"#{row['rank']} {row['area_code']} {row['area_name']}".rstrip()]
    if row["status"] == "no data":
        lines.append(f"{day:%Y-%m-%d}: no compliance figures")
    elif row["status"] not in STATUS_TEXT:
        lines.append(f"{day:%Y-%m-%d}: {row['status']}")
    elif not row["planned"]:
        lines.append(
            f"{day:%Y-%m-%d}: {STATUS_TEXT[row['status']]} (randomised plan), {_num(row['delivered_minutes'], 1)} "
            f"min in the patrol window ({_num(row['patrol_minutes'], 1)} min all day)"
        )
        lines.append(f"Koper visits: {row['koper_visits']}")
    else:
        lines.append(
            f"{day:%Y-%m-%d}: {STATUS_TEXT[row['status']]}, {_num(row['delivered_minutes'], 1)} of "
            f"{_num(row['target_minutes'])} min in the patrol window ({_num(row['patrol_minutes'], 1)} min all day)"
        )
        lines.append(f"Koper visits: {row['koper_visits']}")
    if row.get("dose_rule") == "continuous" and row["status"] in STATUS_TEXT:
        longest = _num(row["longest_visit_minutes"], 1)
        lines.append(f"Longest visit in the window: {longest} min (dose: one continuous visit)")
    lines.append(f"Days since last patrol: {row['since_text']}")
    return "\n".join(lines)


def _map(con: duckdb.DuckDBPyConnection, force: str, hotspots: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Areas around the hot spots as SVG paths (EPSG:27700, y flipped by ST_AsSVG), hot spots coloured by status."""
    codes = [h["area_code"] for h in hotspots]
    extent = con.execute(
        """
        SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) FROM stg_areas
        WHERE force = $force AND (len($codes) = 0 OR list_contains($codes, area_code))
        """,
        {"force": force, "codes": codes},
    ).fetchone()
    if extent[0] is None:
        return None
    xmin, ymin, xmax, ymax = _padded(*extent)
    width = xmax - xmin
    shapes = fetch_dicts(
        con,
        read_sql("transform/report_area_shapes"),
        {"force": force, "tolerance": width / MAP_WIDTH_PX / 2, "xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
    )
    by_code = {h["area_code"]: h for h in hotspots}
    context, spots = [], []
    for shape in shapes:
        hotspot = by_code.get(shape["area_code"])
        if hotspot is None:
            shape["tooltip"] = f"{shape['area_code']} {shape['area_name']} (not a hot spot)".strip()
            context.append(shape)
        else:
            shape.update(rank=hotspot["rank"], status=hotspot["status"], tooltip=hotspot["tooltip"])
            spots.append(shape)
    return {
        "view_box": f"{xmin:.1f} {-ymax:.1f} {width:.1f} {ymax - ymin:.1f}",
        "aspect": (ymax - ymin) / width,
        "context": context,
        "hotspots": sorted(spots, key=lambda s: s["rank"]),
        "font_size": width / 60,
        "scale_bar": _scale_bar(xmin, ymin, width, ymax - ymin),
    }


def _padded(xmin: float, ymin: float, xmax: float, ymax: float) -> tuple[float, float, float, float]:
    """Extent with a margin, at least 500 m across, with an aspect ratio between 1:2 and 4:3 (height:width)."""
    pad = max(xmax - xmin, ymax - ymin, 500.0) * 0.08
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    width, height = xmax - xmin, ymax - ymin
    if height < width / 2:
        grow = (width / 2 - height) / 2
        ymin, ymax = ymin - grow, ymax + grow
    elif height > width * 4 / 3:
        grow = (height * 3 / 4 - width) / 2
        xmin, xmax = xmin - grow, xmax + grow
    return xmin, ymin, xmax, ymax


def _scale_bar(xmin: float, ymin: float, width: float, height: float) -> dict[str, Any]:
    """A round-length scale bar in the lower left corner (map units are metres)."""
    target = width / 5
    length = max(n * 10**e for e in range(0, 7) for n in (1, 2, 5) if n * 10**e <= target) if target >= 1 else 1
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    x, y = xmin + width * 0.03, -(ymin + height * 0.04)
    return {"x": x, "y": y, "length": length, "label": label}


def _lorenz(con: duckdb.DuckDBPyConnection, force: str, selection_id: str) -> dict[str, Any] | None:
    """The concentration curve of the selection in force, scaled to a 360 x 300 chart."""
    from hotspots.selection import concentration

    try:
        figures = concentration(con, force=force, selection_id=selection_id)
    except ValueError:
        return None
    left, top, size_x, size_y = 52, 12, 290, 240

    def xy(share_areas: float, share_harm: float) -> tuple[float, float]:
        return left + share_areas * size_x, top + (1 - share_harm) * size_y

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(a, h) for a, h in figures["lorenz"]))
    cut_x, cut_y = xy(figures["selected_area_share"], figures["selected_harm_share"])
    ticks = [{"share": s, "x": xy(s, 0)[0], "y": xy(0, s)[1], "label": f"{s:.0%}"} for s in (0, 0.25, 0.5, 0.75, 1)]
    return {
        **figures,
        "points": points,
        "cut": {"x": cut_x, "y": cut_y},
        "origin": xy(0, 0),
        "corner": xy(1, 1),
        "ticks": ticks,
        "plot": {"left": left, "top": top, "width": size_x, "height": size_y},
    }


def _forecast(con: duckdb.DuckDBPyConnection, force: str, selection_id: str, settings: Settings) -> dict | None:
    """The harm-prevented forecast of the selection in force (docs/targeting.md), or None without a ranking."""
    from hotspots.targeting.forecast import forecast

    try:
        return forecast(con, force=force, settings=settings, selection_id=selection_id)
    except (ValueError, TypeError):
        return None


def _backtests(con: duckdb.DuckDBPyConnection, force: str) -> list[dict[str, Any]]:
    """The latest stored back-test windows of the rule (backtest_scores), newest first."""
    from hotspots.targeting.backtest import latest_backtests

    return latest_backtests(con, force)


def _history(con: duckdb.DuckDBPyConnection, force: str, day: date, hotspots: list[dict[str, Any]]) -> dict[str, Any]:
    """Delivered minutes against target over the 28 days ending with day, one small bar chart per hot spot."""
    first = day - timedelta(days=HISTORY_DAYS - 1)
    days = [first + timedelta(days=i) for i in range(HISTORY_DAYS)]
    rows = fetch_dicts(
        con,
        """
        SELECT area_code, date, status, target_minutes, delivered_minutes, koper_visits FROM daily_compliance
        WHERE force = $force AND date BETWEEN $first AND $day AND list_contains($codes, area_code)
        """,
        {"force": force, "first": first, "day": day, "codes": [h["area_code"] for h in hotspots]},
    )
    by_key = {(r["area_code"], r["date"]): r for r in rows}
    left, top, bar_step, height = 34, 8, 9, 60
    charts = []
    for hotspot in hotspots:
        series = [by_key.get((hotspot["area_code"], d)) for d in days]
        known = [r for r in series if r]
        y_max = max([1.0] + [r["delivered_minutes"] for r in known] + [r["target_minutes"] for r in known]) * 1.15

        def y(minutes: float) -> float:
            return top + height * (1 - minutes / y_max)

        bars, target_steps = [], []
        for i, (d, r) in enumerate(zip(days, series)):
            x = left + i * bar_step
            if r is None:
                continue
            bar_top = min(y(r["delivered_minutes"]), top + height - 2)  # a day without patrol shows as a red tick
            bars.append(
                {
                    "x": x + 1,
                    "y": bar_top,
                    "width": bar_step - 2,
                    "height": top + height - bar_top,
                    "colour": STATUS_COLOURS.get(r["status"], STATUS_COLOURS["no data"]),
                    "tooltip": f"{d:%a %d %b}: {_num(r['delivered_minutes'], 1)} of {_num(r['target_minutes'])} min "
                    f"({STATUS_TEXT.get(r['status'], r['status'])}), Koper visits {r['koper_visits']}",
                }
            )
            target_steps.append(f"M{x:.1f},{y(r['target_minutes']):.1f} h{bar_step}")
        delivered = sum(r["delivered_minutes"] for r in known)
        target = sum(r["target_minutes"] for r in known)
        charts.append(
            {
                "area_code": hotspot["area_code"],
                "area_name": hotspot["area_name"],
                "rank": hotspot["rank"],
                "bars": bars,
                "target_path": " ".join(target_steps),
                "y_max": y_max,
                "y_top": top,
                "y_axis": top + height,
                "y_target_label": y(max([r["target_minutes"] for r in known] or [0])),
                "max_target": max([r["target_minutes"] for r in known] or [0]),
                "delivered": delivered,
                "target": target,
                "days_known": len(known),
                "ratio": delivered / target if target else None,
            }
        )
    return {
        "first": first,
        "last": day,
        "charts": charts,
        "width": left + HISTORY_DAYS * bar_step + 4,
        "height": top + height + 18,
        "left": left,
        "week_marks": [{"x": left + i * bar_step, "label": f"{d:%d %b}"} for i, d in enumerate(days) if i % 7 == 0],
    }


def _contamination(con: duckdb.DuckDBPyConnection, force: str, day: date) -> dict[str, Any] | None:
    """The day's daily_contamination row when a randomised plan left hot spots out, else None."""
    found = fetch_dicts(
        con,
        "SELECT * FROM daily_contamination WHERE force = $force AND date = $day AND unplanned_hotspots > 0",
        {"force": force, "day": day},
    )
    return found[0] if found else None


def _alerts(con: duckdb.DuckDBPyConnection, force: str, day: date) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        """
        SELECT rule, area_code, severity, audience, team, delivery_status FROM alerts_status
        WHERE force = $force AND date = $day ORDER BY severity = 'critical' DESC, rule, area_code
        """,
        {"force": force, "day": day},
    )
