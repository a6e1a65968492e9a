"""The main job on the embedded default: generate the sample, run every DAG through real Airflow, summarise."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotspots.local_airflow import DagRunSpec, run_plan
from hotspots.warehouse import on_lake

log = logging.getLogger(__name__)

# Scenario -> generate_sample arguments. rowan: Operation Rowan (DOMAIN.md), 21 hot spots, 7 drawn a day for one
# 15-minute patrol in 14:00-24:00 (the settings' default target and window).
SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {},
    "rowan": {"hotspot_count": 21, "plan_k": 7, "plan_seed": 2021, "n_devices": 16},
}
PLAN_HOUR = time(8, 0)  # daily_plan's schedule (dags/supervision.py)


@dataclass
class DemoResult:
    data_dir: Path
    airflow_home: Path
    runs: list[dict[str, Any]]
    summary: dict[str, Any]
    sample: Any


def _utc(day: date, at: time, tz: str) -> str:
    return datetime.combine(day, at, ZoneInfo(tz)).astimezone(timezone.utc).isoformat()


def demo_plan(
    crime_months: list[str],
    avl_days: list[date],
    patrol_dates: list[date],
    *,
    plan_mode: bool = False,
    tz: str = "Europe/London",
    intraday_at: time = time(20, 0),
    publish_weekday: str = "fri",
    publish_at: time = time(12, 0),
) -> list[DagRunSpec]:
    """DAG runs in pipeline order; each daily AVL load is followed by compliance for the days it completed.

    In plan mode each patrol day d first runs daily_plan (08:00 local) and intraday_check (intraday_at local), as
    the supervisors' day has them, before d's pings are loaded by ingest_avl; weekly_plan runs on each
    publish_weekday before a week with patrol days (right after the selection when that day comes before them)."""
    from hotspots.schedule import WEEKDAYS

    plan = [DagRunSpec("ingest_areas", {}, f"{crime_months[0]}-01T00:00:00+00:00")]
    plan += [DagRunSpec("ingest_crime", {"month": m}, f"{m}-01T00:00:00+00:00") for m in crime_months]
    plan.append(DagRunSpec("select_hotspots", {}, f"{crime_months[-1]}-28T00:00:00+00:00"))
    wanted = set(patrol_dates)
    back = 7 - WEEKDAYS.index(publish_weekday)  # days from the publication to the Monday it covers
    publish_days = sorted({d - timedelta(days=d.weekday() + back) for d in patrol_dates}) if plan_mode else []
    plan += [DagRunSpec("weekly_plan", {}, _utc(d, publish_at, tz)) for d in publish_days if d not in wanted]
    for day in avl_days:
        if plan_mode and day in wanted:
            plan.append(DagRunSpec("daily_plan", {}, _utc(day, PLAN_HOUR, tz)))
            if day in publish_days:
                plan.append(DagRunSpec("weekly_plan", {}, _utc(day, publish_at, tz)))
            plan.append(DagRunSpec("intraday_check", {}, _utc(day, intraday_at, tz)))
        plan.append(DagRunSpec("ingest_avl", {"day": day.isoformat()}, f"{day.isoformat()}T00:00:00+00:00"))
        # Europe/London is never behind UTC, so after UTC day d is loaded every local day up to d is complete.
        if day in wanted:
            plan.append(
                DagRunSpec("patrol_compliance", {"dates": [day.isoformat()]}, f"{day.isoformat()}T06:00:00+00:00")
            )
    return plan


def avl_folder_days(landing_dir: Path, force: str) -> list[date]:
    """The UTC day folders of landed pings, in order."""
    return sorted(date.fromisoformat(p.name) for p in (landing_dir / force / "avl").iterdir() if p.is_dir())


def run_demo(data_dir: Path, *, fresh: bool = False, seed: int = 7, scenario: str = "default") -> DemoResult:
    """Generate the sample of the scenario (SCENARIOS) into data_dir, run all DAGs for its dates, and return the
    summary."""
    from hotspots.generate import generate_sample

    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    data_dir = data_dir.resolve()
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    sample = generate_sample(data_dir, seed=seed, **SCENARIOS[scenario])
    (data_dir / "hotspots.env").write_text("".join(f"{k}={v}\n" for k, v in sample.settings_env.items()))
    airflow_home = data_dir / "airflow"
    plan = demo_plan(
        sample.crime_months,
        avl_folder_days(sample.landing_dir, sample.force),
        sample.avl_dates,
        plan_mode="HOTSPOTS_PLAN_K" in sample.settings_env,
    )
    log.info("Running %d DAG runs through Airflow (AIRFLOW_HOME=%s)", len(plan), airflow_home)
    runs = run_plan(plan, airflow_home, sample.settings_env)
    return DemoResult(data_dir, airflow_home, runs, summarise(sample.settings_env, sample.force), sample)


def summarise(settings_env: dict[str, str], force: str) -> dict[str, Any]:
    """Hot spots chosen, the last day's minutes against target, alerts raised, and where things are."""
    from hotspots.settings import Settings
    from hotspots.warehouse import open_snapshot

    settings = Settings(**{k.removeprefix("HOTSPOTS_").lower(): v for k, v in settings_env.items()})
    with open_snapshot(settings) as con:
        hotspots = [
            r[0]
            for r in con.execute(
                "SELECT area_code FROM current_hotspots WHERE force = ? ORDER BY rank", [force]
            ).fetchall()
        ]
        last_day = con.execute("SELECT max(date) FROM daily_compliance WHERE force = ?", [force]).fetchone()[0]
        compliance = con.execute(
            "SELECT area_code, delivered_minutes, target_minutes, status, days_without_patrol FROM daily_compliance "
            "WHERE force = ? AND date = ? ORDER BY area_code",
            [force, last_day],
        ).fetchall()
        alerts = con.execute(
            "SELECT rule, count(*) FROM alerts WHERE force = ? GROUP BY rule ORDER BY rule", [force]
        ).fetchall()
        planned = [
            r[0]
            for r in con.execute(
                "SELECT area_code FROM daily_plan WHERE force = ? AND date = ? AND planned ORDER BY draw_order",
                [force, last_day],
            ).fetchall()
        ]
    return {
        "force": force,
        "hotspots": hotspots,
        "last_day": last_day.isoformat() if last_day else None,
        "last_day_compliance": [
            {
                "area_code": a,
                "delivered_minutes": round(m, 1),
                "target_minutes": t,
                "status": s,
                "days_without_patrol": d,
            }
            for a, m, t, s, d in compliance
        ],
        "alerts_by_rule": dict(alerts),
        "last_day_planned": planned,
        "warehouse": f"ducklake:{settings.lake_catalog}" if on_lake(settings) else str(settings.warehouse_path),
        "snapshot": "read in place (hotspots query)" if on_lake(settings) else str(settings.snapshot_path),
        "outbox": str(settings.outbox_dir),
        "reports": str(settings.reports_dir),
    }
