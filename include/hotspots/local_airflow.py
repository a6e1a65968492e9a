"""Run the project's DAGs through real Airflow on a project-local SQLite metadata database.

The parent process prepares AIRFLOW_HOME, migrates the metadata database and creates the writer pool; a child
process (this module's __main__) imports Airflow once and runs a plan of DAG runs with dag.test(), in order.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotspots.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"


@dataclass(frozen=True)
class DagRunSpec:
    """One DAG run of a plan: the DAG, its params (day, month or dates) and a label for the log."""

    dag_id: str
    conf: dict[str, Any]
    logical_date: str

    def label(self) -> str:
        return f"{self.dag_id} {json.dumps(self.conf)}"


def airflow_env(airflow_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a local Airflow on SQLite with the project's DAGs and nothing else."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        }
    )
    env.update(extra or {})
    return env


def _airflow(args: list[str], env: dict[str, str]) -> None:
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"`airflow {' '.join(args)}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def prepare(airflow_home: Path, env: dict[str, str]) -> None:
    """Create or migrate the SQLite metadata database and the one-slot DuckDB writer pool."""
    from hotspots.settings import WRITER_POOL

    airflow_home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _airflow(["db", "migrate"], env)
    _airflow(["pools", "set", WRITER_POOL, "1", "DuckDB allows one writer: serialises warehouse writes"], env)
    log.info("Airflow metadata database ready in %.1f s (%s)", time.monotonic() - started, airflow_home)


def run_plan(
    plan: list[DagRunSpec], airflow_home: Path, env_extra: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Run the plan's DAG runs in a child process; raises with the failing run's log tail when one fails."""
    env = airflow_env(airflow_home, env_extra)
    prepare(airflow_home, env)
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = Path(tmp) / "plan.json"
        result_file = Path(tmp) / "result.json"
        plan_file.write_text(json.dumps([spec.__dict__ for spec in plan]))
        log_file = airflow_home / "last_plan.log"
        tail: list[str] = []
        with (
            log_file.open("w") as sink,
            subprocess.Popen(
                [sys.executable, "-m", "hotspots.local_airflow", str(plan_file), str(result_file)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ) as child,
        ):
            for line in child.stdout:
                sink.write(line)
                tail = (tail + [line.rstrip()])[-60:]
                if line.startswith("[hotspots]"):
                    log.info("%s", line[len("[hotspots] ") :].rstrip())
        results = json.loads(result_file.read_text()) if result_file.exists() else []
    failed = [r for r in results if r["state"] != "success"]
    if child.returncode != 0 or failed or len(results) != len(plan):
        raise RuntimeError(f"Airflow plan failed at {failed[:1] or 'start'}; full log: {log_file}\n" + "\n".join(tail))
    return results


def _child(plan_file: Path, result_file: Path) -> int:
    """Child process: import Airflow once, run each DAG with dag.test(), record each run's state."""
    from datetime import datetime

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        print(json.dumps(bag.import_errors, indent=2), file=sys.stderr)
        return 2
    results = []
    raw_plan = json.loads(plan_file.read_text())
    for raw in raw_plan:
        spec = DagRunSpec(**raw)
        started = time.monotonic()
        run = bag.dags[spec.dag_id].test(logical_date=datetime.fromisoformat(spec.logical_date), run_conf=spec.conf)
        state = str(getattr(run, "state", "unknown"))
        results.append({"run": spec.label(), "state": state, "seconds": round(time.monotonic() - started, 1)})
        print(
            f"[hotspots] {len(results)}/{len(raw_plan)} {spec.label()}: {state} in {results[-1]['seconds']} s",
            flush=True,
        )
        result_file.write_text(json.dumps(results))
        if state != "success":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1]), Path(sys.argv[2])))
