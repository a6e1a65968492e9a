"""docker-compose.yaml, Dockerfile, .env.example and airflow-init.sh checked against the code they deploy."""

from __future__ import annotations

import fnmatch
import re
from datetime import time
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from hotspots.settings import PROJECT_ROOT, Settings

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
MOUNTS = {"dags", "plugins", "include", "sql", "data"}


def env_block(name: str, field) -> str:
    """The documentation block .env.example carries for one Settings field (paste it when a field is added)."""
    default = field.default
    if isinstance(default, Path):
        shown = str(default.relative_to(PROJECT_ROOT)) if default.is_relative_to(PROJECT_ROOT) else str(default)
    elif isinstance(default, list | tuple):
        shown = ",".join(v.strftime("%H:%M") if isinstance(v, time) else str(v) for v in default)
    elif isinstance(default, time):
        shown = default.strftime("%H:%M")
    elif isinstance(default, bool):
        shown = str(default).lower()
    elif default is None or isinstance(default, SecretStr):
        shown = ""
    else:
        shown = str(default)
    return f"# {field.description}\n# HOTSPOTS_{name.upper()}={shown}\n"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def env_example() -> str:
    return (ROOT / ".env.example").read_text()


def _env(service: dict) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def _mount_targets(service: dict) -> dict[str, str]:
    """Container path -> host source of each bind mount."""
    targets = {}
    for volume in service.get("volumes", []):
        source, target = re.fullmatch(r"(.+):(/[^:]*)(?::ro|:rw)?", volume).groups()
        targets[target] = source
    return targets


def test_services_are_airflows_celery_topology(compose):
    services = compose["services"]
    assert {"postgres", "redis"} | AIRFLOW_SERVICES <= set(services), sorted(services)
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }
    assert "x-airflow-common" in compose


def test_celery_executor_everywhere_local_executor_nowhere(compose):
    for name, service in compose["services"].items():
        if name.startswith("airflow-") or name == "flower":
            env = _env(service)
            assert env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name
            assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:") or env[
                "AIRFLOW__CELERY__BROKER_URL"
            ].startswith("redis://:@redis:"), name
            assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
            assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
    for path in ("docker-compose.yaml", "Dockerfile", ".env.example", "scripts/airflow-init.sh", "docs/operations.md"):
        if (ROOT / path).exists():
            assert "LocalExecutor" not in (ROOT / path).read_text(), path


def test_every_component_reaches_the_execution_api_and_shares_the_jwt_secret(compose):
    apiserver = compose["services"]["airflow-apiserver"]
    container_port = apiserver["ports"][0].rsplit(":", 1)[1]
    for name in AIRFLOW_SERVICES:
        env = _env(compose["services"][name])
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://airflow-apiserver:{container_port}/execution/"
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW__API_AUTH__JWT_SECRET:?"), name
        assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW__CORE__FERNET_KEY:?"), name


def test_volumes_mount_the_project_and_one_shared_data_folder(compose):
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        targets = _mount_targets(service)
        for folder in MOUNTS - {"data"}:
            assert targets.get(f"/opt/airflow/{folder}", "").endswith(f"/{folder}"), (name, folder)
        env = _env(service)
        assert env["HOTSPOTS_DATA_DIR"] in targets, f"{name}: HOTSPOTS_DATA_DIR is not a mounted volume"
        assert env["HOTSPOTS_SQL_DIR"] == "/opt/airflow/sql"
        # The package is installed editable from /opt/airflow, so its defaults point at the mounted sql/.
        assert targets[env["HOTSPOTS_DATA_DIR"]] == "${HOST_DATA_DIR:-./var}"


def test_every_setting_is_documented_in_env_example(env_example):
    missing = [
        env_block(name, field)
        for name, field in Settings.model_fields.items()
        if env_block(name, field).splitlines()[0] not in env_example
        or not re.search(rf"^#?\s*HOTSPOTS_{name.upper()}=", env_example, re.MULTILINE)
    ]
    assert not missing, "add (or update) these blocks in .env.example:\n\n" + "\n".join(missing)
    known = {f"HOTSPOTS_{name.upper()}" for name in Settings.model_fields}
    stale = set(re.findall(r"^#?\s*(HOTSPOTS_[A-Z0-9_]+)=", env_example, re.MULTILINE)) - known
    assert not stale, f".env.example names settings the code does not read: {sorted(stale)}"


def test_every_compose_variable_is_in_env_example(env_example):
    text = (ROOT / "docker-compose.yaml").read_text()
    variables = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    documented = set(re.findall(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", env_example, re.MULTILINE))
    assert variables - documented == set()


def test_airflow_init_creates_the_pools_and_connections_the_code_uses():
    script = (ROOT / "scripts" / "airflow-init.sh").read_text()
    code = "\n".join(path.read_text() for path in [*ROOT.glob("dags/**/*.py"), *ROOT.glob("include/hotspots/**/*.py")])
    pools = set(re.findall(r"""pool\s*=\s*["']([\w-]+)["']""", code)) | {"duckdb_writer"}
    for pool in pools:
        slots = r"(\d+|\"\$\{writer_slots\}\")"
        assert re.search(rf"airflow pools set {pool} {slots} ", script), f"airflow-init.sh does not create pool {pool}"
    assert 'airflow pools set duckdb_writer "${writer_slots}" ' in script
    on_file = script.split('if [[ "${HOTSPOTS_WAREHOUSE_CATALOG:-duckdb}" == "ducklake" ]]; then', 1)[1]
    assert "else\n        writer_slots=1\n" in on_file, "on a DuckDB file the writer pool must have exactly one slot"
    defaults = Settings.model_fields
    for conn_id in (defaults["slack_conn_id"].default, defaults["smtp_conn_id"].default):
        assert f"airflow connections add {conn_id} " in script
        assert f"airflow connections get {conn_id} " in script, f"{conn_id}: add it only when missing"


def test_dockerfile_builds_on_the_airflow_in_the_venv():
    import airflow

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{airflow.__version__}-python3.11\n" in dockerfile
    assert f"AIRFLOW_VERSION={airflow.__version__}\n" in dockerfile
    assert "-r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt" in dockerfile
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for sources in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.MULTILINE):
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is missing at the repository root"
            assert not any(fnmatch.fnmatch(source, pattern.rstrip("/")) for pattern in ignored), (
                f".dockerignore hides {source}"
            )
