"""A real Airflow api-server on a fresh SQLite metadata database, with the project's plugins and Simple auth
manager users of the test's choosing: for tests of what the api-server serves and to whom.

    with airflow_api_server(tmp_path, users="viewer:viewer,nobody:", env={...}) as server:
        token = server.token("viewer")
        httpx.get(f"{server.url}/hotspots-reports/", headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from hotspots.local_airflow import VENV_BIN, admin_passwords, airflow_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ApiServer:
    url: str
    home: Path
    log: Path

    def password(self, user: str) -> str:
        return admin_passwords(self.home)[user]

    def token(self, user: str) -> str:
        """A JWT from the Simple auth manager's login endpoint, as the UI or a script gets one."""
        response = httpx.post(
            f"{self.url}/auth/token", json={"username": user, "password": self.password(user)}, timeout=60
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def airflow_api_server(
    tmp: Path, users: str, env: dict[str, str] | None = None, timeout: float = 240
) -> Iterator[ApiServer]:
    """Migrate a SQLite database under tmp/airflow, start `airflow api-server` on 127.0.0.1, stop it on exit."""
    home = tmp / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    extra = {
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        **(env or {}),
    }
    run_env = airflow_env(home, extra)
    log = tmp / "api-server.log"
    airflow = str(VENV_BIN / "airflow")
    with log.open("w") as out:
        subprocess.run([airflow, "db", "migrate"], env=run_env, stdout=out, stderr=subprocess.STDOUT, check=True)
        proc = subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=run_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ApiServer(url=f"http://127.0.0.1:{port}", home=home, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"api-server exited {proc.returncode}:\n{server.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"api-server not healthy within {timeout:.0f} s:\n{server.tail()}")
            time.sleep(1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
