"""The generator's Operation Rowan sample (plan_k): the draw, contamination and the plan-mode truth."""

from __future__ import annotations

import hashlib
import random

import pytest

from hotspots.demo import SCENARIOS
from hotspots.generate import TARGET_MINUTES, generate_sample


@pytest.fixture(scope="module")
def rowan_sample(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("rowan-sample"), seed=7, **SCENARIOS["rowan"])


def test_truth_plan_draws_k_of_n_by_the_published_rule(rowan_sample):
    plan = rowan_sample.truth("plan")
    hotspots = sorted(rowan_sample.truth("hotspots")["area_code"])
    assert len(hotspots) == 21
    seed = SCENARIOS["rowan"]["plan_seed"]
    for day, group in plan.groupby("date"):
        assert sorted(group["area_code"]) == hotspots
        drawn = group[group["planned"]].sort_values("draw_order")["area_code"].tolist()
        assert len(drawn) == 7
        # docs/alerts.md: sha256("plan_seed|force|date"), first 63 bits, random.Random(...).sample(sorted codes, k)
        digest = hashlib.sha256(f"{seed}|{rowan_sample.force}|{day}".encode()).digest()
        assert drawn == random.Random(int.from_bytes(digest[:8], "big") >> 1).sample(hotspots, 7)
    # The weeks published ahead: from the list's first day (1 May, a Wednesday) to the Sunday after the last day.
    assert sorted(plan["date"].unique()) == [f"2024-05-{d:02d}" for d in range(1, 13)]
    alerts = rowan_sample.truth("alerts")
    weekly = alerts[alerts["rule"] == "weekly_plan"]
    for week, days in (("2024-04-29", range(1, 6)), ("2024-05-06", range(6, 13))):
        in_week = plan[plan["date"].isin([f"2024-05-{d:02d}" for d in days]) & plan["planned"]]
        assert set(weekly.loc[weekly["date"] == week, "area_code"]) == set(in_week["area_code"]), week
    assert set(weekly["date"]) == {"2024-04-29", "2024-05-06"}
    assert rowan_sample.settings_env["HOTSPOTS_PLAN_K"] == "7"


def test_same_seed_same_draw_other_seed_other_draw(rowan_sample, tmp_path):
    again = generate_sample(tmp_path / "again", seed=7, **SCENARIOS["rowan"])
    assert (again.truth_dir / "plan.csv").read_bytes() == (rowan_sample.truth_dir / "plan.csv").read_bytes()
    other = generate_sample(tmp_path / "other", seed=7, **(SCENARIOS["rowan"] | {"plan_seed": 1}))
    assert (other.truth_dir / "plan.csv").read_bytes() != (rowan_sample.truth_dir / "plan.csv").read_bytes()


def test_plan_mode_compliance_and_alerts_truth(rowan_sample):
    compliance = rowan_sample.truth("compliance")
    plan = rowan_sample.truth("plan").set_index(["area_code", "date"])["planned"]
    compliance["drawn"] = [plan[(r.area_code, r.date)] for r in compliance.itertuples()]
    assert (compliance["planned"] == compliance["drawn"]).all()
    unplanned = compliance[~compliance["planned"]]
    assert set(unplanned["status"]) == {"not_planned"} and (unplanned["target_minutes"] == 0).all()
    assert (unplanned["delivered_minutes"] > 0).any(), "some patrol on hot spots not drawn (contamination)"
    planned = compliance[compliance["planned"]]
    assert (planned["target_minutes"] == TARGET_MINUTES).all()
    assert {"met", "under", "none"} <= set(planned["status"])
    alerts = rowan_sample.truth("alerts")
    planned_keys = set(zip(planned["area_code"], planned["date"]))
    for rule in ("under_target", "recovered", "planned", "no_visit_yet"):
        keys = set(zip(alerts.loc[alerts["rule"] == rule, "area_code"], alerts.loc[alerts["rule"] == rule, "date"]))
        assert keys and keys <= planned_keys, rule
    under = planned[planned["status"].isin(["under", "none"])]
    assert set(zip(under["area_code"], under["date"])) == set(
        zip(
            alerts.loc[alerts["rule"] == "under_target", "area_code"],
            alerts.loc[alerts["rule"] == "under_target", "date"],
        )
    )


def test_contamination_alerts_truth(rowan_sample):
    compliance = rowan_sample.truth("compliance")
    alerts = rowan_sample.truth("alerts")
    stray = compliance[~compliance["planned"] & (compliance["delivered_minutes"] > 0)]
    got = alerts[alerts["rule"] == "contamination"]
    assert len(stray) and set(zip(got["area_code"], got["date"])) == set(zip(stray["area_code"], stray["date"]))
