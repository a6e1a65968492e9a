"""Path options of the file-reading commands: a file, a folder, repeated flags, several paths after one flag (what
a shell glob expands to) and a mix all read the same files; and `patrol-minutes` gives the DAG's own minutes."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.commands.inputs import spread_path_values

runner = CliRunner()
PATHS = {"--crime", "--areas"}


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--crime", "a", "b", "--out", "o"], ["--crime", "a", "--crime", "b", "--out", "o"]),
        (["--crime=a", "b", "--json"], ["--crime=a", "--crime", "b", "--json"]),
        (
            ["--crime", "a", "--areas", "x", "y", "--crime", "c"],
            ["--crime", "a", "--areas", "x", "--areas", "y", "--crime", "c"],
        ),
        (["--out", "o", "b"], ["--out", "o", "b"]),  # a bare word after another option stays an (unexpected) argument
        (["--crime", "a", "--", "b"], ["--crime", "a", "--", "b"]),
    ],
)
def test_spread_path_values(args, expected):
    assert spread_path_values(args, PATHS) == expected


def _select(args: list[str], tmp: Path) -> dict:
    result = runner.invoke(app, ["select", *args, "--out", str(tmp / "ranked.csv"), "--json"])
    assert result.exit_code == 0, result.output[-3000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_select_path_forms_read_the_same_files(shared_data, settings, tmp_path):
    crime = sorted((shared_data / "police-uk").glob("*.csv"))
    lsoas = sorted((shared_data / "lsoa-2011").glob("*.json"))
    rows = sum(len(pd.read_csv(p)) for p in crime)
    forms = {
        "folders": ["--crime", str(crime[0].parent), "--areas", str(lsoas[0].parent)],
        "glob": ["--crime", *map(str, crime), "--areas", *map(str, lsoas)],
        "repeated": [a for p in crime for a in ("--crime", str(p))] + [a for p in lsoas for a in ("--areas", str(p))],
        "mixed": ["--crime", str(crime[0]), "--crime", *map(str, crime[1:]), "--areas", str(lsoas[0].parent)],
    }
    summaries = {name: _select(args, tmp_path) for name, args in forms.items()}
    for name, summary in summaries.items():
        assert (summary["rows_read"], summary["areas"]) == (rows, 381), name
        assert summary["rows_read"] == summary["rows_loaded"] + summary["rows_quarantined"], name
        assert summary["quarantined_by_reason"] == summaries["folders"]["quarantined_by_reason"], name
        assert summary["hotspots"] == summaries["folders"]["hotspots"], name
    one = _select(["--crime", str(crime[0]), "--areas", str(lsoas[0].parent)], tmp_path)
    assert one["rows_read"] == len(pd.read_csv(crime[0]))


def test_select_names_an_area_code_in_two_files(shared_data, settings, tmp_path):
    lsoa = sorted((shared_data / "lsoa-2011").glob("*.json"))[0]
    copy = tmp_path / "copy.json"
    shutil.copy(lsoa, copy)
    crime = sorted((shared_data / "police-uk").glob("*.csv"))[0]
    result = runner.invoke(
        app, ["select", "--crime", str(crime), "--areas", str(lsoa), str(copy), "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2
    assert f"{lsoa.name} and {copy.name}" in result.output and "in both files" in result.output


@pytest.fixture(scope="module")
def day_folder(sample):
    """One UTC day of the sample's hourly ping files, and its area file."""
    day = sample.avl_dates[2]
    folder = sample.landing_dir / sample.force / "avl" / day.isoformat()
    return day, sorted(folder.glob("*.csv")), sample.landing_dir / sample.force / "areas"


def _patrol(args: list[str], out: Path) -> tuple[dict, pd.DataFrame]:
    result = runner.invoke(app, ["patrol-minutes", *args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), pd.read_csv(out, dtype={"area_code": str})


def test_patrol_minutes_path_forms_and_the_dag_agree(day_folder, sample, settings, tmp_path, monkeypatch):
    from hotspots import pipeline
    from hotspots.settings import reload_settings
    from hotspots.warehouse import connect

    day, files, areas = day_folder
    forms = {
        "folder": ["--pings", str(files[0].parent), "--areas", str(areas)],
        "glob": ["--pings", *map(str, files), "--areas", str(areas / "areas.geojson")],
        "repeated": [a for p in files for a in ("--pings", str(p))] + ["--areas", str(areas)],
        "mixed": ["--pings", str(files[0]), "--pings", *map(str, files[1:]), "--areas", str(areas)],
    }
    results = {name: _patrol(args, tmp_path / f"{name}.csv") for name, args in forms.items()}
    summary, table = results["folder"]
    assert summary["rows_read"] == sum(len(pd.read_csv(p)) for p in files) > 0
    for name, (other, other_table) in results.items():
        assert {k: other[k] for k in ("rows_read", "rows_loaded", "quarantined_by_reason")} == {
            k: summary[k] for k in ("rows_read", "rows_loaded", "quarantined_by_reason")
        }, name
        pd.testing.assert_frame_equal(other_table, table, obj=name)

    # The DAG's step on the same files: the same counts and the same daily_patrol rows.
    landing = tmp_path / "dag" / "landing" / sample.force
    shutil.copytree(areas, landing / "areas")
    shutil.copytree(files[0].parent, landing / "avl" / day.isoformat())
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path / "dag"))
    dag_settings = reload_settings()
    pipeline.ingest_areas(sample.force, dag_settings)
    step = pipeline.ingest_avl(sample.force, day, dag_settings)
    assert (step["rows_read"], step["rows_loaded"], step["rows_quarantined"]) == (
        summary["rows_read"],
        summary["rows_loaded"],
        summary["rows_quarantined"],
    )
    con = connect(dag_settings.warehouse_path, read_only=True, settings=dag_settings)
    try:
        dag = con.execute(f"SELECT {', '.join(table.columns)} FROM daily_patrol ORDER BY area_code, date").df()
    finally:
        con.close()
    dag["date"] = dag["date"].dt.strftime("%Y-%m-%d")
    assert summary["dates"] == sorted(set(dag["date"])) and date.fromisoformat(summary["dates"][0]) <= day
    pd.testing.assert_frame_equal(table, dag, check_dtype=False)


def test_a_file_named_twice_is_read_once_and_a_clash_is_refused(shared_data, settings, tmp_path):
    crime = sorted((shared_data / "police-uk").glob("*.csv"))[0]
    areas = str(shared_data / "lsoa-2011")
    once = _select(["--crime", str(crime), str(crime.parent), "--areas", areas], tmp_path)
    assert once["rows_read"] == sum(len(pd.read_csv(p)) for p in crime.parent.glob("*.csv"))
    other = tmp_path / "copy" / crime.name
    other.parent.mkdir()
    shutil.copy(crime, other)
    result = runner.invoke(
        app, ["select", "--crime", str(crime), str(other), "--areas", areas, "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2 and "would be stored under the same name" in result.output
