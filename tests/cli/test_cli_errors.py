"""Bad inputs through the `hotspots` command: every case of the DAG functions' bad-input corpus (test_bad_inputs,
test_avl_bad_inputs) gives the same outcome through the CLI, and a user error prints one message naming the
file, the rule and the fix, exits 2 and shows no traceback (only with --debug)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from avl_helpers import DAY, STRUCTURAL_FAULTS, ping_rows, write_pings
from bad_input_cases import CASES
from settings_env import TEST_KEY
from sources_fixtures import good_rows, street_csv, write_areas
from typer.testing import CliRunner

from hotspots.cli import app

HOTSPOTS = Path(sys.executable).with_name("hotspots")
CLI_CASES = [c for c in CASES if c.kind in ("police_uk", "areas")]  # force records have no command yet
STRUCTURAL = STRUCTURAL_FAULTS


def error_line(output: str) -> str:
    """The one 'Error: ...' line (asserts there is exactly one, and no traceback or Rich box)."""
    assert "Traceback" not in output and "╭" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, output[-3000:]
    return lines[0]


def good_pings(tmp: Path, name: str = "pings-10.csv") -> Path:
    return write_pings(tmp, ping_rows("AVL-1", f"{DAY}T13:00:00", 40, 30, col=0, row=0), name=name)


def select(tmp: Path, crime: Path, *extra: str):
    areas = write_areas(tmp / "squares")
    return CliRunner().invoke(
        app,
        ["select", "--crime", str(crime), "--areas", str(areas), "--out", str(tmp / "ranked.csv"), "--json", *extra],
    )


def patrol(tmp: Path, pings: Path, areas: Path | None = None, *extra: str):
    areas = areas or write_areas(tmp / "squares")
    return CliRunner().invoke(
        app,
        [
            "patrol-minutes",
            "--pings",
            str(pings),
            "--areas",
            str(areas),
            "--out",
            str(tmp / "patrol.csv"),
            "--json",
            *extra,
        ],
    )


def summary_of(result) -> dict:
    assert result.exit_code == 0, result.output[-3000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_bad_input_through_the_cli(case, settings, tmp_path):
    """Crime files through `select`, area files through `patrol-minutes`: same error or same quarantine."""
    path = case.build(tmp_path)
    result = select(tmp_path, path) if case.kind == "police_uk" else patrol(tmp_path, good_pings(tmp_path), path)
    if case.error:
        assert result.exit_code == 2, result.output[-3000:]
        line = error_line(result.output)
        assert path.name in line or str(path.parent) in line
        assert re.search(case.error, line)
        return
    summary = summary_of(result)
    counts = summary if case.kind == "police_uk" else summary["areas_counts"]
    assert counts["quarantined_by_reason"] == case.quarantined
    assert counts["rows_read"] == counts["rows_loaded"] + counts["rows_quarantined"]


@pytest.mark.parametrize("name,text,match", STRUCTURAL, ids=[s[0] for s in STRUCTURAL])
def test_structural_ping_faults_through_the_cli(name, text, match, settings, tmp_path):
    path = tmp_path / "avl" / DAY / name
    path.parent.mkdir(parents=True)
    path.write_text(text)
    result = patrol(tmp_path, path)
    assert result.exit_code == 2, result.output[-3000:]
    line = error_line(result.output)
    assert str(path) in line and match in line


def test_ping_row_faults_are_quarantined_through_the_cli(settings, tmp_path):
    """Teleports, unparseable and out-of-window timestamps and bad device ids: quarantined, not counted."""
    rows = ping_rows("AVL-1", f"{DAY}T13:00:00", 100, 30, col=1, row=1)
    rows[3]["timestamp"] = "2024-05-01T25:61:00Z"
    rows[10]["timestamp"] = "2024-04-20T10:00:00Z"
    rows[20]["lon"], rows[20]["lat"] = "", ""
    rows[60]["device_id"] = " "
    lon = float(rows[70]["lon"])
    rows[70]["lon"] = f"{lon + 0.05:.7f}"
    summary = summary_of(patrol(tmp_path, write_pings(tmp_path, rows)))
    assert summary["quarantined_by_reason"] == {
        "bad_timestamp": 1,
        "timestamp_outside_window": 1,
        "missing_coordinates": 1,
        "invalid_device_id": 1,
        "impossible_jump": 1,
    }
    assert (summary["rows_read"], summary["rows_loaded"], summary["rows_quarantined"]) == (100, 95, 5)


def run_cli(*args: str, env: dict[str, str] | None = None, tmp: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")}
    clean |= {"HOTSPOTS_DATA_DIR": str(tmp / "data"), "HOTSPOTS_PSEUDONYM_KEY": TEST_KEY} | (env or {})
    clean = {k: v for k, v in clean.items() if v is not None}
    return subprocess.run([str(HOTSPOTS), *args], capture_output=True, text=True, env=clean, timeout=300)


def crime_file(tmp: Path, text: str) -> Path:
    path = tmp / "2024-02-test-street.csv"
    path.write_text(text)
    return path


def select_args(tmp: Path, crime: Path, areas: Path | None = None) -> list[str]:
    return [
        "select",
        "--crime",
        str(crime),
        "--areas",
        str(areas or write_areas(tmp / "squares")),
        "--out",
        str(tmp / "o.csv"),
    ]


def landed_day(tmp: Path) -> Path:
    """A landing folder for force 'test' with areas and one day of pings."""
    landing = tmp / "data" / "landing" / "test"
    write_areas(landing / "areas")
    write_pings(landing, ping_rows("AVL-1", f"{DAY}T13:00:00", 20, 30))
    return landing


def missing_key(t: Path) -> list[str]:
    landed_day(t)
    return ["run", "ingest_avl", "--day", DAY]


def empty_pings(t: Path) -> list[str]:
    return [
        "patrol-minutes",
        "--pings",
        str(write_empty(t)),
        "--areas",
        str(write_areas(t / "sq")),
        "--out",
        str(t / "p.csv"),
    ]


def good_patrol(t: Path) -> list[str]:
    return [
        "patrol-minutes",
        "--pings",
        str(good_pings(t)),
        "--areas",
        str(write_areas(t / "sq")),
        "--out",
        str(t / "p.csv"),
    ]


def crime_without_areas(t: Path) -> list[str]:
    month = t / "data" / "landing" / "test" / "crime" / "2024-02"
    month.mkdir(parents=True)
    crime_file(month, street_csv(good_rows(5)))
    return ["run", "ingest_crime", "--month", "2024-02"]


def good_crime(t: Path) -> Path:
    return crime_file(t, street_csv(good_rows(5)))


# case: (build args, environment changes, what the message names, the rule it states)
SUBPROCESS_CASES = {
    "missing_column": (
        lambda t: select_args(t, crime_file(t, street_csv(good_rows(5)).replace("Crime type", "Kind"))),
        {},
        "2024-02-test-street.csv",
        "'Crime type' is missing",
    ),
    "empty_file": (empty_pings, {}, "empty.csv", "empty"),
    "truncated_geojson": (
        lambda t: select_args(t, good_crime(t), truncated_geojson(t)),
        {},
        "cut.geojson",
        "cannot be read",
    ),
    "semicolon_csv": (
        lambda t: select_args(t, crime_file(t, street_csv(good_rows(5)).replace(",", ";"))),
        {},
        "2024-02-test-street.csv",
        "semicolons",
    ),
    "missing_pseudonym_key": (
        missing_key,
        {"HOTSPOTS_PSEUDONYM_KEY": None, "HOTSPOTS_FORCES": "test"},
        "HOTSPOTS_PSEUDONYM_KEY",
        "is not set",
    ),
    "unknown_weights": (
        lambda t: select_args(t, good_crime(t)) + ["--weights", "ons"],
        {},
        "--weights",
        "cchi, count, sqrt or css",
    ),
    "bad_month": (lambda t: ["run", "ingest_crime", "--month", "2024-13"], {}, "--month", "YYYY-MM"),
    "bad_setting": (good_patrol, {"HOTSPOTS_BUFFER_M": "-5"}, "HOTSPOTS_BUFFER_M", "-5"),
    "steps_out_of_order": (
        crime_without_areas,
        {"HOTSPOTS_FORCES": "test"},
        "No areas loaded for force 'test'",
        "run the ingest_areas task",
    ),
    "no_area_file_landed": (
        lambda t: ["run", "ingest_areas"],
        {"HOTSPOTS_FORCES": "test"},
        "landing/test/areas",
        "HOTSPOTS_AREAS_PATH",
    ),
}


def write_empty(tmp: Path) -> Path:
    path = tmp / "avl" / DAY / "empty.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def truncated_geojson(tmp: Path) -> Path:
    text = write_areas(tmp / "whole").read_text()
    path = tmp / "cut.geojson"
    path.write_text(text[: len(text) // 2])
    return path


@pytest.mark.parametrize("case", sorted(SUBPROCESS_CASES))
def test_user_error_is_one_message_and_exit_2(case, tmp_path):
    build, env, names, rule = SUBPROCESS_CASES[case]
    args = build(tmp_path)
    done = run_cli(*args, env=env, tmp=tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    line = error_line(done.stdout + done.stderr)
    assert names in line and rule in line, line


def test_debug_shows_the_traceback(tmp_path):
    args = select_args(tmp_path, crime_file(tmp_path, street_csv(good_rows(5)).replace(",", ";")))
    done = run_cli("--debug", *args, tmp=tmp_path)
    assert done.returncode == 1 and "Traceback" in done.stderr and "InputFileError" in done.stderr
