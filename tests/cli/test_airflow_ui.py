"""The README's `make airflow-ui`, in a fresh clone of this checkout, from a shell whose PATH has no venv: airflow
standalone comes up, answers on its port on 127.0.0.1 only, `hotspots airflow-password` gives the admin password
it generated, and the reports plugin answers 401 without it and 200 with it.

The clone shares this checkout's installed venv (a symlink; `make -o` keeps make from reinstalling it) and gets a
hand-written var/demo/hotspots.env in place of a full `make demo`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_server import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def _non_loopback_address() -> str | None:
    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # no packet is sent: picks the outgoing interface's address
            address = sock.getsockname()[0]
            return None if address.startswith("127.") else address
    return None


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("airflow-ui")
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    (clone / ".venv").symlink_to(VENV)
    demo = clone / "var" / "demo"
    demo.mkdir(parents=True)
    (demo / "hotspots.env").write_text(f"HOTSPOTS_DATA_DIR={demo}\nHOTSPOTS_FORCES=synthetic\n")
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "PYTHONPATH": str(clone / "include"),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    log = tmp / "airflow-ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "airflow-ui"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 420
        while True:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
            assert proc.poll() is None, f"make airflow-ui exited {proc.returncode}:\n{tail}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"nothing answered on {url}:\n{tail}"
            time.sleep(2)
        yield {"url": url, "port": port, "clone": clone, "env": env, "log": log}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_make_airflow_ui_answers_with_every_component_from_the_venv(ui):
    text = ui["log"].read_text(errors="replace")
    assert "FileNotFoundError" not in text, "a component was not found on PATH"
    health = httpx.get(f"{ui['url']}/api/v2/monitor/health", timeout=30).json()
    assert health["metadatabase"]["status"] == "healthy"


def test_the_ui_listens_on_loopback_only(ui):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with pytest.raises(OSError):
        socket.create_connection((address, ui["port"]), timeout=3).close()


def test_the_password_command_logs_in_and_the_reports_need_it(ui):
    password = subprocess.run(
        [str(ui["clone"] / ".venv" / "bin" / "hotspots"), "airflow-password"],
        cwd=ui["clone"],
        env=ui["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert password.returncode == 0, password.stderr
    token = httpx.post(
        f"{ui['url']}/auth/token", json={"username": "admin", "password": password.stdout.strip()}, timeout=60
    )
    assert token.status_code in (200, 201), token.text
    reports = f"{ui['url']}/hotspots-reports/"
    assert httpx.get(reports, timeout=60).status_code == 401
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert httpx.get(reports, headers=bearer, timeout=60).status_code == 200
