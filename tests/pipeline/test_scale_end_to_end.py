"""The pipeline's own steps (hotspots.pipeline, no Airflow) on a sample whose files are longer than one DuckDB row
group (``generate_sample(scale=10)``: more than 122,880 rows in every crime file and in every hourly ping file of
the day), checked against the generator's truth as tests/pipeline/test_end_to_end.py checks the small one.

The background volume never changes the truth (see hotspots.generate), so rows shuffled between row groups show
up as pings quarantined for impossible jumps, minutes moved, or the wrong crimes quarantined.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from settings_env import settings_of
from warehouse_query import rows_of

from hotspots.demo import avl_folder_days
from hotspots.generate import generate_sample
from hotspots.pipeline import compliance_and_alerts, ingest_areas, ingest_avl, ingest_crime, select_hotspots

pytestmark = pytest.mark.slow

SCALE = 10
ROW_GROUP = 122_880
AVL_DAYS = 1


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """The scaled sample and the settings to run the pipeline on it."""
    sample = generate_sample(tmp_path_factory.mktemp("scale") / "data", seed=7, scale=SCALE, avl_days=AVL_DAYS)
    return sample, settings_of(sample.settings_env)


@pytest.fixture(scope="module")
def crime_steps(scaled):
    """ingest_areas, ingest_crime per month and select_hotspots, as the DAGs run them."""
    sample, settings = scaled
    force = sample.force
    results = {"areas": ingest_areas(force, settings)}
    results["crime"] = [ingest_crime(force, month, settings) for month in sample.crime_months]
    results["selection"] = select_hotspots(force, settings)
    return sample, settings, results


@pytest.fixture(scope="module")
def avl_steps(crime_steps):
    """ingest_avl per UTC day folder, then compliance_and_alerts for the sample's local days."""
    sample, settings, results = crime_steps
    days = avl_folder_days(sample.landing_dir, sample.force)
    results["avl"] = [ingest_avl(sample.force, day, settings) for day in days]
    results["compliance"] = compliance_and_alerts(sample.force, sample.avl_dates, settings)
    return sample, settings, results


def test_files_are_longer_than_a_row_group(scaled):
    sample, _ = scaled
    crime = sample.manifest["crime"]["files"]
    assert len(crime) == len(sample.crime_months) and min(f["rows"] for f in crime.values()) > ROW_GROUP
    big = [name for name, f in sample.manifest["avl"]["files"].items() if f["rows"] > ROW_GROUP]
    assert len(big) >= 24 * AVL_DAYS


def test_crime_rows_load_and_exactly_the_dirty_rows_are_quarantined(crime_steps):
    sample, settings, results = crime_steps
    files = sample.manifest["crime"]["files"]
    assert sum(r["rows_read"] for r in results["crime"]) == sample.manifest["crime"]["rows"]
    assert sum(r["rows_loaded"] for r in results["crime"]) == sum(f["placed_rows"] for f in files.values())
    expected = set()
    for month in sample.crime_months:
        path = sample.landing_dir / sample.force / "crime" / month / f"{month}-{sample.force}-street.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        row = pd.Series(range(1, len(frame) + 1))
        expected |= {(path.name, int(r), "missing_coordinates") for r in row[frame["Longitude"].eq("")]}
        outside = frame["LSOA code"].str.startswith("E0199")  # the generator's points 5-20 km from the county
        expected |= {(path.name, int(r), "outside_force_area") for r in row[outside]}
    got = rows_of(settings, "SELECT source_file, source_row, reason FROM quarantine WHERE source = 'police_uk'")
    assert {(f.rsplit("/", 1)[-1], int(r), reason) for f, r, reason in got} == expected


def test_selection_and_ranking_equal_ground_truth(crime_steps):
    sample, settings, results = crime_steps
    truth = sample.truth("hotspots").sort_values("rank")["area_code"].tolist()
    assert results["selection"]["hotspots"] == truth
    chosen = [r[0] for r in rows_of(settings, "SELECT area_code FROM current_hotspots ORDER BY rank")]
    assert chosen == truth
    ranking = rows_of(
        settings,
        "SELECT area_code, events, harm FROM hotspot_ranking WHERE selection_id = ?",
        [results["selection"]["selection_id"]],
    )
    per_area = sample.manifest["selection"]["per_area"]
    assert {a: e for a, e, _ in ranking} == {a: v["events"] for a, v in per_area.items()}
    assert {a: h for a, _, h in ranking} == pytest.approx({a: v["harm"] for a, v in per_area.items()})


def test_pings_load_and_exactly_the_dirty_rows_are_quarantined(avl_steps):
    sample, settings, results = avl_steps
    avl = sample.manifest["avl"]
    assert sum(r["rows_read"] for r in results["avl"]) == avl["rows"]
    reasons = dict(rows_of(settings, "SELECT reason, count(*) FROM quarantine WHERE source = 'avl' GROUP BY reason"))
    expected = {"duplicate_ping": avl["duplicates"]}
    for item in avl["invalid"]:
        expected[item["reason"]] = expected.get(item["reason"], 0) + 1
    assert reasons == expected
    located = rows_of(
        settings, "SELECT source_file, source_row FROM quarantine WHERE source = 'avl' AND reason <> 'duplicate_ping'"
    )
    assert {(f.rsplit("/", 1)[-1], r) for f, r in located} == {
        (item["file"].rsplit("/", 1)[-1], item["row"]) for item in avl["invalid"]
    }


def test_patrol_minutes_match_ground_truth(avl_steps):
    sample, settings, _ = avl_steps
    truth = sample.truth("patrol")
    rows = rows_of(
        settings,
        "SELECT area_code, date, patrol_minutes, officer_minutes, visits, koper_visits, devices, "
        "window_minutes FROM daily_patrol",
    )
    got = {(a, d.isoformat()): (p, o, v, k, n, w) for a, d, p, o, v, k, n, w in rows}
    assert set(got) == {(r.area_code, str(r.date)) for r in truth.itertuples()}
    for r in truth.itertuples():
        p, o, v, k, n, w = got[(r.area_code, str(r.date))]
        assert abs(p - r.patrol_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date, p, r.patrol_minutes)
        assert abs(o - r.officer_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date, o, r.officer_minutes)
        assert abs(w - r.window_minutes) <= r.tolerance_minutes + 1e-9, (r.area_code, r.date, w, r.window_minutes)
        assert (v, k, n) == (r.visits, r.koper_visits, r.devices), (r.area_code, r.date)


def test_compliance_and_alerts_match_ground_truth(avl_steps):
    sample, settings, results = avl_steps
    truth = sample.truth("compliance")
    rows = rows_of(
        settings,
        "SELECT area_code, date, delivered_minutes, patrol_minutes, status, days_without_patrol FROM daily_compliance",
    )
    got = {(a, d.isoformat()): (w, p, s, n) for a, d, w, p, s, n in rows}
    assert set(got) == {(r.area_code, r.date) for r in truth.itertuples()}
    patrol = sample.truth("patrol").set_index(["area_code", "date"])["tolerance_minutes"]
    for r in truth.itertuples():
        w, p, status, streak = got[(r.area_code, r.date)]
        tolerance = patrol.get((r.area_code, r.date), 0.0)
        assert abs(w - r.delivered_minutes) <= tolerance + 1e-9 and abs(p - r.patrol_minutes) <= tolerance + 1e-9
        assert (status, streak) == (r.status, r.days_without_patrol), (r.area_code, r.date)
    expected = {(r.rule, r.area_code, str(r.date)) for r in sample.truth("alerts").itertuples()}
    alerts = {(rule, a, d.isoformat()) for rule, a, d in rows_of(settings, "SELECT rule, area_code, date FROM alerts")}
    assert alerts == expected
    assert len(results["compliance"]["alerts_raised"]) == len(expected)
    assert json.loads((sample.truth_dir / "manifest.json").read_text())["params"]["scale"] == SCALE
