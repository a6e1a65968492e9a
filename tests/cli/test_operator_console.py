"""The operator's console as the README tells it: airflow-env puts the project's Airflow on PATH and binds the
api-server to 127.0.0.1, airflow-password finds the generated password, report refuses what it cannot draw, and
the data folder's hotspots.env is read when HOTSPOTS_DATA_DIR points at it (environment variables win)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
import warehouse_rows as rows
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.local_airflow import VENV_BIN, airflow_env, password_file
from hotspots.settings import reload_settings

HOTSPOTS = VENV_BIN / "hotspots"


def _demo_folder(tmp_path: Path) -> Path:
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    (data_dir / "hotspots.env").write_text(f"HOTSPOTS_DATA_DIR={data_dir}\nHOTSPOTS_HOTSPOT_COUNT=10\n")
    return data_dir


def test_airflow_env_puts_the_venv_first_on_path_and_binds_locally(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("AIRFLOW__API__HOST", raising=False)
    env = airflow_env(tmp_path)
    assert env["PATH"].split(os.pathsep)[0] == str(VENV_BIN)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")
    assert airflow_env(tmp_path)["AIRFLOW__API__HOST"] == "0.0.0.0", "told otherwise: the operator's choice"


def test_sourcing_airflow_env_finds_the_projects_airflow(tmp_path):
    """What `make airflow-ui` does, in a shell whose PATH has no venv: `airflow` resolves to the venv's."""
    data_dir = _demo_folder(tmp_path)
    script = f". <({HOTSPOTS} airflow-env --data-dir {data_dir}) && command -v airflow && echo $AIRFLOW__API__HOST"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found, host = done.stdout.split()
    assert Path(found).resolve() == (VENV_BIN / "airflow").resolve() and host == "127.0.0.1"


def test_airflow_password_is_found_or_explained(tmp_path):
    data_dir = _demo_folder(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(app, ["airflow-password", "--data-dir", str(data_dir)])
    assert missing.exit_code == 2 and "make airflow-ui" in missing.output
    assert "Traceback" not in missing.output
    path = password_file(data_dir / "airflow")
    path.parent.mkdir()
    path.write_text(json.dumps({"admin": "s3cret-generated"}))
    found = runner.invoke(app, ["airflow-password", "--data-dir", str(data_dir)])
    assert found.exit_code == 0 and found.output.strip() == "s3cret-generated"
    other = runner.invoke(app, ["airflow-password", "--data-dir", str(data_dir), "--user", "viewer"])
    assert other.exit_code == 2 and "'viewer'" in other.output


def test_data_folder_env_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    data_dir = _demo_folder(tmp_path)
    for name in list(os.environ):
        if name.startswith("HOTSPOTS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(data_dir))
    try:
        assert reload_settings().hotspot_count == 10, "var/demo/hotspots.env says 10"
        monkeypatch.setenv("HOTSPOTS_HOTSPOT_COUNT", "5")
        assert reload_settings().hotspot_count == 5, "the environment variable wins over the file"
        monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path))  # no hotspots.env there
        monkeypatch.delenv("HOTSPOTS_HOTSPOT_COUNT")
        assert reload_settings().hotspot_count == 21
    finally:
        monkeypatch.undo()
        reload_settings()


@pytest.fixture
def published(tmp_path, monkeypatch):
    from hotspots.warehouse import publish_snapshot

    settings = rows.isolated_settings(monkeypatch, tmp_path / "data")
    rows.build_warehouse(settings)
    publish_snapshot(settings)
    yield settings
    reload_settings()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--force", "nosuch", "--date", "2024-05-31"], "--force nosuch: unknown force"),
        (["--force", "nosuch"], "--force nosuch: unknown force"),
        (["--date", "2023-01-01"], "--date 2023-01-01: no compliance figures"),
    ],
)
def test_report_refuses_an_unknown_force_or_a_day_without_data(published, args, says):
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
    assert not list(published.reports_dir.rglob("*.html")), "no file written"


def test_report_of_a_day_with_data_is_written(published):
    result = CliRunner().invoke(app, ["report", "--date", "2024-05-31"])
    assert result.exit_code == 0, result.output
    assert (published.reports_dir / rows.FORCE / f"{date(2024, 5, 31)}.html").is_file()


def test_readme_lists_every_dag_and_command():
    """The README's DAG table names every DAG (the runner lists them; test_cli_run compares it with the DagBag)
    and its command table every `hotspots` command."""
    from typer.main import get_command

    from hotspots.runner import RUNNERS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing_dags = [dag_id for dag_id in RUNNERS if f"| `{dag_id}` |" not in readme]
    commands = get_command(app).commands
    missing_commands = [name for name in commands if f"`hotspots {name}" not in readme]
    assert not missing_dags and not missing_commands, (missing_dags, missing_commands)
