"""`hotspots select` and `hotspots weights` through typer's CliRunner, on the real Bedfordshire samples."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.harm import CATEGORY_FILE

runner = CliRunner()
DEFAULT_TYPES = ["Violence and sexual offences", "Robbery", "Possession of weapons"]


def test_weights_prints_category_table(settings):
    result = runner.invoke(app, ["weights"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.output.splitlines()))
    expected = pd.read_csv(CATEGORY_FILE)
    assert [r["crime_type"] for r in rows] == list(expected["crime_type"])
    assert {r["crime_type"]: float(r["weight"]) for r in rows}["Robbery"] == 365
    assert {r["crime_type"]: r["proactive"] for r in rows}["Drugs"] == "true"


def test_weights_modes_and_offence_codes(settings):
    counted = runner.invoke(app, ["weights", "--weights", "count"])
    assert {float(r["weight"]) for r in csv.DictReader(counted.output.splitlines())} == {1.0}
    codes = runner.invoke(app, ["weights", "--offence-codes"])
    from hotspots.harm import OFFENCE_CODE_FILE

    if not OFFENCE_CODE_FILE.exists():
        assert codes.exit_code != 0 and "offence_codes.csv" in codes.output
        return
    assert codes.exit_code == 0, codes.output
    rows = list(csv.DictReader(codes.output.splitlines()))
    expected = pd.read_csv(OFFENCE_CODE_FILE, dtype={"offence_code": str})
    assert len(rows) == len(expected) and rows[0]["offence_code"] == expected["offence_code"][0]
    bad = runner.invoke(app, ["weights", "--weights", "ons"])
    assert bad.exit_code != 0 and "cchi, count, sqrt or css" in bad.output


@pytest.fixture(scope="module")
def bedfordshire(shared_data, tmp_path_factory):
    """One `hotspots select --json` run over the three real months and the 381 LSOAs."""
    out_dir = tmp_path_factory.mktemp("select_cli")
    args = [
        "select",
        "--crime",
        str(shared_data / "police-uk"),
        "--areas",
        str(shared_data / "lsoa-2011"),
        "--out",
        str(out_dir / "ranked.csv"),
        "--plot",
        str(out_dir / "curve.png"),
        "--warehouse",
        str(out_dir / "wh.duckdb"),
        "--json",
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTSPOTS_DATA_DIR", str(out_dir / "data"))
        from hotspots.settings import reload_settings

        reload_settings()
        result = runner.invoke(app, args)
        reload_settings()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    ranked = pd.read_csv(out_dir / "ranked.csv", dtype={"area_code": str})
    return summary, ranked, out_dir


@pytest.fixture(scope="module")
def independent(shared_data):
    """Events and CCHI harm per LSOA computed with pandas + geopandas (not DuckDB) from the same files."""
    import geopandas as gpd

    crimes = pd.concat([pd.read_csv(p) for p in sorted((shared_data / "police-uk").glob("*.csv"))], ignore_index=True)
    lsoas = pd.concat([gpd.read_file(p) for p in sorted((shared_data / "lsoa-2011").glob("*.json"))], ignore_index=True)
    lsoas = gpd.GeoDataFrame(lsoas, geometry="geometry", crs=lsoas.crs).to_crs(27700)
    located = crimes.dropna(subset=["Longitude", "Latitude"])
    points = gpd.GeoDataFrame(
        located, geometry=gpd.points_from_xy(located["Longitude"], located["Latitude"]), crs=4326
    ).to_crs(27700)
    joined = gpd.sjoin(points, lsoas[["LSOA11CD", "geometry"]], predicate="within", how="inner")
    weights = pd.read_csv(CATEGORY_FILE).set_index("crime_type")["weight"]
    counted = joined[joined["Crime type"].isin(DEFAULT_TYPES)]
    per_area = counted.groupby("LSOA11CD").agg(events=("Crime type", "size"))
    per_area["harm"] = counted["Crime type"].map(weights).groupby(counted["LSOA11CD"]).sum()
    return {"crimes": crimes, "lsoas": lsoas, "per_area": per_area, "placed_any": len(joined)}


def test_select_counts_on_real_bedfordshire(bedfordshire, independent):
    summary, ranked, out_dir = bedfordshire
    crimes = independent["crimes"]
    assert summary["force"] == "bedfordshire"
    assert summary["areas"] == len(independent["lsoas"]) == 381
    assert summary["rows_read"] == len(crimes) == summary["rows_loaded"] + summary["rows_quarantined"]
    assert 14_000 < summary["rows_read"] < 16_000
    no_coordinates = int(crimes[["Longitude", "Latitude"]].isna().any(axis=1).sum())
    assert summary["quarantined_by_reason"]["missing_coordinates"] == no_coordinates
    # Most loaded crimes are placed in an LSOA; the few outside are near the county edge.
    assert summary["events_placed"] + summary["events_outside"] == summary["rows_loaded"]
    assert summary["events_placed"] > 0.98 * summary["rows_loaded"]
    assert summary["events_placed"] == independent["placed_any"]
    assert (out_dir / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_select_ranking_matches_independent_computation(bedfordshire, independent):
    summary, ranked, _ = bedfordshire
    per_area = independent["per_area"]
    assert len(ranked) == 381 and list(ranked["rank"]) == list(range(1, 382))
    assert ranked["events"].sum() == per_area["events"].sum() == summary["events_counted"]
    table = ranked.set_index("area_code")
    both = per_area.join(table[["events", "harm"]], rsuffix="_cli", how="outer").fillna(0)
    assert (both["events"] == both["events_cli"]).all()
    assert both["harm"].to_numpy() == pytest.approx(both["harm_cli"].to_numpy())
    # Top 21 by harm desc, events desc, code asc among areas with >= 2 events.
    expected = (
        per_area[per_area["events"] >= 2]
        .reset_index()
        .sort_values(["harm", "events", "LSOA11CD"], ascending=[False, False, True])["LSOA11CD"]
        .head(21)
        .tolist()
    )
    assert summary["hotspots"] == expected == ranked.loc[ranked["selected"], "area_code"].tolist()
    assert summary["selected_harm_share"] == pytest.approx(
        per_area.loc[expected, "harm"].sum() / per_area["harm"].sum()
    )
    harm = ranked["harm"].to_numpy()
    gini = abs(harm[:, None] - harm[None, :]).sum() / (2 * len(harm) ** 2 * harm.mean())
    assert summary["gini"] == pytest.approx(gini)


def test_select_text_summary_and_budget_options(shared_data, settings, tmp_path):
    month = shared_data / "police-uk" / "2024-04-bedfordshire-street.csv"
    out = tmp_path / "ranked.csv"
    result = runner.invoke(
        app,
        [
            "select",
            "--crime",
            str(month),
            "--areas",
            str(shared_data / "lsoa-2011"),
            "--out",
            str(out),
            "--harm-share",
            "0.2",
            "--weights",
            "sqrt",
            "--types",
            "Robbery,Violence and sexual offences",
            "--months",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Rows read 5343" in result.output
    ranked = pd.read_csv(out)
    selected = ranked[ranked["selected"]]
    # harm_share: the fewest areas reaching 20% of harm (all selected areas here have >= 2 events).
    assert selected["harm_share"].sum() >= 0.2 > selected["harm_share"].sum() - selected["harm_share"].iloc[-1]
    assert f"Selected {len(selected)} hot spots" in result.output
    both = runner.invoke(
        app,
        [
            "select",
            "--crime",
            str(month),
            "--areas",
            str(shared_data / "lsoa-2011"),
            "--out",
            str(out),
            "--top",
            "3",
            "--area-share",
            "0.1",
        ],
    )
    assert both.exit_code != 0 and "one budget" in both.output


def test_select_counts_equal_the_ingest_crime_step(shared_data, settings, tmp_path, monkeypatch):
    """The same real month through `select --json` and through the DAG's ingest_areas + ingest_crime steps."""
    import shutil

    from hotspots import pipeline
    from hotspots.settings import reload_settings

    month = shared_data / "police-uk" / "2024-02-bedfordshire-street.csv"
    result = runner.invoke(
        app,
        [
            "select",
            "--crime",
            str(month),
            "--areas",
            str(shared_data / "lsoa-2011"),
            "--out",
            str(tmp_path / "ranked.csv"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    landing = tmp_path / "dag" / "landing" / "bedfordshire"
    shutil.copytree(shared_data / "lsoa-2011", landing / "areas")
    (landing / "crime" / "2024-02").mkdir(parents=True)
    shutil.copy(month, landing / "crime" / "2024-02" / month.name)
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path / "dag"))
    monkeypatch.setenv("HOTSPOTS_FORCES", "bedfordshire")
    dag_settings = reload_settings()
    areas = pipeline.ingest_areas("bedfordshire", dag_settings)
    step = pipeline.ingest_crime("bedfordshire", "2024-02", dag_settings)
    keys = ("rows_read", "rows_loaded", "rows_quarantined", "quarantined_by_reason")
    assert {k: summary[k] for k in keys} == {k: step[k] for k in keys}
    assert {k: summary["areas_counts"][k] for k in keys} == {k: areas[k] for k in keys}
