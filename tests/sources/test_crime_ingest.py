"""Every crime source reaches the pipeline through ingest_crime: force records from landing/<force>/records/, the
data.police.uk API for a month no street file landed for, and the publication lag with its catch-up. Truth: crimes
planted in known squares of the 16 test areas (sources_fixtures)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date

import pandas as pd
import pytest
from police_api_server import api_record, police_api_server
from settings_env import settings_of
from sources_fixtures import SIZE, X0, Y0, code, lonlat_in, street_csv, street_row, write_areas
from typer.testing import CliRunner

FORCE = "test"

# Robberies per square of the force's records: the top three are (0,0), (1,1), (2,2).
RECORD_ROBBERIES = {(0, 0): 6, (1, 1): 4, (2, 2): 2, (3, 0): 1, (0, 3): 1}


def records_extract(robberies: dict[tuple[int, int], int], missing_coordinates: int = 1) -> pd.DataFrame:
    """Robberies (Home Office code 34B) at the centre of their squares in March 2024, then rows without coordinates."""
    rows = []
    for (col, row), n in robberies.items():
        for k in range(n):
            rows.append(
                {
                    "crime_reference": f"BD/{col}{row}{k:03d}/24",
                    "occurred_at": f"2024-03-{1 + k:02d}T21:15:00",
                    "offence_code": "34B",
                    "knife_flag": "Y" if k == 0 else "N",
                    "easting": X0 + (col + 0.5) * SIZE,
                    "northing": Y0 + (row + 0.5) * SIZE,
                }
            )
    for k in range(missing_coordinates):
        rows.append(
            {
                "crime_reference": f"BD/NOXY{k}/24",
                "occurred_at": "2024-03-05T10:00:00",
                "offence_code": "34B",
                "knife_flag": "",
                "easting": None,
                "northing": None,
            }
        )
    return pd.DataFrame(rows)


def env_for(tmp_path, **extra) -> dict[str, str]:
    from settings_env import TEST_KEY

    return {
        "HOTSPOTS_DATA_DIR": str(tmp_path / "data"),
        "HOTSPOTS_PSEUDONYM_KEY": TEST_KEY,
        "HOTSPOTS_FORCES": FORCE,
        "HOTSPOTS_HOTSPOT_COUNT": "3",
        "HOTSPOTS_MIN_EVENTS": "1",
        "HOTSPOTS_BACKTEST_TRAIN_MONTHS": "none",
        **extra,
    }


def run(dag_id: str, settings, month: str | None = None):
    from hotspots.runner import When, run_dag

    return run_dag(dag_id, settings=settings, forces=[FORCE], when=When(month=month))


def step(result, task: str):
    return next(s["result"] for s in result.steps if s["task"] == task)


def ranking(settings) -> dict[str, int]:
    from hotspots.warehouse import connect

    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        return dict(
            con.execute(
                "SELECT area_code, events FROM hotspot_ranking WHERE force = ? AND selection_id = "
                "(SELECT max(selection_id) FROM hotspot_ranking WHERE force = ?) AND events > 0",
                [FORCE, FORCE],
            ).fetchall()
        )
    finally:
        con.close()


def query(settings, sql: str, params=None) -> list[tuple]:
    from hotspots.warehouse import connect

    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_force_records_end_to_end(tmp_path, monkeypatch):
    """landing/<force>/records/ -> `hotspots run ingest_crime` (GX, quarantine) -> counted_crimes (records only, the
    street file of the same month not counted) -> selection; a rerun loads nothing; a corrected extract under the
    same name replaces its rows (the earlier copy kept under versions/); `select --records` gives the same list."""
    env = env_for(tmp_path, HOTSPOTS_CRIME_SOURCE="force_records", HOTSPOTS_CRIME_API_URL="")
    settings = settings_of(env)
    landing = settings.force_landing(FORCE)
    write_areas(landing / "areas")
    extract = landing / "records" / "rms_2024-03.csv"
    extract.parent.mkdir(parents=True)
    records_extract(RECORD_ROBBERIES).to_csv(extract, index=False)
    street = [street_row(i, 3, 3, crime_type="Robbery", month="2024-03") for i in range(10)]  # never counted
    (landing / "crime" / "2024-03").mkdir(parents=True)
    (landing / "crime" / "2024-03" / "2024-03-test-street.csv").write_text(street_csv(street))

    run("ingest_areas", settings)
    first = run("ingest_crime", settings)
    loaded = step(first, "load_force_records")
    assert loaded["rows_read"] == 15 and loaded["rows_loaded"] == 14 and loaded["knife_crimes"] == 5
    assert loaded["quarantined_by_reason"] == {"missing_coordinates": 1}
    assert step(first, "announce_new_crime") == {FORCE: {"months": ["2024-03"], "records": ["rms_2024-03.csv"]}}
    assert step(first, "load_crime_months")["missing_months"] == []  # records mode: no street month is awaited
    run("select_hotspots", settings)
    expected = {code(c, r): n for (c, r), n in RECORD_ROBBERIES.items()}
    assert ranking(settings) == expected  # square (3,3)'s ten street-file robberies are not counted
    assert query(settings, "SELECT DISTINCT source FROM counted_crimes") == [("force_records",)]
    selected = query(settings, "SELECT area_code FROM current_hotspots WHERE force = ? ORDER BY rank", [FORCE])
    assert [a for (a,) in selected] == [code(0, 0), code(1, 1), code(2, 2)]
    assert query(settings, "SELECT reason, count(*) FROM quarantine WHERE source = 'force_records' GROUP BY 1") == [
        ("missing_coordinates", 1)
    ]

    again = run("ingest_crime", settings)
    assert step(again, "announce_new_crime") == {}  # nothing new: select_hotspots is not triggered
    assert query(settings, "SELECT count(*) FROM stg_crimes WHERE source = 'force_records'") == [(14,)]

    corrected = dict(RECORD_ROBBERIES) | {(3, 0): 5}  # four robberies added to the extract: a new list
    records_extract(corrected).to_csv(extract, index=False)
    third = run("ingest_crime", settings)
    assert step(third, "announce_new_crime") == {FORCE: {"records": ["rms_2024-03.csv"]}}
    assert step(run("select_hotspots", settings), "rank_and_select")["hotspots"] == [code(0, 0), code(3, 0), code(1, 1)]
    assert ranking(settings) == {code(c, r): n for (c, r), n in corrected.items()}
    assert query(settings, "SELECT count(*) FROM stg_crimes WHERE source = 'force_records'") == [(18,)]
    assert len(list((settings.force_raw(FORCE) / "records" / "versions").glob("rms_2024-03.*.csv"))) == 1

    from hotspots.cli import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from hotspots.settings import reload_settings

    reload_settings()
    out = tmp_path / "ranked.csv"
    args = ["select", "--records", str(extract), "--areas", str(landing / "areas"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--force", FORCE, "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["hotspots"] == [code(0, 0), code(3, 0), code(1, 1)]
    assert summary["rows_loaded"] == 18 and summary["rows_quarantined"] == 1


# The API's months: crimes i of a month in square (i % 4, 0) (January, February, March), all violent.
def month_crimes(month: str, n: int, start: int = 0) -> list[dict]:
    return [
        api_record(start + i, *lonlat_in((start + i) % 4, 0, 0.5, 0.5), "violent-crime", month=month) for i in range(n)
    ]


def airflow_runs(tmp_path, env: dict[str, str], runs: list[tuple[str, dict, str]]) -> None:
    from hotspots.local_airflow import DagRunSpec, run_plan

    plan = [DagRunSpec(dag_id, conf, logical) for dag_id, conf, logical in runs]
    run_plan(plan, tmp_path / "airflow", env)


def asset_events(tmp_path) -> int:
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        return db.execute(
            "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = 'stg_crimes'"
        ).fetchone()[0]


def test_api_path_with_publication_lag_catch_up(tmp_path):
    """Through Airflow (dag.test of the daily ingest_crime): on 2024-06-05 the window is January-March (60 days of
    lag); January has an archive file (the API is not asked for it), February comes from the fake API, March is not
    published yet -> one feed_missing for the data engineers. The API then publishes March and republishes
    February with one more crime: the next day's run loads March and replaces February's rows (not doubled), without
    a manual step; the run after loads nothing and announces nothing."""
    with police_api_server({"2024-01": [], "2024-02": month_crimes("2024-02", 20)}, max_results=8) as api:
        env = env_for(
            tmp_path,
            HOTSPOTS_CRIME_SOURCE="police_uk",
            HOTSPOTS_CRIME_API_URL=api.url,
            HOTSPOTS_LOOKBACK_MONTHS="3",
            HOTSPOTS_CRIME_PUBLICATION_LAG_DAYS="60",
        )
        settings = settings_of(env)
        landing = settings.force_landing(FORCE)
        write_areas(landing / "areas")
        january = [street_row(i, 1, 1, month="2024-01") for i in range(5)]
        (landing / "crime" / "2024-01").mkdir(parents=True)
        (landing / "crime" / "2024-01" / "2024-01-test-street.csv").write_text(street_csv(january))

        airflow_runs(
            tmp_path,
            env,
            [
                ("ingest_areas", {}, "2024-06-05T00:00:00+00:00"),
                ("ingest_crime", {}, "2024-06-05T03:00:00+00:00"),
            ],
        )
        months = dict(
            query(settings, "SELECT strftime(month, '%Y-%m'), count(*) FROM stg_crimes GROUP BY 1 ORDER BY 1")
        )
        assert months == {"2024-01": 5, "2024-02": 20}
        assert api.crime_calls("2024-01") == 0 and api.crime_calls("2024-02") > 1  # split on 503
        alerts = query(settings, "SELECT rule, area_code, date, team FROM alerts")
        assert alerts == [("feed_missing", "feed:crime", date(2024, 3, 1), "data_engineers")]
        assert asset_events(tmp_path) == 1

        api.publish("2024-03", month_crimes("2024-03", 7))
        api.publish("2024-02", month_crimes("2024-02", 21))  # republished: one crime more
        airflow_runs(
            tmp_path,
            env,
            [("ingest_crime", {}, "2024-06-06T03:00:00+00:00"), ("ingest_crime", {}, "2024-06-07T03:00:00+00:00")],
        )
        months = dict(
            query(settings, "SELECT strftime(month, '%Y-%m'), count(*) FROM stg_crimes GROUP BY 1 ORDER BY 1")
        )
        assert months == {"2024-01": 5, "2024-02": 21, "2024-03": 7}
        assert len(query(settings, "SELECT * FROM alerts")) == 1  # March's alert was not raised again
        assert asset_events(tmp_path) == 2  # the 06-06 run announced new crime, the 06-07 run nothing
        versions = settings.force_raw(FORCE) / "crime" / "month=2024-02" / "api" / "versions"
        assert len(list(versions.glob("2024-02-test-street.*.csv"))) == 1
        feb = dict(query(settings, "SELECT area_code, count(*) FROM stg_crimes WHERE month = '2024-02-01' GROUP BY 1"))
        assert feb == {code(c, 0): n for c, n in enumerate([6, 5, 5, 5])}  # crime i in square (i % 4, 0)


def test_an_archive_file_replaces_the_month_the_api_gave(tmp_path):
    """A month fetched from the API, then landed as an archive file under another name: the archive file's crimes
    are counted and the API's are removed (never both); a rerun changes nothing."""
    from hotspots.pipeline import catch_up_crime, ingest_areas

    with police_api_server({"2024-03": month_crimes("2024-03", 6)}) as api:
        env = env_for(tmp_path, HOTSPOTS_CRIME_API_URL=api.url, HOTSPOTS_LOOKBACK_MONTHS="1")
        settings = settings_of(env)
        write_areas(settings.force_landing(FORCE) / "areas")
        ingest_areas(FORCE, settings)
        today = date(2024, 6, 1)
        first = catch_up_crime(FORCE, today, settings)
        assert first["loaded_months"] == ["2024-03"] and first["missing_months"] == []
        folder = settings.force_landing(FORCE) / "crime" / "2024-03"
        rows = [street_row(i, 2, 2, month="2024-03") for i in range(4)]
        (folder / "2024-03-test-police-street.csv").write_text(street_csv(rows))
        second = catch_up_crime(FORCE, today, settings)
        assert second["loaded_months"] == ["2024-03"]
        assert query(settings, "SELECT area_code, count(*) FROM stg_crimes GROUP BY 1") == [(code(2, 2), 4)]
        assert query(settings, "SELECT source, name FROM crime_drops") == [
            ("street_file", "2024-03-test-police-street.csv")
        ]
        calls = api.crime_calls()
        assert catch_up_crime(FORCE, today, settings)["loaded_months"] == [] and api.crime_calls() == calls
        archive = folder / "2024-03-test-police-street.csv"
        os.utime(archive, ns=(archive.stat().st_atime_ns, archive.stat().st_mtime_ns + 10**9))  # touched only
        assert catch_up_crime(FORCE, today, settings)["loaded_months"] == []


def test_a_rejected_extract_fails_the_step_naming_it_after_the_others_loaded(tmp_path):
    """An extract beyond a tolerance (a third of its rows without coordinates) fails load_force_records with the
    file's name; the good extract beside it is loaded, and is not loaded again by the retry."""
    from hotspots.pipeline import ingest_areas, ingest_force_records
    from hotspots.validation.core import InputFileError

    settings = settings_of(env_for(tmp_path, HOTSPOTS_CRIME_SOURCE="force_records"))
    write_areas(settings.force_landing(FORCE) / "areas")
    ingest_areas(FORCE, settings)
    folder = settings.force_landing(FORCE) / "records"
    folder.mkdir(parents=True)
    records_extract({(0, 0): 4}, missing_coordinates=2).to_csv(folder / "rms_bad.csv", index=False)
    records_extract(RECORD_ROBBERIES).to_parquet(folder / "rms_good.parquet")
    for _ in range(2):
        with pytest.raises(InputFileError, match="rms_bad.csv"):
            ingest_force_records(FORCE, settings)
        assert query(settings, "SELECT source_file, count(*) FROM stg_crimes GROUP BY 1") == [("rms_good.parquet", 14)]
    assert query(settings, "SELECT name FROM crime_drops") == [("rms_good.parquet",)]


def test_expected_months_follow_the_lag():
    from hotspots.settings import Settings
    from hotspots.sources.crime_feed import expected_months, latest_expected_month

    settings = Settings(crime_publication_lag_days=60, lookback_months=3)
    assert latest_expected_month(date(2024, 5, 30), settings) == "2024-03"  # March ended 60 days before
    assert latest_expected_month(date(2024, 5, 29), settings) == "2024-02"
    assert expected_months(date(2024, 6, 5), settings) == ["2024-01", "2024-02", "2024-03"]
    assert latest_expected_month(date(2024, 5, 29), Settings(crime_publication_lag_days=0)) == "2024-04"


@pytest.mark.parametrize("source", ["force_records", "police_uk"])
def test_missing_street_months_are_awaited_only_when_police_uk_counts(tmp_path, source):
    """No street file, no API: a police_uk force gets feed_missing for each window month, a records force none."""
    from hotspots.pipeline import catch_up_crime, ingest_areas

    env = env_for(tmp_path, HOTSPOTS_CRIME_SOURCE=source, HOTSPOTS_CRIME_API_URL="", HOTSPOTS_LOOKBACK_MONTHS="2")
    settings = settings_of(env)
    write_areas(settings.force_landing(FORCE) / "areas")
    ingest_areas(FORCE, settings)
    result = catch_up_crime(FORCE, date(2024, 6, 5), settings)
    expected = ["2024-02", "2024-03"] if source == "police_uk" else []
    assert result["missing_months"] == expected and len(result["alerts_raised"]) == len(expected)
    assert catch_up_crime(FORCE, date(2024, 6, 6), settings)["alerts_raised"] == []  # once per month
