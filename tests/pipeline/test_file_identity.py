"""A drop's logical identity is (force, source, day, name): a corrected re-export under the same name replaces its
rows and keeps the earlier raw copy as a version. Truth: the marts of a clean run of the same day."""

from __future__ import annotations

import hashlib
import shutil

import pandas as pd
import pytest
from settings_env import settings_of, use_only_env

from hotspots.pipeline import ingest_areas, ingest_avl

DAY = "2024-05-03"


def marts(settings, force):
    from hotspots.warehouse import connect

    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        patrol = con.execute(
            "SELECT area_code, date, round(patrol_minutes, 6), round(window_minutes, 6), visits, koper_visits, devices "
            "FROM daily_patrol WHERE force = ? ORDER BY ALL",
            [force],
        ).fetchall()
        feed = con.execute(
            "SELECT date, local_hour, pings, devices, files FROM feed_hours WHERE force = ? ORDER BY ALL", [force]
        ).fetchall()
        pings = con.execute("SELECT count(*) FROM stg_pings WHERE force = ?", [force]).fetchone()[0]
    finally:
        con.close()
    return {"daily_patrol": patrol, "feed_hours": feed, "pings": pings}


@pytest.fixture(scope="module")
def clean(sample, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("clean") / "data"
    shutil.copytree(sample.out_dir, data_dir)
    settings = settings_of(sample.settings_env, data_dir=data_dir)
    ingest_areas(sample.force, settings)
    ingest_avl(sample.force, pd.Timestamp(DAY).date(), settings)
    return marts(settings, sample.force)


def _busiest(folder):
    return max(folder.glob("pings-*.csv"), key=lambda p: p.stat().st_size)


def truncated(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[: len(lines) // 2])


def shifted(text: str) -> str:
    """Every timestamp one hour late (an export with the wrong clock)."""
    lines = text.splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        device, ts, rest = line.split(",", 2)
        moved = (pd.Timestamp(ts) + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(f"{device},{moved},{rest}")
    return "".join(out)


@pytest.mark.parametrize("corrupt", [truncated, shifted], ids=["truncated", "time-shifted"])
def test_a_corrected_re_export_replaces_its_rows(sample, clean, tmp_path, corrupt):
    data_dir = tmp_path / "data"
    shutil.copytree(sample.out_dir, data_dir)
    settings = settings_of(sample.settings_env, data_dir=data_dir)
    landed = _busiest(data_dir / "landing" / sample.force / "avl" / DAY)
    good = landed.read_text()
    bad = corrupt(good)
    landed.write_text(bad)
    ingest_areas(sample.force, settings)
    ingest_avl(sample.force, pd.Timestamp(DAY).date(), settings)
    first = marts(settings, sample.force)
    assert first["daily_patrol"] != clean["daily_patrol"]  # the bad export changed the marts

    landed.write_text(good)  # the force re-exports the file under the same name
    result = ingest_avl(sample.force, pd.Timestamp(DAY).date(), settings)
    assert marts(settings, sample.force) == clean
    raw = settings.force_raw(sample.force) / "avl" / f"date={DAY}"
    assert (raw / landed.name).read_text() == good and str(raw / landed.name) in result["files"]
    digest = hashlib.sha256(bad.encode()).hexdigest()[:12]
    assert (raw / "versions" / f"{landed.stem}.{digest}.csv").read_text() == bad  # the earlier copy kept
    assert ingest_avl(sample.force, pd.Timestamp(DAY).date(), settings)["rows_loaded"] == result["rows_loaded"]
    assert marts(settings, sample.force) == clean  # a rerun changes nothing


def test_a_late_file_in_a_processed_day_is_picked_up_by_the_sweep(sample, clean, tmp_path, monkeypatch):
    """The day is loaded without its busiest file; the file lands later; `hotspots run sweep_landing` finds it by
    itself, and the marts equal the clean run. A second sweep finds nothing."""
    import json

    from typer.testing import CliRunner

    from hotspots.cli import app
    from hotspots.settings import reload_settings

    data_dir = tmp_path / "data"
    shutil.copytree(sample.out_dir, data_dir)
    landed = _busiest(data_dir / "landing" / sample.force / "avl" / DAY)
    held = tmp_path / landed.name
    shutil.move(landed, held)
    settings = use_only_env(monkeypatch, sample.settings_env | {"HOTSPOTS_DATA_DIR": str(data_dir)})
    ingest_areas(sample.force, settings)
    ingest_avl(sample.force, pd.Timestamp(DAY).date(), settings)
    assert marts(settings, sample.force) != clean
    runner = CliRunner()
    quiet = runner.invoke(app, ["run", "sweep_landing", "--json"])
    assert quiet.exit_code == 0, quiet.output[-2000:]

    shutil.move(held, landed)  # the late file lands in the processed day's folder
    result = runner.invoke(app, ["run", "sweep_landing", "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    steps = json.loads(result.stdout[result.stdout.index('{\n  "dag_id"') :])["steps"]
    sweep = next(s["result"] for s in steps if s["task"] == "reload_late_files")
    assert sweep["late_days"] == [DAY] and any(f.endswith(landed.name) for f in sweep["files"])
    assert marts(settings, sample.force) == clean
    again = runner.invoke(app, ["run", "sweep_landing", "--json"])
    steps = json.loads(again.stdout[again.stdout.index('{\n  "dag_id"') :])["steps"]
    assert next(s["result"] for s in steps if s["task"] == "reload_late_files")["late_days"] == []
    reload_settings()
