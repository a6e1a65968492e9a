"""`hotspots export hotspots`: the current hot spots from the snapshot with geometry in EPSG:4326 (x = longitude)."""

from __future__ import annotations

import csv
import json

import pytest
import warehouse_rows as rows
from pyproj import Transformer
from typer.testing import CliRunner

from hotspots.cli import app

TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
# T03 is the 3rd cell of the bottom row: its south-west corner in British National Grid.
T03_SW = (rows.ORIGIN[0] + 2 * rows.CELL_M, rows.ORIGIN[1])


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from hotspots.warehouse import publish_snapshot

    with pytest.MonkeyPatch.context() as mp:
        settings = rows.isolated_settings(mp, tmp_path_factory.mktemp("export"))
        rows.build_warehouse(settings)
        publish_snapshot(settings)
        yield settings


def export(fmt: str, out) -> None:
    result = CliRunner().invoke(app, ["export", "hotspots", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)


def test_geojson(published, tmp_path):
    out = tmp_path / "hotspots.geojson"
    export("geojson", out)
    features = json.loads(out.read_text())["features"]
    assert [f["properties"]["area_code"] for f in features] == rows.HOTSPOTS
    t03 = features[0]
    assert t03["properties"]["rank"] == 1 and t03["properties"]["effective_from"] == "2024-05-01"
    ring = t03["geometry"]["coordinates"][0]
    lon, lat = TO_WGS84.transform(*T03_SW)
    assert ring[0] == pytest.approx([lon, lat], abs=1e-6)
    assert -0.5 < ring[0][0] < -0.4 and 51.8 < ring[0][1] < 51.9  # Luton: longitude first


def test_geoparquet(published, tmp_path):
    import geopandas as gpd
    import pyarrow.parquet as pq

    out = tmp_path / "hotspots.parquet"
    export("geoparquet", out)
    geo = json.loads(pq.read_metadata(out).metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
    frame = gpd.read_parquet(out)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["area_code"]) == rows.HOTSPOTS
    back = frame.to_crs(27700)
    assert back.area.tolist() == pytest.approx([rows.CELL_M**2] * 5, rel=1e-4)
    assert back.geometry.iloc[0].bounds[:2] == pytest.approx(T03_SW, abs=0.01)


def test_csv(published, tmp_path):
    from shapely import wkt

    out = tmp_path / "hotspots.csv"
    export("csv", out)
    with out.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["area_code"] for r in table] == rows.HOTSPOTS
    assert float(table[1]["harm"]) == rows.harm_of("T07")
    polygon = wkt.loads(table[0]["wkt"])
    lon, lat = TO_WGS84.transform(*T03_SW)
    assert polygon.exterior.coords[0] == pytest.approx((lon, lat), abs=1e-5)


@pytest.mark.duckdb_file
def test_export_without_snapshot_says_what_to_do(published, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTSPOTS_SNAPSHOT_PATH", str(tmp_path / "missing.duckdb"))
    from hotspots.settings import reload_settings

    reload_settings()
    try:
        result = CliRunner().invoke(app, ["export", "hotspots", "--out", str(tmp_path / "x.geojson")])
    finally:
        monkeypatch.undo()
        reload_settings()
    assert result.exit_code == 1
    assert "No analyst snapshot" in result.output and "hotspots snapshot" in result.output
