"""Shared fixtures: an isolated settings environment, a warehouse, the generated sample, the real samples."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from settings_env import LAKE_VARIABLES, TEST_KEY

# Fixtures of the local Slack Web API server and the aiosmtpd SMTP server, for every test module.
pytest_plugins = ["slack_api_server", "smtp_server"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import: give the test session its own home, never ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="hotspots-test-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
SHARED_DATA = Path(os.environ.get("HOTSPOTS_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def pytest_runtest_setup(item):
    """A room run on a DuckLake (HOTSPOTS_WAREHOUSE_CATALOG=ducklake) skips the tests about the DuckDB file."""
    if item.get_closest_marker("duckdb_file") and os.environ.get("HOTSPOTS_WAREHOUSE_CATALOG") == "ducklake":
        pytest.skip("about the DuckDB file (its lock, its snapshot copy); the lake's are in tests/warehouse/test_lake*")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With HOTSPOTS_FAIL_ON_SKIP=1 (set by .ci/run), a skipped test is a failed test."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("HOTSPOTS_FAIL_ON_SKIP") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"Skipped, and HOTSPOTS_FAIL_ON_SKIP=1 turns skips into failures: {reason}"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings pointing at a fresh data folder under tmp_path, with a test pseudonym key (and the warehouse
    catalog of LAKE_VARIABLES when set)."""
    from hotspots.settings import reload_settings

    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOTSPOTS_PSEUDONYM_KEY", TEST_KEY)
    for name in list(os.environ):
        if name.startswith("HOTSPOTS_") and name not in {
            "HOTSPOTS_DATA_DIR",
            "HOTSPOTS_PSEUDONYM_KEY",
            "HOTSPOTS_FAIL_ON_SKIP",
            "HOTSPOTS_SHARED_DATA",
            *LAKE_VARIABLES,
        }:
            monkeypatch.delenv(name)
    yield reload_settings()
    reload_settings()


@pytest.fixture
def warehouse(settings):
    """The writer's door on a new warehouse (migrated on first open)."""
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        yield con


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """The generated sample (deterministic, seed 7) with its ground truth."""
    from hotspots.generate import generate_sample

    return generate_sample(tmp_path_factory.mktemp("sample"), seed=7)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public samples in ../shared/data (skips with the reason when absent)."""
    if not (SHARED_DATA / "police-uk").is_dir():
        pytest.skip(f"real samples not found at {SHARED_DATA} (set HOTSPOTS_SHARED_DATA)")
    return SHARED_DATA
