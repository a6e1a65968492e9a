"""Airflow's distributed topology as local processes: api-server, scheduler, dag-processor, triggerer and a Celery
worker on a fresh PostgreSQL database and a Redis broker -- the services of docker-compose.yaml, without Docker.

    with airflow_cluster(tmp_path, dags_folder, env={"HOTSPOTS_DATA_DIR": ...}) as cluster:
        cluster.unpause("my_dag")
        run_id = cluster.trigger("my_dag", conf={...})
        cluster.wait_for_run("my_dag", run_id, timeout=120)

Everything started is stopped on exit (each process group, then any descendant left with this AIRFLOW_HOME), the
database is dropped and the Redis database flushed. Each process logs to <tmp>/logs/<component>.log;
``cluster.tails()`` shows their last lines and the logs of failed tasks.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_USERS = ("postgres", "root")
AIRFLOW = Path(sys.executable).with_name("airflow")
HELPERS = Path(__file__).resolve().parents[1] / "helpers"  # cluster_worker.hostname, for workers > 1
TERMINAL = {"success", "failed"}
IDEMPOTENT = {"GET", "PATCH"}


class ClusterError(RuntimeError):
    """The cluster did not come up, or a run did not finish as expected; the message carries the log tails."""


def services_missing() -> str | None:
    """Why the cluster cannot start here (PostgreSQL or Redis not listening), or None when both are up."""
    for name, host, port in (("PostgreSQL", PG_HOST, PG_PORT), ("Redis", REDIS_HOST, REDIS_PORT)):
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError as exc:
            return f"{name} is not reachable at {host}:{port} ({exc}); start it to run the Celery topology test"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_admin():
    """An autocommit connection to the maintenance database, as the first PostgreSQL user that exists."""
    import psycopg2

    errors = []
    for user in PG_USERS:
        try:
            con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=5)
            con.autocommit = True
            return con, user
        except psycopg2.OperationalError as exc:
            errors.append(f"{user}: {exc}".strip())
    raise ClusterError(f"cannot connect to PostgreSQL at {PG_HOST}:{PG_PORT} as {PG_USERS}: {errors}")


def _free_redis_db():
    """A Redis client on an empty database number (1-15), so concurrent runs and other users are left alone."""
    import redis

    for n in secrets.SystemRandom().sample(range(1, 16), 15):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n)
        if client.dbsize() == 0:
            return client, n
    raise ClusterError(f"no empty Redis database (1-15) at {REDIS_HOST}:{REDIS_PORT}")


@dataclass
class AirflowCluster:
    """A running cluster: its environment, REST API client and the processes it started."""

    home: Path
    env: dict[str, str]
    api_url: str
    logs_dir: Path
    db_name: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _client: httpx.Client | None = None

    # --- REST API v2 --------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            token = httpx.get(f"{self.api_url}/auth/token", timeout=60).raise_for_status().json()["access_token"]
            self._client = httpx.Client(
                base_url=f"{self.api_url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
        return self._client

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call; idempotent ones are retried for 2 minutes when a busy api-server does not answer."""
        if method in IDEMPOTENT:
            response = Retrying(
                retry=retry_if_exception_type(httpx.TransportError),
                stop=stop_after_delay(120),
                wait=wait_fixed(2),
                reraise=True,
            )(self.client.request, method, path, **kwargs)
        else:
            response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ClusterError(f"{method} {path} -> {response.status_code}: {response.text[:1000]}")
        return response.json() if response.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 90) -> None:
        """Wait until the dag-processor has serialised every DAG; fail with the import errors otherwise."""
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            missing = [d for d in dag_ids if not self._exists(f"/dags/{d}")]
            if not missing:
                return
            self.check_alive()
            time.sleep(1)
        errors = self.api("GET", "/importErrors").get("import_errors", [])
        raise ClusterError(
            f"DAGs not parsed within {timeout:.0f} s: {missing}; import errors: {errors}\n{self.tails()}"
        )

    def _exists(self, path: str) -> bool:
        try:
            self.api("GET", path)
        except ClusterError:
            return False
        return True

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, logical_date: datetime | None = None) -> str:
        """Create a DAG run through POST /api/v2/dags/{dag_id}/dagRuns; returns its run_id."""
        body = {
            "logical_date": (logical_date or datetime.now(timezone.utc)).isoformat(),
            "conf": conf or {},
        }
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
        """Poll the run until it ends; raise with failed task logs when it fails or times out."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL:
                break
            self.check_alive()
            time.sleep(2)
        if run.get("state") != "success":
            states = [
                (ti["task_id"], ti["map_index"], ti["state"])
                for ti in self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
            ]
            raise ClusterError(
                f"{dag_id} {run_id} ended {run.get('state')!r} (timeout {timeout:.0f} s); tasks: {states}\n"
                f"{self.tails(dag_id=dag_id, run_id=run_id)}"
            )
        return run

    # --- processes ----------------------------------------------------------------------------
    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise ClusterError(f"Airflow components exited: {dead}\n{self.tails()}")

    def tails(self, lines: int = 40, dag_id: str | None = None, run_id: str | None = None) -> str:
        """Last lines of every component log, then of every task log of the given run (or all task logs)."""
        parts = []
        for log in sorted(self.logs_dir.glob("*.log")):
            parts.append(f"----- {log.name} (last {lines} lines)\n" + _tail(log, lines))
        pattern = f"dag_id={dag_id}/run_id={run_id}/**/*.log" if dag_id and run_id else "dag_id=*/**/*.log"
        for log in sorted((self.home / "logs").glob(pattern))[-12:]:
            parts.append(f"----- task log {log.relative_to(self.home / 'logs')}\n" + _tail(log, lines))
        return "\n".join(parts)


def _tail(path: Path, lines: int) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _airflow(args: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("a") as out:
        out.write(f"$ airflow {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([str(AIRFLOW), *args], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if done.returncode != 0:
        raise ClusterError(f"`airflow {' '.join(args)}` failed ({done.returncode}):\n{_tail(log, 60)}")


def leftovers(cluster: AirflowCluster) -> list[str]:
    """What a cluster left behind after exit: live processes of its home, its database. Empty when clean."""
    left = [name for name, proc in cluster.processes.items() if proc.poll() is None]
    left += [f"pid {pid}" for pid in _pids_of_home(cluster.home)]
    admin, _ = _pg_admin()
    with admin, admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cluster.db_name])
        if cur.fetchone():
            left.append(f"database {cluster.db_name}")
    admin.close()
    return left


def _pids_of_home(home: Path) -> list[int]:
    """Processes whose environment carries AIRFLOW_HOME=home: this cluster's, and only descendants of this test."""
    marker = f"AIRFLOW_HOME={home}".encode() + b"\0"
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if marker in environ.read_bytes() and int(environ.parent.name) != os.getpid():
                pids.append(int(environ.parent.name))
    return pids


def _stop(processes: dict[str, subprocess.Popen], home: Path, grace: float = 20) -> None:
    """SIGTERM each process group, SIGKILL what is left after the grace period, then reap strays of this home."""
    for proc in processes.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # Task processes that left the worker's process group still carry this cluster's AIRFLOW_HOME.
    for pid in _pids_of_home(home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def cluster_env(
    home: Path, dags_folder: Path, sql_conn: str, broker: str, result_backend: str, api_port: int
) -> dict[str, str]:
    """The environment every component shares: the settings docker-compose.yaml gives its containers."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "HOTSPOTS_")) and k != "AIRFLOW_HOME"}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_conn,
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Quick to notice the DAG files, then leave them be: gentle on a small machine.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
    )
    return env


@contextlib.contextmanager
def airflow_cluster(
    tmp: Path,
    dags_folder: Path,
    env: dict[str, str] | None = None,
    pools: dict[str, int] | None = None,
    start_timeout: float = 120,
    workers: int = 1,
) -> Iterator[AirflowCluster]:
    """Bring the Celery topology up on a fresh database and Redis db; always bring it down and drop both. With
    ``workers`` > 1, that many Celery workers, each reporting its own hostname (worker-1, worker-2, ...)."""
    reason = services_missing()
    if reason:
        raise ClusterError(reason)
    home = tmp / "airflow"
    logs_dir = tmp / "logs"
    for folder in (home / "plugins", logs_dir):
        folder.mkdir(parents=True, exist_ok=True)
    admin, pg_user = _pg_admin()
    db_name = f"hotspots_it_{uuid.uuid4().hex[:12]}"
    redis_client, redis_db = _free_redis_db()
    api_port = free_port()
    cluster_vars = cluster_env(
        home,
        dags_folder,
        sql_conn=f"postgresql+psycopg2://{pg_user}@{PG_HOST}:{PG_PORT}/{db_name}",
        broker=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        result_backend=f"db+postgresql://{pg_user}@{PG_HOST}:{PG_PORT}/{db_name}",
        api_port=api_port,
    )
    cluster_vars.update(env or {})
    cluster = AirflowCluster(
        home=home, env=cluster_vars, api_url=f"http://127.0.0.1:{api_port}", logs_dir=logs_dir, db_name=db_name
    )
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db_name}"')
    try:
        setup_log = logs_dir / "setup.log"
        _airflow(["db", "migrate"], cluster_vars, setup_log, timeout=start_timeout)
        for pool, slots in (pools or {}).items():
            _airflow(
                ["pools", "set", pool, str(slots), "created by the integration harness"], cluster_vars, setup_log, 60
            )
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer"],
        }
        worker = ["celery", "worker", "--concurrency", cluster_vars["AIRFLOW__CELERY__WORKER_CONCURRENCY"]]
        envs = {name: cluster_vars for name in commands}
        if workers == 1:
            commands["celery-worker"], envs["celery-worker"] = worker, cluster_vars
        for name in [f"worker-{number}" for number in range(1, workers + 1)] if workers > 1 else []:
            commands[name] = [*worker, "--celery-hostname", f"{name}@%h"]
            envs[name] = cluster_vars | {
                "CLUSTER_WORKER_NAME": name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cluster_worker.hostname",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(HELPERS), cluster_vars.get("PYTHONPATH")])),
            }
        for name in commands:
            with (logs_dir / f"{name}.log").open("w") as out:
                cluster.processes[name] = subprocess.Popen(
                    [str(AIRFLOW), *commands[name]],
                    env=envs[name],
                    cwd=tmp,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        _wait_for_api(cluster, start_timeout)
        yield cluster
    finally:
        if cluster._client is not None:
            cluster._client.close()
        _stop(cluster.processes, home)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.close()
        redis_client.flushdb()
        redis_client.close()


def _wait_for_api(cluster: AirflowCluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{cluster.api_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                return
        time.sleep(1)
    raise ClusterError(f"api-server not healthy within {timeout:.0f} s\n{cluster.tails()}")
