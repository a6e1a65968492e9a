"""The weekly evaluate_patrol step: marts replaced per run (idempotent), estimates equal to the command's, and
a self-contained HTML report with the forest plot, dose-response and carry-over charts that renders in
Chromium."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from evaluation_helpers import load_trial

from hotspots.evaluation.simulate import simulate_trial, write_trial_files

CHROMIUM = Path("/usr/bin/chromium")
END = date(2025, 3, 31)


@pytest.fixture
def evaluated(tmp_path, settings, monkeypatch):
    from hotspots.pipeline import evaluate_patrol
    from hotspots.settings import reload_settings
    from hotspots.warehouse import open_warehouse

    monkeypatch.setenv("HOTSPOTS_EVALUATION_REDRAWS", "99")
    settings = reload_settings()
    files = write_trial_files(simulate_trial(rate_ratio=0.6, seed=4, stray=0.1), tmp_path / "trial", seed=4)
    with open_warehouse(settings) as con:
        load_trial(con, files, force=settings.forces[0], settings=settings)
    first = evaluate_patrol(settings.forces[0], END, settings)
    second = evaluate_patrol(settings.forces[0], END, settings)
    return settings, files, first, second


def test_marts_are_written_once_per_run_and_hold_the_estimates(evaluated):
    from hotspots.warehouse import open_warehouse

    settings, files, first, second = evaluated
    assert first["run_id"] == second["run_id"] == f"{settings.forces[0]}|{END}"
    with open_warehouse(settings) as con:
        runs = con.execute(
            "SELECT run_id, design, end_date, treated_place_days, result_json FROM evaluation_runs"
        ).fetchall()
        estimates = con.execute(
            "SELECT estimate, term, rate_ratio, ci_low, ci_high, p_value FROM evaluation_estimates ORDER BY ALL"
        ).fetchall()
    assert len(runs) == 1 and runs[0][1] == "randomised" and runs[0][2] == END
    result = json.loads(runs[0][4])
    expected_days = files.expected[files.expected["date"] <= str(END)]
    assert runs[0][3] == int(expected_days["treated"].sum()) == result["treated_place_days"]
    by_key = {(e, t): rest for e, t, *rest in estimates}
    assert len(estimates) == first["estimates"] == second["estimates"]
    for outcome in ("count", "harm", "prevalence"):
        itt = result["itt"][outcome]
        assert by_key[("itt", outcome)] == [itt[k] for k in ("rate_ratio", "ci_low", "ci_high", "p_value")]
    assert {t for e, t in by_key if e == "dose_response"} == {"0", "1-9", "10-14", "15+"}
    assert {t for e, t in by_key if e == "carry_over"} >= {"streak_1", "streak_3+", "since_1", "since_3"}
    assert ("displacement", "ring") in by_key


def test_the_report_is_self_contained_with_its_three_charts(evaluated):
    _, _, first, _ = evaluated
    text = Path(first["report"]).read_text()
    for svg in ("forest-svg", "dose-svg", "carry-svg"):
        assert f'id="{svg}"' in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "<script" not in text
    assert "harm (CCHI) was" in text and "95% CI" in text
    assert text.count('class="estimate"') >= 4 + 3 + 6  # ITT and ring, dose bins, carry-over rows


@pytest.mark.browser
def test_the_report_renders_in_chromium(evaluated, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium: run scripts/install-system-deps")
    _, _, first, _ = evaluated
    screenshot = tmp_path / "evaluation.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--hide-scrollbars",
        "--window-size=900,1600",
        f"--screenshot={screenshot}",
        "--dump-dom",
        Path(first["report"]).as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    dom = done.stdout
    assert all(f'id="{svg}"' in dom for svg in ("forest-svg", "dose-svg", "carry-svg"))
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    assert any(abs(r - 0x1F) < 24 and abs(g - 0x4E) < 24 and abs(b - 0x79) < 24 for r, g, b in colours)


def test_a_force_without_a_plan_is_skipped(settings, warehouse):
    from hotspots.pipeline import evaluate_patrol

    warehouse.close()
    out = evaluate_patrol(settings.forces[0], END, settings)
    assert "no plan or compliance rows" in out["skipped"]
