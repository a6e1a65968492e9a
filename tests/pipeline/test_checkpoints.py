"""In-shift checkpoints and late files end to end on the generated sample, through `hotspots run`, a local Slack Web
API and a real SMTP server. Truth: the generator's visit schedule (truth/visits.csv) cut at each checkpoint.

- 3 May: the ping files land hour by hour; each checkpoint (18:00, 21:00, 23:00 local) loads only the files landed
  since the last one, and names exactly the hot spots not visited or under dose so far, in one message per
  checkpoint, once (a rerun sends nothing).
- 2 May: processed without one file; the file lands late; sweep_landing picks it up by itself, recomputes the day
  and sends one correction, on Slack (plus the edit of the original) and by email, once.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime, time

import pandas as pd
import pytest
from settings_env import use_only_env
from typer.testing import CliRunner
from warehouse_query import rows_of

from hotspots.cli import app

runner = CliRunner()
DAY = date(2024, 5, 3)  # checkpoints
LATE_DAY = date(2024, 5, 2)  # a file lands after the day was processed
CHECKPOINTS = (time(18, 0), time(21, 0), time(23, 0))
LONDON = "Europe/London"


def _run(*args: str) -> dict:
    result = runner.invoke(app, ["run", *args, "--json"])
    assert result.exit_code == 0, (args, result.output[-3000:])
    return json.loads(result.stdout[result.stdout.index('{\n  "dag_id"') :])


def _step(run: dict, task: str) -> list:
    return [s["result"] for s in run["steps"] if s["task"] == task]


def truth_so_far(sample, day: date, cut: time) -> dict[str, tuple[float, float]]:
    """Each hot spot's minutes in the patrol window (14:00-24:00) from the window's start to ``cut`` (local), from
    the visit schedule (the union over devices), with the measurement's tolerance (one ping interval per visit)."""
    visits = sample.truth("visits")
    start = pd.Timestamp(datetime.combine(day, time(14, 0)), tz=LONDON)
    end = pd.Timestamp(datetime.combine(day, cut), tz=LONDON)
    out = {}
    for code in sample.truth("hotspots")["area_code"]:
        rows = visits[visits["area_code"] == code]
        spans, tolerance = [], 0.0
        for r in rows.itertuples():
            lo, hi = max(pd.Timestamp(r.start_utc), start), min(pd.Timestamp(r.end_utc), end)
            if hi > lo:
                spans.append((lo, hi))
                tolerance += r.ping_interval_s / 60
        minutes, reach = 0.0, None
        for lo, hi in sorted(spans):
            if reach is not None and lo <= reach:
                if hi > reach:
                    minutes += (hi - reach).total_seconds() / 60
                    reach = hi
            else:
                minutes += (hi - lo).total_seconds() / 60
                reach = hi
        out[code] = (minutes, tolerance)
    return out


@pytest.fixture
def pipeline_env(sample, tmp_path, monkeypatch, slack_api, smtp_server):
    """A copy of the sample whose 3 May files are held back and whose 2 May misses one file; 1 and 2 May processed
    through `hotspots run` (the demo's plan); Slack and SMTP connections to the local servers."""
    from hotspots.demo import demo_plan
    from hotspots.settings import reload_settings

    data_dir = tmp_path / "data"
    shutil.copytree(sample.out_dir, data_dir)
    avl = data_dir / "landing" / sample.force / "avl"
    held = tmp_path / "held"
    shutil.move(avl / DAY.isoformat(), held / DAY.isoformat())
    late_file = _late_file(sample, avl / LATE_DAY.isoformat())
    shutil.move(late_file, held / late_file.name)
    use_only_env(monkeypatch, sample.settings_env | {"HOTSPOTS_DATA_DIR": str(data_dir)})
    slack = {"conn_type": "slack", "password": slack_api.token, "extra": {"base_url": slack_api.base_url}}
    smtp = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": smtp_server.port,
        "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 2},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(slack))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(smtp))
    settings = reload_settings()
    for spec in demo_plan(sample.crime_months, [date(2024, 5, 1), LATE_DAY], [date(2024, 5, 1), LATE_DAY]):
        args = [spec.dag_id]
        for option, value in spec.conf.items():
            args += [f"--{option}", ",".join(value) if isinstance(value, list) else value]
        _run(*args)
    (avl / DAY.isoformat()).mkdir()
    yield settings, avl, held, late_file
    reload_settings()


def _late_file(sample, folder):
    """The 2 May file holding the whole patrol-window visit of a hot spot that met its target only through it."""
    visits = sample.truth("visits")
    compliance = sample.truth("compliance")
    met = compliance[(compliance["date"] == LATE_DAY.isoformat()) & (compliance["status"] == "met")]["area_code"]
    for code in sorted(met):
        rows = visits[(visits["area_code"] == code) & (visits["local_date"] == LATE_DAY.isoformat())]
        hours = {pd.Timestamp(t).hour for t in pd.concat([rows["start_utc"], rows["end_utc"]])}
        if len(hours) == 1:
            return folder / f"pings-{hours.pop():02d}.csv"
    raise AssertionError("no hot spot patrolled within one hourly file on 2 May")


def _sections(message: dict) -> set[str]:
    return {b["block_id"] for b in message["blocks"] if b.get("type") == "section"}


def test_each_checkpoint_names_the_hot_spots_without_a_visit_or_under_dose(
    sample, pipeline_env, slack_api, smtp_server
):
    settings, avl, held, _ = pipeline_env
    slack_api.messages.clear()
    smtp_server.received.clear()
    landed: set[str] = set()
    for checkpoint in CHECKPOINTS:
        cut_utc = _utc_hour(DAY, checkpoint)
        arriving = sorted(p for p in (held / DAY.isoformat()).glob("pings-*.csv") if int(p.stem[-2:]) < cut_utc)
        for path in arriving:
            if path.name not in landed:
                shutil.copy2(path, avl / DAY.isoformat() / path.name)
        new = {p.name for p in arriving} - landed
        landed |= new
        tag = f"{checkpoint:%H:%M}"
        run = _run("intraday_check", "--day", DAY.isoformat(), "--at", tag)
        (result,) = _step(run, "check_no_visit_yet")
        # The micro-batch: only the files landed since the last checkpoint.
        assert sorted(os.path.basename(f) for f in result["files"]) == sorted(new), tag
        truth = truth_so_far(sample, DAY, checkpoint)
        due = {c for c, (m, tol) in truth.items() if m + tol < settings.target_minutes}
        done = {c for c, (m, tol) in truth.items() if m - tol >= settings.target_minutes}
        assert due and done, (tag, truth)  # each checkpoint has hot spots with and without their visit
        alerted = {k.split("|")[2] for k in result["alerts_raised"] if k.startswith("no_visit_yet|")}
        assert due <= alerted and not alerted & done, (tag, truth, alerted)
        assert all(k.endswith(f"|{tag}") for k in result["alerts_raised"] if k.startswith("no_visit_yet|"))
        figures = {
            code: json.loads(details)
            for code, details in rows_of(
                settings,
                "SELECT area_code, details FROM alerts WHERE rule = 'no_visit_yet' AND alert_key LIKE ?",
                [f"%|{tag}"],
            )
        }
        for code, details in figures.items():
            minutes, tolerance = truth[code]
            assert abs(details["delivered_minutes"] - minutes) <= tolerance + 0.1, (tag, code, details, truth[code])
            assert details["as_of"] == tag
        # One digest per checkpoint on Slack and by email, naming exactly its alerts.
        posted = [m for m in slack_api.delivered() if any(k.endswith(f"|{tag}") for k in _sections(m))]
        assert len(posted) == 1 and _sections(posted[0]) == set(result["alerts_raised"]) - {
            k for k in result["alerts_raised"] if k.startswith("feed_missing|")
        }
        mails = [m for _, m in smtp_server.received if f"as of {tag}" in m.get_body(("plain",)).get_content()]
        assert len(mails) == 1
        # The live page: as of this checkpoint, every hot spot, no device identity.
        page = (settings.reports_dir / sample.force / "today.html").read_text()
        assert f"As of the {tag} checkpoint" in page
        assert all(code in page for code in truth)
        devices = set(sample.truth("visits")["device_id"])
        assert not any(device in page for device in devices)
        # A rerun of the checkpoint loads nothing and sends nothing.
        before = (len(slack_api.delivered()), len(smtp_server.received))
        again = _run("intraday_check", "--day", DAY.isoformat(), "--at", tag)
        (rerun,) = _step(again, "check_no_visit_yet")
        assert rerun["files"] == [] and rerun["alerts_raised"] == []
        assert (len(slack_api.delivered()), len(smtp_server.received)) == before
    # No checkpoint closed the day: no day-close feed check, and the day is not evaluated before its end.
    assert not rows_of(settings, "SELECT 1 FROM alerts WHERE rule = 'feed_missing' AND alert_key LIKE '%no_files%'")
    assert not rows_of(settings, "SELECT 1 FROM daily_compliance WHERE date = ?", [DAY])


def _utc_hour(day: date, checkpoint: time) -> int:
    """The UTC hour of a local checkpoint (files are named by their UTC hour: pings-HH.csv)."""
    from zoneinfo import ZoneInfo

    moment = datetime.combine(day, checkpoint, tzinfo=ZoneInfo(LONDON)).astimezone(ZoneInfo("UTC"))
    return moment.hour + (24 if moment.date() > day else 0)


def test_a_late_file_is_swept_recomputed_and_corrected_once(sample, pipeline_env, slack_api, smtp_server):
    """2 May was processed without the file of a hot spot's only visit: under target on Slack and by email. The file
    lands late; sweep_landing finds it by itself, and one correction (withdrawn, target met) goes out once."""
    settings, avl, held, late_file = pipeline_env
    target = f"under_target|{sample.force}|"
    under = {k for (k,) in rows_of(settings, "SELECT alert_key FROM alerts WHERE date = ?", [LATE_DAY]) if target in k}
    first = {k for m in slack_api.delivered() for k in _sections(m)}
    assert under and under <= first  # the alerts went out before the file arrived
    mails_before, posts_before = len(smtp_server.received), len(slack_api.delivered())

    shutil.move(held / late_file.name, late_file)  # the late file lands in the processed day's folder
    sweep = _run("sweep_landing")
    (result,) = _step(sweep, "reload_late_files")
    assert result["late_days"] == [LATE_DAY.isoformat()]
    assert [os.path.basename(f) for f in result["files"]] == [late_file.name]  # only the late file is loaded
    corrections = [k for k in result["alerts_raised"] if k.startswith("correction|")]
    assert corrections

    # The day now equals the truth: the hot spot met its target.
    truth = sample.truth("compliance")
    truth = truth[truth["date"] == LATE_DAY.isoformat()].set_index("area_code")["status"].to_dict()
    got = dict(rows_of(settings, "SELECT area_code, status FROM daily_compliance WHERE date = ?", [LATE_DAY]))
    assert got == truth
    fixed = {k.split("|")[2] for k in corrections}
    assert fixed and all(truth[code] == "met" for code in fixed)

    # One follow-up message and one mail carry the corrections; the original Slack message is edited in place.
    posts = slack_api.delivered()[posts_before:]
    assert len(posts) == 1 and _sections(posts[0]) == set(corrections)
    assert "the earlier alert is withdrawn" in json.dumps(posts[0]["blocks"])
    assert any(m.get("edited") for m in slack_api.delivered()[:posts_before])
    mails = smtp_server.received[mails_before:]
    assert len(mails) == 1 and "Correction for 2024-05-02" in mails[0][1].get_body(("plain",)).get_content()

    again = _run("sweep_landing")
    assert _step(again, "reload_late_files")[0]["late_days"] == []
    assert len(slack_api.delivered()) == posts_before + 1 and len(smtp_server.received) == mails_before + 1
    assert rows_of(settings, "SELECT count(*) FROM alerts WHERE rule = 'correction' AND date = ?", [LATE_DAY])[0][
        0
    ] == len(corrections)


def test_the_dag_runs_at_every_checkpoint(monkeypatch):
    """The intraday_check DAG is scheduled at each of HOTSPOTS_CHECKPOINT_TIMES, local time, one run at a time."""
    from airflow.dag_processing.dagbag import DagBag

    from hotspots.settings import PROJECT_ROOT, reload_settings

    monkeypatch.setenv("HOTSPOTS_CHECKPOINT_TIMES", "21:00,18:00,23:30")
    reload_settings()
    try:
        dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "supervision.py")).dags["intraday_check"]
    finally:
        monkeypatch.delenv("HOTSPOTS_CHECKPOINT_TIMES")
        reload_settings()
    crons = [(t.expression, str(t.timezone)) for t in dag.timetable.timetables]
    assert crons == [("0 18 * * *", LONDON), ("0 21 * * *", LONDON), ("30 23 * * *", LONDON)]
    assert dag.max_active_runs == 1
