"""The 150 m grid as a force's area unit (docs/selection.md, Grid cells): `hotspots grid` makes one from a boundary,
and with HOTSPOTS_AREA_UNIT=grid ingest_areas builds it from the landed boundary, so selection, patrol and
compliance run on cells: planted crimes and patrols in known cells give a known answer end to end."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyproj import Transformer
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.validation.crime import POLICE_UK_COLUMNS

FORCE = "gridshire"
CELL = 150.0
X0, Y0, X1, Y1 = 505_050.0, 250_050.0, 505_950.0, 250_650.0  # 6 x 4 cells of 150 m, on the grid's lines
TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def cell(c: int, r: int) -> str:
    return f"G150_{c}_{r}"


def centre(code: str) -> tuple[float, float]:
    _, c, r = code.split("_")
    return int(c) * CELL + CELL / 2, int(r) * CELL + CELL / 2


A, B, C = cell(3368, 1668), cell(3371, 1669), cell(3367, 1670)  # 4, 3 and 1 planted crimes
CRIMES = {A: 4, B: 3, C: 1}


def write_boundary(path: Path) -> Path:
    ring = [[X0, Y0], [X1, Y0], [X1, Y1], [X0, Y1], [X0, Y0]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": FORCE},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    return path


def test_grid_command_makes_the_cells_of_a_boundary(settings, tmp_path):
    boundary = write_boundary(tmp_path / "boundary.geojson")
    out = tmp_path / "grid.geojson"
    result = CliRunner().invoke(app, ["grid", "--boundary", str(boundary), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "24 cells of 150 m (0.54 km2) over boundary.geojson" in result.output
    features = json.loads(out.read_text())["features"]
    codes = {f["properties"]["area_code"] for f in features}
    assert codes == {cell(c, r) for c in range(3367, 3373) for r in range(1667, 1671)}
    first = next(f for f in features if f["properties"]["area_code"] == A)
    assert first["geometry"]["coordinates"][0][0] in ([505200.0, 250200.0], [505350.0, 250200.0])  # exact squares
    # the file loads back as an area set as it is
    from hotspots.sources.areas import load_areas
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        assert load_areas(con, force=FORCE, path=out, settings=settings)["rows_loaded"] == 24
        areas = con.execute("SELECT min(area_m2), max(area_m2) FROM stg_areas WHERE force = ?", [FORCE]).fetchone()
    assert areas == pytest.approx((CELL * CELL, CELL * CELL))
    bad = CliRunner().invoke(app, ["grid", "--boundary", str(boundary), "--out", str(out), "--cell-m", "0"])
    assert bad.exit_code == 2 and "HOTSPOTS_GRID_CELL_M" in bad.output


def _crime_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for code, n in CRIMES.items():
        lon, lat = TO_WGS84.transform(*centre(code))
        for k in range(n):
            crime_id = hashlib.sha256(f"{code}|{k}".encode()).hexdigest()
            rows.append(
                [crime_id, "2024-03", "Gridshire Police", "Gridshire Police", f"{lon:.6f}", f"{lat:.6f}"]
                + ["On or near High Street", "E01000001", "Somewhere 001A", "Violence and sexual offences"]
                + ["Under investigation", ""]
            )
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(POLICE_UK_COLUMNS)
        writer.writerows(rows)


def _ping_file(path: Path) -> None:
    """AVL-1 at A's centre 17:00-17:20 UTC (18:00-18:20 BST, inside the window), AVL-2 at B's 18:00-18:05; each
    leaves for another cell (its departure ping ends the visit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for device, code, start, minutes in (("AVL-1", A, "17:00", 20), ("AVL-2", B, "18:00", 5)):
        t0 = datetime.fromisoformat(f"2024-04-10T{start}:00").replace(tzinfo=timezone.utc)
        x, y = centre(code)
        for k in range(minutes * 3):
            lon, lat = TO_WGS84.transform(x, y)
            rows.append([device, (t0 + timedelta(seconds=20 * k)).strftime("%Y-%m-%dT%H:%M:%SZ"), lon, lat, 3.0])
        lon, lat = TO_WGS84.transform(x + 300, y)  # the departure, 300 m on at 54 km/h
        rows.append([device, (t0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"), lon, lat, 50.0])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["device_id", "timestamp", "lon", "lat", "speed_kmh", "unit_type"])
        writer.writerows([*r[:2], f"{r[2]:.7f}", f"{r[3]:.7f}", r[4], "vehicle"] for r in rows)


@pytest.mark.slow
def test_grid_end_to_end_from_the_landed_boundary(settings, monkeypatch):
    """areas (the grid from the boundary) -> crime -> selection -> pings -> patrol and compliance, on cells."""
    from hotspots.settings import reload_settings
    from hotspots.warehouse import connect

    landing = settings.landing_dir / FORCE
    write_boundary(landing / "areas" / "boundary.geojson")
    _crime_file(landing / "crime" / "2024-03" / f"2024-03-{FORCE}-street.csv")
    _ping_file(landing / "avl" / "2024-04-10" / "pings-17.csv")
    env = {
        "HOTSPOTS_FORCES": FORCE,
        "HOTSPOTS_AREA_UNIT": "grid",
        "HOTSPOTS_HOTSPOT_COUNT": "2",
        "HOTSPOTS_LOOKBACK_MONTHS": "1",
        "HOTSPOTS_MIN_EVENTS": "1",
        "HOTSPOTS_BACKTEST_TRAIN_MONTHS": "none",
        "HOTSPOTS_ALERT_RULES": "under_target",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = reload_settings()
    steps = [
        ["run", "ingest_areas"],
        ["run", "ingest_crime", "--month", "2024-03"],
        ["run", "select_hotspots"],
        ["run", "ingest_avl", "--day", "2024-04-10"],
        ["run", "patrol_compliance", "--dates", "2024-04-10"],
    ]
    for args in steps:
        result = CliRunner().invoke(app, [*args, "--json"])
        assert result.exit_code == 0, (args, result.output[-3000:])

    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        cells = dict(con.execute("SELECT area_code, area_m2 FROM stg_areas WHERE force = ?", [FORCE]).fetchall())
        assert len(cells) == 24 and set(cells.values()) == {CELL * CELL}
        ranked = con.execute(
            "SELECT area_code, events FROM hotspot_ranking WHERE force = ? AND selected ORDER BY rank", [FORCE]
        ).fetchall()
        assert ranked == [(A, 4), (B, 3)]
        patrol = dict(
            con.execute(
                "SELECT area_code, window_minutes FROM daily_patrol WHERE force = ? AND date = DATE '2024-04-10'",
                [FORCE],
            ).fetchall()
        )

        def edge_neighbours(code):  # 75 m from the centre, inside the 100 m buffer; the diagonal ones are 106 m
            c, r = (int(v) for v in code.split("_")[1:])
            return {cell(c - 1, r), cell(c + 1, r), cell(c, r - 1), cell(c, r + 1)}

        expected = {code: 20.0 for code in {A} | edge_neighbours(A)} | {code: 5.0 for code in {B} | edge_neighbours(B)}
        assert patrol == pytest.approx(expected)
        compliance = con.execute(
            "SELECT area_code, delivered_minutes, status FROM daily_compliance WHERE force = ? ORDER BY area_code",
            [FORCE],
        ).fetchall()
        assert compliance == [(A, 20.0, "met"), (B, 5.0, "under")]
        alerts = con.execute("SELECT rule, area_code FROM alerts WHERE force = ?", [FORCE]).fetchall()
        assert alerts == [("under_target", B)]
    finally:
        con.close()
