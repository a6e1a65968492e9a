"""`hotspots backtest` end to end on the real Bedfordshire samples (train on two months, test on the third),
checked against an independent pandas + geopandas computation of harm per LSOA and month."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.harm import CATEGORY_FILE

runner = CliRunner()
TYPES = ["Violence and sexual offences", "Robbery", "Possession of weapons"]


def invoke(args, tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTSPOTS_DATA_DIR", str(tmp_path / "data"))
        from hotspots.settings import reload_settings

        reload_settings()
        try:
            return runner.invoke(app, args)
        finally:
            reload_settings()


@pytest.fixture(scope="module")
def per_area_month(shared_data):
    """Events and CCHI harm per 2011 LSOA and month, without DuckDB."""
    import geopandas as gpd

    crimes = pd.concat([pd.read_csv(p) for p in sorted((shared_data / "police-uk").glob("*.csv"))], ignore_index=True)
    # A Crime ID repeated in a month is one crime (DOMAIN.md quirks); anti-social behaviour has no id.
    crimes = crimes[crimes["Crime ID"].isna() | ~crimes.duplicated(["Month", "Crime ID"])]
    lsoas = pd.concat([gpd.read_file(p) for p in sorted((shared_data / "lsoa-2011").glob("*.json"))], ignore_index=True)
    lsoas = gpd.GeoDataFrame(lsoas, geometry="geometry", crs=lsoas.crs).to_crs(27700)
    located = crimes.dropna(subset=["Longitude", "Latitude"])
    located = located[located["Crime type"].isin(TYPES)]
    points = gpd.GeoDataFrame(
        located, geometry=gpd.points_from_xy(located["Longitude"], located["Latitude"]), crs=4326
    ).to_crs(27700)
    joined = gpd.sjoin(points, lsoas[["LSOA11CD", "geometry"]], predicate="within", how="inner")
    joined["harm"] = joined["Crime type"].map(pd.read_csv(CATEGORY_FILE).set_index("crime_type")["weight"])
    table = joined.groupby(["LSOA11CD", "Month"]).agg(events=("harm", "size"), harm=("harm", "sum")).reset_index()
    return table, sorted(lsoas["LSOA11CD"])


@pytest.fixture(scope="module")
def backtest_json(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backtest")
    args = ["backtest", "--crime", str(shared_data / "police-uk"), "--areas", str(shared_data / "lsoa-2011")]
    store = ["--warehouse", str(tmp / "wh.duckdb"), "--store"]
    result = invoke(args + ["--train-months", "2", "--test-months", "1", "--top", "28", "--json"] + store, tmp)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    import duckdb

    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    try:
        stored = con.execute("SELECT harm_share, selected, test_first FROM backtest_scores").fetchall()
    finally:
        con.close()
    assert summary["stored"] == 1 and len(stored) == 1
    assert stored[0][0] == pytest.approx(summary["windows"][0]["harm_share"]) and stored[0][1] == 28
    return summary


def test_backtest_real_samples_match_independent_computation(backtest_json, per_area_month):
    table, codes = per_area_month
    (w,) = backtest_json["windows"]
    assert backtest_json["data_months"] == ["2024-02", "2024-04"]
    assert w["train"] == ["2024-02", "2024-03"] and w["test"] == ["2024-04", "2024-04"]
    assert w["areas"] == len(codes) == 381
    train = table[table["Month"].isin(["2024-02", "2024-03"])].groupby("LSOA11CD")[["events", "harm"]].sum()
    test = table[table["Month"] == "2024-04"].set_index("LSOA11CD")[["events", "harm"]]
    expected = (
        train[train["events"] >= 2]
        .reset_index()
        .sort_values(["harm", "events", "LSOA11CD"], ascending=[False, False, True])["LSOA11CD"]
        .head(28)
        .tolist()
    )
    assert w["hotspots"] == expected
    assert w["test_harm"] == pytest.approx(test["harm"].sum())
    captured = test.reindex(w["hotspots"]).fillna(0)
    assert w["harm_share"] == pytest.approx(captured["harm"].sum() / test["harm"].sum(), rel=1e-9)
    assert w["events_share"] == pytest.approx(captured["events"].sum() / test["events"].sum(), rel=1e-9)
    assert w["pai"] == pytest.approx(w["harm_share"] / (28 / 381))
    from scipy.stats import spearmanr

    both = pd.DataFrame(index=codes).join(train["harm"].rename("a")).join(test["harm"].rename("b")).fillna(0)
    assert w["spearman"] == pytest.approx(spearmanr(both["a"], both["b"]).statistic, abs=1e-9)
    assert w["baselines"]["random"]["harm_share"] == pytest.approx(28 / 381)


def test_backtest_text_and_user_error(shared_data, tmp_path):
    args = ["backtest", "--crime", str(shared_data / "police-uk"), "--areas", str(shared_data / "lsoa-2011")]
    text = invoke(args + ["--train-months", "2", "--test-months", "1", "--area-share", "0.08"], tmp_path)
    assert text.exit_code == 0, text.output
    assert "Train 2024-02..2024-03 -> test 2024-04..2024-04: 30 areas (7.9%)" in text.output
    too_long = invoke(args + ["--train-months", "24", "--test-months", "12"], tmp_path)
    assert too_long.exit_code == 2
    errors = [line for line in too_long.output.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: the crime data cover 2024-02..2024-04 (3 months); a back-test of 24 training and 12 test months "
        "needs 36. Load more months or shorten --train-months / --test-months."
    ]
    assert "BacktestError" not in too_long.output and isinstance(too_long.exception, SystemExit)


def test_select_compare_weights_on_real_month(shared_data, tmp_path):
    month = shared_data / "police-uk" / "2024-04-bedfordshire-street.csv"
    args = [
        "select",
        "--crime",
        str(month),
        "--areas",
        str(shared_data / "lsoa-2011"),
        "--out",
        str(tmp_path / "r.csv"),
    ]
    result = invoke(args + ["--top", "28", "--compare-weights", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    compared = summary["compare_weights"]
    assert compared["lists"]["cchi"] == summary["hotspots"]
    forecast = summary["forecast"]
    assert forecast["harm_share"] == pytest.approx(summary["selected_harm_share"])
    assert forecast["prevented_share"] == pytest.approx(summary["selected_harm_share"] * 0.44)
    low, high = forecast["prevented_interval"]
    assert low <= forecast["prevented_share"] <= high
    assert set(compared["lists"]) == {"cchi", "css", "sqrt", "count"}
    for pair in compared["pairs"]:
        a, b = set(compared["lists"][pair["a"]]), set(compared["lists"][pair["b"]])
        assert pair["in_both"] == len(a & b) and pair["jaccard"] == pytest.approx(len(a & b) / len(a | b))
    css = invoke(args + ["--top", "28", "--weights", "css", "--json"], tmp_path)
    assert json.loads(css.stdout[css.stdout.index("{") :])["hotspots"] == compared["lists"]["css"]


def test_persistence_command_on_real_samples(shared_data, tmp_path):
    args = ["persistence", "--crime", str(shared_data / "police-uk"), "--areas", str(shared_data / "lsoa-2011")]
    result = invoke(args + ["--years", "1", "--out", str(tmp_path / "p.csv"), "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    classes = json.loads(result.stdout[result.stdout.index("{") :])
    # One year: the top 10% of the 381 LSOAs by harm (38) are hot in the only year, hence persistent.
    assert classes["counts"] == {"persistent": 38, "emerging": 0, "intermittent": 0, "none": 343}
    assert classes["months_with_data"] == 3
    assert len(pd.read_csv(tmp_path / "p.csv")) == 381
    text = invoke(args, tmp_path)
    assert text.exit_code == 0 and "Note: only 3 of the 36 months have crime data" in text.output
