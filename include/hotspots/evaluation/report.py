"""The evaluation report: one self-contained HTML file (inline SVG, no scripts, no external resources) with the
plain-language summary, a forest plot of the estimates, the dose-response and the carry-over charts."""

from __future__ import annotations

import html
import math
from pathlib import Path

from hotspots.evaluation.summary import plain_summary

WIDTH, ROW_H, LEFT, RIGHT, TOP = 760, 26, 260, 150, 30


def _rows_itt(result: dict) -> list[tuple[str, dict]]:
    itt = result.get("itt", {})
    rows = [(f"ITT: {name}", itt[name]) for name in ("harm", "count", "prevalence") if name in itt]
    disp = result.get("displacement") or {}
    ring = disp.get("ring") if "ring" in disp else disp
    if ring and ring.get("rate_ratio") is not None:
        rows.append((f"Ring {disp.get('ring_m', 0):g} m (displacement)", ring))
    return rows


def _rows_dose(result: dict) -> list[tuple[str, dict]]:
    rows = []
    for r in result.get("dose_response") or []:
        hi = r["max_minutes"]
        label = f"{r['min_minutes']} min" if hi == r["min_minutes"] else f"{r['min_minutes']}-{hi} min"
        label = label if hi is not None else f"{r['min_minutes']}+ min"
        rows.append((f"{label} ({r['place_days']} place-days)", r))
    for r in result.get("koper_response") or []:
        hi = r["max_visits"]
        label = f"{r['min_visits']}{'+' if hi is None else ''} Koper visit(s)"
        rows.append((f"{label} ({r['place_days']} place-days)", r))
    return rows


def _rows_carry(result: dict) -> list[tuple[str, dict]]:
    carry = result.get("carry_over") or {}
    rows = []
    for r in carry.get("consecutive_patrol_days", []):
        rows.append((f"patrol day {r['days']}{'+' if r['or_more'] else ''} in a row", r))
    for r in carry.get("days_since_patrol", []):
        rows.append((f"{r['days']} day(s) after the last patrol", r))
    return rows


def forest_svg(rows: list[tuple[str, dict]], svg_id: str, title: str) -> str:
    """Rate ratios with 95% intervals on a log axis, a line at 1 (no change)."""
    values = [v for _, r in rows for v in (r.get("rate_ratio"), r.get("ci_low"), r.get("ci_high")) if v]
    lo = min([0.5, *values]) * 0.9
    hi = max([2.0, *values]) * 1.1
    span = math.log(hi) - math.log(lo)
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + ROW_H * max(len(rows), 1) + 30

    def x(v: float) -> float:
        return LEFT + (math.log(v) - math.log(lo)) / span * plot_w

    parts = [
        f'<svg id="{svg_id}" class="forest" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="4" y="16" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{x(1):.1f}" y1="{TOP - 6}" x2="{x(1):.1f}" y2="{height - 24}" stroke="#888" '
        'stroke-dasharray="4 3"/>',
    ]
    for tick in (0.25, 0.5, 1, 2, 4):
        if lo <= tick <= hi:
            parts.append(
                f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle" font-size="11">{tick:g}</text>'
            )
    for i, (label, r) in enumerate(rows):
        y = TOP + ROW_H * i + ROW_H / 2
        parts.append(f'<text x="4" y="{y + 4:.1f}" font-size="12">{html.escape(label)}</text>')
        rr = r.get("rate_ratio")
        if rr is None:
            parts.append(f'<text x="{LEFT}" y="{y + 4:.1f}" font-size="12" fill="#888">not estimable</text>')
            continue
        if r.get("ci_low") and r.get("ci_high"):
            parts.append(
                f'<line class="ci" x1="{x(r["ci_low"]):.1f}" y1="{y:.1f}" x2="{x(r["ci_high"]):.1f}" y2="{y:.1f}" '
                'stroke="#1f4e79" stroke-width="2"/>'
            )
            text = f"{rr:.2f} ({r['ci_low']:.2f}-{r['ci_high']:.2f})"
        else:
            text = f"{rr:.2f} (reference)" if r.get("reference") else f"{rr:.2f}"
        colour = "#1f4e79" if not r.get("reference") else "#888"
        parts.append(f'<circle class="estimate" cx="{x(rr):.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>')
        parts.append(f'<text x="{WIDTH - RIGHT + 10}" y="{y + 4:.1f}" font-size="12">{html.escape(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def render(result: dict, *, title: str) -> str:
    """The whole page."""
    summary = "".join(f"<p>{html.escape(line)}</p>" for line in plain_summary(result))
    charts = [forest_svg(_rows_itt(result), "forest-svg", "Estimates: rate ratio, 95% interval (below 1 = fewer)")]
    if result.get("dose_response"):
        charts.append(forest_svg(_rows_dose(result), "dose-svg", "Dose-response, against no patrol in the window"))
    if result.get("carry_over", {}).get("consecutive_patrol_days"):
        reference = result["carry_over"].get("reference", "")
        charts.append(forest_svg(_rows_carry(result), "carry-svg", f"Carry-over, against {reference}"))
    facts = (
        f"Design: {result.get('design')}; {result.get('hotspots')} hot spots, {result.get('start')} to "
        f"{result.get('end')}; {result.get('treated_place_days')} patrol and {result.get('control_place_days')} "
        f"comparison place-days; {result.get('crimes')} crimes."
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:800px;margin:2em auto;color:#222}"
        "svg{display:block;margin:1.5em 0}p{line-height:1.4}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><section id="summary">{summary}</section>'
        f'<p class="facts">{html.escape(facts)}</p>' + "".join(charts) + "</body></html>\n"
    )


def write_report(result: dict, path: Path, *, title: str) -> Path:
    """Write the report atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render(result, title=title), encoding="utf-8")
    tmp.replace(path)
    return path
