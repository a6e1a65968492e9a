"""The daily HTML report: right figures on the map, Lorenz curve and 28-day charts; renders in real chromium."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import warehouse_rows as rows
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.report import STATUS_COLOURS, build_report, report_path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
DAY = date(2024, 5, 31)
EXPECTED_STATUS = {"T03": "met", "T07": "under", "T08": "none", "T12": "none", "T16": "under"}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The hand-built warehouse and its snapshot; settings visible to the CLI."""
    from hotspots.warehouse import publish_snapshot

    with pytest.MonkeyPatch.context() as mp:
        settings = rows.isolated_settings(mp, tmp_path_factory.mktemp("report"))
        rows.build_warehouse(settings)
        publish_snapshot(settings)
        yield settings


@pytest.fixture(scope="module")
def report(published) -> Path:
    """The report built by the CLI from the snapshot."""
    result = CliRunner().invoke(app, ["report", "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    path = report_path(published, rows.FORCE, DAY)
    assert result.output.strip() == str(path)
    return path


def hotspot_groups(text: str) -> dict[str, tuple[str, str, str]]:
    """area_code -> (status, fill colour, tooltip) of each hot spot drawn on the map."""
    found = re.findall(
        r'<g class="hotspot" data-area="([^"]+)" data-status="([^"]+)" fill="([^"]+)"><title>(.*?)</title>', text, re.S
    )
    return {code: (status, fill, html.unescape(title)) for code, status, fill, title in found}


def test_map_colours_hot_spots_by_the_days_compliance(report):
    text = report.read_text()
    spots = hotspot_groups(text)
    assert {code: s[0] for code, s in spots.items()} == EXPECTED_STATUS
    assert all(fill == STATUS_COLOURS[status] for status, fill, _ in spots.values())
    # Hot spots span columns 1-3 of the grid; the extent padded by 8% (128 m) reaches into column 4, so its
    # 16 cells are drawn: 5 hot spots and 11 context areas. Column 5 lies outside.
    assert text.count('<path class="area"') == 11
    # Hover text: minutes against target, Koper visits, days since the last patrol.
    t16 = spots["T16"][2]
    assert "under target, 8.0 of 15 min in the patrol window (12.0 min all day)" in t16
    assert "Koper visits: 1" in t16 and "Days since last patrol: 0 (last patrol 2024-05-31)" in t16
    assert "Days since last patrol: 8 (last patrol 2024-05-23)" in spots["T08"][2]


def test_report_is_self_contained(report):
    text = report.read_text()
    assert "<script" not in text and "<link" not in text and "<img" not in text
    assert not re.search(r'(src|href)="(https?:)?//', text), "no resource may come from the network"
    assert all(f'id="{code}"' in text for code in EXPECTED_STATUS), "alerts link to #area_code"


def test_lorenz_curve_and_28_day_charts(report):
    text = report.read_text()
    points = re.search(r'<polyline id="lorenz-curve" points="([^"]+)"', text).group(1).split()
    assert len(points) == 21 and points[0] == "52.0,252.0" and points[-1] == "342.0,12.0"
    # 5 hot spots of 20 areas; their share of harm is the ranking's cumulative share at rank 5.
    share = rows.ranking_rows("sel-1", rows.HOTSPOTS)[4][7]
    assert f"hold\n  {100 * share:.1f}% of the harm" in text
    charts = re.findall(r'<div class="chart" id="chart-([^"]+)">(.*?)</div>', text, re.S)
    assert [code for code, _ in charts] == rows.HOTSPOTS
    for code, body in charts:
        assert body.count("<rect ") == 28, code  # one bar per day, 4 to 31 May
    t08 = dict(charts)["T08"]
    assert "Thu 23 May: 16.0 of 15 min (target met)" in t08 and "Fri 24 May: 0.0 of 15 min (no patrol)" in t08
    assert "320 of 420 target minutes over 28 days (76%)" in t08


def test_day_without_a_hot_spot_list(published):
    from hotspots.warehouse import connect

    con = connect(published.snapshot_path, read_only=True, settings=published)
    try:
        path = build_report(con, force=rows.FORCE, date=date(2024, 3, 15), settings=published)
    finally:
        con.close()
    text = path.read_text()
    assert "No hot-spot list was in force for testforce on 2024-03-15" in text
    assert text.count('<path class="area"') == 20 and not hotspot_groups(text)


@pytest.mark.browser
def test_report_renders_in_chromium(report, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium: run scripts/install-system-deps")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"report-{rows.FORCE}-{DAY}.png"
    screenshot.unlink(missing_ok=True)
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--hide-scrollbars",
        "--window-size=1400,2200",
        f"--screenshot={screenshot}",
        "--dump-dom",
        report.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    dom = done.stdout
    assert 'id="map-svg"' in dom and 'id="lorenz-svg"' in dom and dom.count('class="dose-chart"') == 5
    assert len(hotspot_groups(dom)) == 5
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1400, 2200)
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}

    def drawn(hex_colour: str) -> bool:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return any(abs(r - x) < 24 and abs(g - y) < 24 and abs(b - z) < 24 for x, y, z in colours)

    assert all(drawn(STATUS_COLOURS[s]) for s in ("met", "under", "none")), "the map's status colours are on screen"
    shutil.copy(report, ARTIFACTS / report.name)
