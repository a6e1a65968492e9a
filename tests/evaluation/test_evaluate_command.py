"""`hotspots evaluate` on files and on the warehouse: the files give exactly the planted place-days, the
warehouse the same answer, and user errors one Error line with exit status 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from evaluation_helpers import load_trial
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.evaluation.estimators import Options, evaluate_frame
from hotspots.evaluation.simulate import simulate_trial, write_trial_files

REDRAWS = "99"


@pytest.fixture
def files(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("HOTSPOTS_EVALUATION_REDRAWS", REDRAWS)
    trial = simulate_trial(rate_ratio=0.6, seed=2, stray=0.1)
    return write_trial_files(trial, tmp_path / "trial", seed=2)


def run(*args: str):
    from hotspots.settings import reload_settings

    reload_settings()
    return CliRunner().invoke(app, ["evaluate", *args])


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def file_args(f) -> list[str]:
    return ["--records", str(f.records), "--plan", str(f.plan), "--areas", str(f.areas), "--patrol", str(f.patrol)]


def test_files_give_the_planted_place_days_and_the_keys_the_issue_lists(files):
    result = run(*file_args(files), "--json")
    assert result.exit_code == 0, result.output[-3000:]
    out = last_json(result.output)
    expected = evaluate_frame(files.expected, Options(redraws=int(REDRAWS), force="synthetic"), delivered=True)
    # The same estimates as on the planted frame: the files were read into exactly those place-days
    # (crimes, CCHI harm of their offence codes, ring crimes 20-80 m outside each hot spot).
    assert out["crimes"] == int(files.expected["count"].sum()) == expected["crimes"]
    assert out["itt"] == expected["itt"]
    assert out["displacement"] == expected["displacement"]
    assert out["dose_response"] == expected["dose_response"]
    assert (out["treated_place_days"], out["control_place_days"]) == (630, 1260)
    for key in ("count", "harm", "prevalence"):
        assert set(out["itt"][key]) >= {"rate_ratio", "ci_low", "ci_high", "p_value"}
    assert out["itt"]["harm"]["ci_low"] <= 0.6 <= out["itt"]["harm"]["ci_high"]
    for row in out["dose_response"]:
        assert set(row) >= {"min_minutes", "max_minutes", "place_days", "rate_ratio", "ci_low", "ci_high"}
    assert "carry_over" in out and out["displacement"]["ring_m"] == 100.0
    assert "harm (CCHI) was" in result.output and "95% CI" in result.output


def test_start_and_end_limit_the_days(files):
    out = last_json(run(*file_args(files), "--start", "2025-02-01", "--end", "2025-02-28", "--json").output)
    assert out["days"] == 28 and out["treated_place_days"] == 28 * 7 and out["start"] == "2025-02-01"


def test_plan_with_every_hot_spot_every_day_is_a_before_after_design(files, tmp_path):
    plan = pd.read_csv(files.plan).assign(planned="true")
    plan.to_csv(tmp_path / "all.csv", index=False)
    args = ["--records", str(files.records), "--plan", str(tmp_path / "all.csv"), "--areas", str(files.areas)]
    out = last_json(run(*args, "--json").output)
    assert out["design"] == "before_after" and out["hotspots"] == 21 and len(out["comparison_areas"]) == 21
    counts = out["displacement"]["counts"]
    assert counts["T1"] == files.expected["count"].sum() and counts["T0"] == 0
    assert counts["D1"] == files.expected["ring_count"].sum()
    assert out["displacement"]["wdd_se"] == pytest.approx(sum(counts.values()) ** 0.5)


def test_warehouse_mode_gives_the_same_answer_as_the_files(files, warehouse, settings):
    load_trial(warehouse, files, force=settings.forces[0], settings=settings)
    from_files = last_json(run(*file_args(files), "--json").output)
    result = run("--json")
    assert result.exit_code == 0, result.output[-3000:]
    from_warehouse = last_json(result.output)
    assert from_warehouse["force"] == settings.forces[0]
    for key in ("itt", "dose_response", "carry_over", "displacement", "treated_place_days", "control_place_days"):
        assert from_warehouse[key] == from_files[key], key


@pytest.mark.parametrize(
    "args, words",
    [
        (["--plan", "plan.csv"], "--records, --plan and --areas"),
        (["--start", "2025-13-01"], "not a date"),
        (["--start", "2025-03-01", "--end", "2025-02-01"], "after --end"),
    ],
)
def test_option_errors_are_one_error_line_and_exit_2(files, args, words):
    result = run(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and words in result.output and "Traceback" not in result.output


def test_a_bad_plan_file_is_a_user_error(files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,area_code,planned\n2025-01-06,E00000000,maybe\n")
    result = run("--records", str(files.records), "--plan", str(bad), "--areas", str(files.areas))
    assert result.exit_code == 2, result.output[-2000:]
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and "line 2, column planned" in lines[0] and "Traceback" not in result.output


def test_an_empty_warehouse_is_a_user_error(settings, warehouse):
    result = run()
    assert result.exit_code == 2 and "no plan or compliance rows" in result.output
