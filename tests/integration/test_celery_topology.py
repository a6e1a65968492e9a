"""Two forces through Airflow's distributed topology: api-server, scheduler, dag-processor, triggerer and a Celery
worker on PostgreSQL and Redis, driven only through the REST API, checked against the generator's ground truth;
then the national deployment: two workers writing the two forces at once into a DuckLake catalogued on that
PostgreSQL, its marts equal to a single writer's row for row."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from settings_env import settings_of

from hotspots.demo import avl_folder_days
from hotspots.generate import generate_sample
from hotspots.lake import marts_differences
from hotspots.settings import PROJECT_ROOT, Settings
from hotspots.warehouse import connect

from .airflow_cluster import PG_HOST, PG_PORT, _pg_admin, airflow_cluster, leftovers, services_missing

# Outer bound: the signal method raises inside the test, so the cluster's teardown still runs.
pytestmark = [pytest.mark.services, pytest.mark.timeout(900, method="signal")]

FORCES = ("alpha", "beta")
DAG_IDS = ("ingest_areas", "ingest_crime", "select_hotspots", "ingest_avl", "patrol_compliance")
WRITER_POOL = "duckdb_writer"
WATCHERS = {("patrol_compliance", "fail_run_if_delivery_failed")}  # fail the run when delivery failed
RUN_TIMEOUT = 300  # seconds per DAG run; generous because CI machines are shared
# Small on purpose: every ping file is validated by GX in its own task step; the full sample is test_end_to_end's.
SAMPLE = dict(n_areas=40, hotspot_count=5, crime_months=("2024-04",), avl_days=1, n_devices=6)


def _midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def run_waves(cluster, waves: list[tuple[str, list[tuple[dict, datetime]]]]) -> list[dict]:
    """Trigger each wave's runs together, wait for all of them, then start the next wave; return every run."""
    finished = []
    for dag_id, runs in waves:
        run_ids = [cluster.trigger(dag_id, conf=conf, logical_date=logical_date) for conf, logical_date in runs]
        finished += [cluster.wait_for_run(dag_id, run_id, RUN_TIMEOUT) for run_id in run_ids]
    return finished


@pytest.fixture(scope="module")
def services() -> None:
    """Skip, saying why, where PostgreSQL or Redis is not listening (.ci/run turns the skip into a failure)."""
    reason = services_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("celery") / "data"
    return {force: generate_sample(data_dir, seed=seed, force=force, **SAMPLE) for seed, force in enumerate(FORCES, 11)}


def _cluster_env(samples: dict, slack_api) -> dict[str, str]:
    alpha = samples["alpha"]
    # The test drives every run through the REST API: no cron or asset-triggered runs next to them.
    env = {**alpha.settings_env, "HOTSPOTS_FORCES": ",".join(FORCES), "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    env["AIRFLOW_CONN_SLACK_API_DEFAULT"] = json.dumps(
        {
            "conn_type": "slack",
            "password": slack_api.token,
            "extra": {"base_url": slack_api.base_url, "channel": "#hotspots"},
        }
    )
    assert all(
        samples[f].crime_months == alpha.crime_months and samples[f].avl_dates == alpha.avl_dates for f in FORCES
    )
    return env


def _waves(alpha) -> list[tuple[str, list[tuple[dict, datetime]]]]:
    """Pipeline order (as hotspots.demo.demo_plan); each wave's runs go together."""
    days = [d.isoformat() for d in avl_folder_days(alpha.landing_dir, "alpha")]
    dates = [d.isoformat() for d in alpha.avl_dates]
    return [
        ("ingest_areas", [({}, _midnight(f"{alpha.crime_months[0]}-01"))]),
        ("ingest_crime", [({"month": m}, _midnight(f"{m}-01")) for m in alpha.crime_months]),
        ("select_hotspots", [({}, _midnight(f"{alpha.crime_months[-1]}-28"))]),
        ("ingest_avl", [({"day": d}, _midnight(d)) for d in days]),
        ("patrol_compliance", [({"dates": dates}, _midnight(dates[-1]).replace(hour=6))]),
    ]


def test_two_forces_run_in_parallel_on_celery_and_match_the_truth(services, samples, slack_api, tmp_path):
    env = _cluster_env(samples, slack_api)
    waves = _waves(samples["alpha"])  # on the DuckDB file the one-slot pool serialises the writers
    with airflow_cluster(tmp_path, PROJECT_ROOT / "dags", env=env, pools={WRITER_POOL: 1}) as cluster:
        cluster.wait_for_dags(list(DAG_IDS))
        for dag_id in DAG_IDS:
            cluster.unpause(dag_id)
        runs = run_waves(cluster, waves)
        instances = cluster.api("GET", "/dags/~/dagRuns/~/taskInstances", params={"limit": 1000})["task_instances"]

    assert not leftovers(cluster), "the harness must stop every process it started and drop its database"
    assert [r["state"] for r in runs] == ["success"] * len(runs)
    assert {ti["dag_run_id"] for ti in instances} == {r["dag_run_id"] for r in runs}, "runs nobody triggered"
    assert all(r["triggered_by"] == "rest_api" for r in runs)
    _assert_forces_mapped_on_the_celery_worker(instances)
    _assert_writers_serialised(instances)
    _assert_published_after_delivery(instances)
    settings = settings_of(env)
    con = connect(settings.warehouse_path, read_only=True, settings=settings)
    try:
        for force in FORCES:
            _assert_force_matches_truth(con, settings, samples[force])
        _assert_alerts_delivered_to_slack(con, slack_api)
    finally:
        con.close()


def _assert_forces_mapped_on_the_celery_worker(instances: list[dict]) -> None:
    """Every writer task ran once per force (dynamic task mapping), on the Celery worker, successfully; the
    watchers, which run only when a task before them failed, were skipped."""
    watchers = [ti for ti in instances if (ti["dag_id"], ti["task_id"]) in WATCHERS]
    assert watchers and all(ti["state"] == "skipped" for ti in watchers), watchers
    instances = [ti for ti in instances if ti not in watchers]
    assert instances and all(ti["state"] == "success" for ti in instances), [
        (ti["dag_id"], ti["task_id"], ti["state"]) for ti in instances if ti["state"] != "success"
    ]
    for dag_id, task_id in (
        ("ingest_areas", "load_areas"),
        ("ingest_crime", "load_crime_months"),
        ("select_hotspots", "rank_and_select"),
        ("ingest_avl", "load_pings_and_patrol"),
        ("patrol_compliance", "evaluate_compliance"),
    ):
        mapped = [ti for ti in instances if (ti["dag_id"], ti["task_id"]) == (dag_id, task_id)]
        assert mapped, f"{dag_id}.{task_id} never ran"
        by_run: dict[str, set] = {}
        for ti in mapped:
            by_run.setdefault(ti["dag_run_id"], set()).add(ti["rendered_map_index"])
        assert all(indexes == set(FORCES) for indexes in by_run.values()), (dag_id, task_id, by_run)
    hosts = {ti["hostname"] for ti in instances}
    assert len(hosts) == 1 and all(hosts), f"expected one Celery worker host, got {hosts}"
    assert {ti["queue"] for ti in instances} == {"default"}


def _assert_writers_serialised(instances: list[dict]) -> None:
    """No two tasks in the one-slot duckdb_writer pool ever ran at the same time."""
    writers = sorted(
        (datetime.fromisoformat(ti["start_date"]), datetime.fromisoformat(ti["end_date"]), ti["dag_id"], ti["task_id"])
        for ti in instances
        if ti["pool"] == WRITER_POOL
    )
    assert len(writers) >= 10
    for (_, end, *first), (start, _, *second) in zip(writers, writers[1:]):
        assert start >= end, f"{first} and {second} wrote the warehouse at the same time"


def _assert_published_after_delivery(instances: list[dict]) -> None:
    """patrol_compliance writes the report and snapshot once delivery has ended (so they show how it went)."""
    tasks = {ti["task_id"]: ti for ti in instances if ti["dag_id"] == "patrol_compliance" and ti["map_index"] == -1}
    delivered = datetime.fromisoformat(tasks["deliver_alerts"]["end_date"])
    assert datetime.fromisoformat(tasks["publish_report_and_snapshot"]["start_date"]) >= delivered


def _assert_force_matches_truth(con, settings: Settings, sample) -> None:
    force = sample.force
    chosen = [
        a
        for (a,) in con.execute(
            "SELECT area_code FROM current_hotspots WHERE force = ? ORDER BY rank", [force]
        ).fetchall()
    ]
    assert chosen == sample.truth("hotspots").sort_values("rank")["area_code"].tolist(), force

    rows = con.execute(
        "SELECT area_code, date, patrol_minutes, window_minutes, visits, koper_visits, devices FROM "
        "daily_patrol WHERE force = ?",
        [force],
    ).fetchall()
    got = {(a, d.isoformat()): (p, w, v, k, n) for a, d, p, w, v, k, n in rows}
    truth = sample.truth("patrol")
    assert set(got) == {(r.area_code, str(r.date)) for r in truth.itertuples()}, force
    for r in truth.itertuples():
        p, w, v, k, n = got[(r.area_code, str(r.date))]
        assert abs(p - r.patrol_minutes) <= r.tolerance_minutes + 1e-9, (
            force,
            r.area_code,
            r.date,
            p,
            r.patrol_minutes,
        )
        assert abs(w - r.window_minutes) <= r.tolerance_minutes + 1e-9, (
            force,
            r.area_code,
            r.date,
            w,
            r.window_minutes,
        )
        assert (v, k, n) == (r.visits, r.koper_visits, r.devices), (force, r.area_code, r.date)

    statuses = {
        (a, d.isoformat()): s
        for a, d, s in con.execute(
            "SELECT area_code, date, status FROM daily_compliance WHERE force = ?", [force]
        ).fetchall()
    }
    assert statuses == {(r.area_code, str(r.date)): r.status for r in sample.truth("compliance").itertuples()}, force

    alerts = {
        (rule, a, d.isoformat())
        for rule, a, d in con.execute("SELECT rule, area_code, date FROM alerts WHERE force = ?", [force]).fetchall()
    }
    expected = {(r.rule, r.area_code, str(r.date)) for r in sample.truth("alerts").itertuples()}
    assert alerts == expected, force
    files = sorted((settings.outbox_dir / force).rglob("*.json"))
    assert len(files) == len(expected), force
    bodies = [json.loads(f.read_text()) for f in files]
    assert {(b["rule"], b["area_code"], b["date"]) for b in bodies} == expected, force


def _assert_alerts_delivered_to_slack(con, slack_api) -> None:
    """Every alert of both forces went out in a Slack digest posted by the worker, and nothing twice."""
    rows = con.execute("SELECT alert_key, slack_status, slack_ts FROM alerts").fetchall()
    delivered = slack_api.delivered()
    assert {status for _, status, _ in rows} == {"sent"}, rows
    assert {ts for _, _, ts in rows} == {m["ts"] for m in delivered}
    assert sum(m["metadata"]["event_payload"]["alerts"] for m in delivered) == len(rows)


@pytest.fixture
def lake_catalog():
    """A fresh PostgreSQL database for the DuckLake catalog (ducklake:postgres:...), dropped afterwards."""
    admin, user = _pg_admin()
    name = f"hotspots_lake_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres:dbname={name} host={PG_HOST} port={PG_PORT} user={user}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_two_workers_write_two_forces_at_once_into_a_postgres_lake(services, lake_catalog, slack_api, tmp_path):
    """The national topology: a DuckLake catalogued on PostgreSQL, two Celery workers of one slot each and a
    writer pool of four slots; the force's writer lock (not the pool) keeps one force's steps in series."""
    lake = _samples(tmp_path / "lake")
    env = _cluster_env(lake, slack_api) | {
        "HOTSPOTS_WAREHOUSE_CATALOG": "ducklake",
        "HOTSPOTS_LAKE_CATALOG": lake_catalog,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",  # overlapping writers must then be on different workers
    }
    with airflow_cluster(tmp_path, PROJECT_ROOT / "dags", env=env, pools={WRITER_POOL: 4}, workers=2) as cluster:
        cluster.wait_for_dags(list(DAG_IDS))
        for dag_id in DAG_IDS:
            cluster.unpause(dag_id)
        runs = run_waves(cluster, _waves(lake["alpha"]))
        instances = cluster.api("GET", "/dags/~/dagRuns/~/taskInstances", params={"limit": 1000})["task_instances"]
    assert not leftovers(cluster)
    assert [r["state"] for r in runs] == ["success"] * len(runs)
    _assert_forces_wrote_at_once(instances)

    settings = settings_of(env)
    reference = _single_writer_run(tmp_path / "single")
    con = connect(settings=settings)
    try:
        for force in FORCES:
            _assert_force_matches_truth(con, settings, lake[force])
        con.execute(f"ATTACH '{reference.warehouse_path}' AS single_writer (READ_ONLY)")
        differences = marts_differences(con, "single_writer", "lake")
        assert all(rows == 0 for pair in differences.values() for rows in pair), differences
        assert con.execute("SELECT count(*) FROM daily_patrol").fetchone()[0] > 0
    finally:
        con.close()


def _samples(folder) -> dict:
    return {
        force: generate_sample(folder / "data", seed=seed, force=force, **SAMPLE)
        for seed, force in enumerate(FORCES, 11)
    }


def _single_writer_run(folder) -> Settings:
    """The same inputs through `hotspots run` (hotspots.runner) into a DuckDB file: one writer, force by force."""
    from hotspots.runner import When, run_dag

    samples = _samples(folder)
    alpha = samples["alpha"]
    settings = settings_of(alpha.settings_env, forces=list(FORCES))
    forces = list(FORCES)
    run_dag("ingest_areas", settings=settings, forces=forces, when=When())
    for month in alpha.crime_months:
        run_dag("ingest_crime", settings=settings, forces=forces, when=When(month=month))
    run_dag("select_hotspots", settings=settings, forces=forces, when=When())
    for day in avl_folder_days(alpha.landing_dir, "alpha"):
        run_dag("ingest_avl", settings=settings, forces=forces, when=When(day=day))
    run_dag("patrol_compliance", settings=settings, forces=forces, when=When(dates=tuple(alpha.avl_dates)))
    return settings


def _assert_forces_wrote_at_once(instances: list[dict]) -> None:
    """Writer tasks of the two forces ran at the same time, on the two workers (one slot each)."""
    writers = [
        (
            datetime.fromisoformat(ti["start_date"]),
            datetime.fromisoformat(ti["end_date"]),
            ti["rendered_map_index"],
            ti["hostname"],
        )
        for ti in instances
        if ti["pool"] == WRITER_POOL and ti["map_index"] >= 0
    ]
    overlapping = [
        (a, b) for a in writers for b in writers if a[2] != b[2] and a[0] < b[1] and b[0] < a[1] and a[3] != b[3]
    ]
    assert overlapping, f"no two forces' writers overlapped on two workers: {sorted(writers)}"
    assert {w[3] for w in writers} == {"worker-1", "worker-2"}
