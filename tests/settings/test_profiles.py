"""Per-force profiles (docs/settings.md, Per-force profiles): a force's overrides checked by the typed settings,
and a bad profile stopped at start-up with one message naming the file, the force and the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.settings import DEPLOYMENT_WIDE, PROJECT_ROOT, ProfileError, Settings, get_settings


def write_profile(settings: Settings, force: str, text: str) -> Path:
    path = settings.profile_path(force)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def two_forces(settings, monkeypatch):
    """The test settings serving alpha and bravo (profiles in data_dir/forces)."""
    monkeypatch.setenv("HOTSPOTS_FORCES", "alpha,bravo")
    get_settings.cache_clear()
    yield Settings(data_dir=settings.data_dir, forces=["alpha", "bravo"])
    for path in (settings.data_dir / "forces").glob("*.toml"):  # the fixture's teardown reads them again
        path.unlink()
    get_settings.cache_clear()


def test_a_profile_overrides_only_its_force(two_forces):
    shared = two_forces
    write_profile(
        shared,
        "alpha",
        "hotspot_count = 7\nplan_k = 3\ntarget_minutes = 20\npatrol_window_start = 16:00:00\n"
        'patrol_window_end = "22:30"\ntimezone = "Europe/Helsinki"\nrouting_path = "alpha/routing.yaml"\n'
        'crime_types = ["Robbery"]\nmax_speed_kmh = "off"\n',
    )
    alpha, bravo = shared.for_force("alpha"), shared.for_force("bravo")
    assert (alpha.hotspot_count, alpha.plan_k, alpha.target_minutes) == (7, 3, 20.0)
    assert (alpha.patrol_window_start, alpha.patrol_window_end) == (time(16, 0), time(22, 30))
    assert alpha.timezone == "Europe/Helsinki" and alpha.crime_types == ["Robbery"] and alpha.max_speed_kmh is None
    assert alpha.routing_path == shared.data_dir / "forces" / "alpha" / "routing.yaml"  # relative to the profile
    assert alpha.warehouse_path == shared.warehouse_path and alpha.forces == shared.forces
    assert bravo is shared  # no profile: the shared settings themselves
    assert (shared.hotspot_count, shared.plan_k, shared.timezone) == (21, None, "Europe/London")  # untouched
    assert alpha.for_force("alpha") is alpha  # applied once
    assert alpha.for_force("bravo") is shared  # never one force's overrides under another's
    write_profile(shared, "bravo", "target_minutes = 5\n")
    assert (alpha.for_force("bravo").target_minutes, alpha.for_force("bravo").hotspot_count) == (5.0, 21)


def test_every_setting_but_the_deployment_wide_ones_may_be_set_per_force(two_forces):
    """No second list of fields: each field outside DEPLOYMENT_WIDE is accepted in a profile, each inside refused."""
    assert DEPLOYMENT_WIDE <= set(Settings.model_fields), "DEPLOYMENT_WIDE names a setting that does not exist"
    per_force = [name for name in Settings.model_fields if name not in DEPLOYMENT_WIDE]
    assert {"hotspot_count", "target_minutes", "patrol_window_start", "plan_k", "timezone", "routing_path"} <= set(
        per_force
    )
    values = {name: _env_spelling(getattr(two_forces, name)) for name in per_force}
    written = {name: value for name, value in values.items() if value is not None}
    assert len(written) > len(per_force) // 2
    write_profile(two_forces, "alpha", "".join(f'{name} = "{value}"\n' for name, value in written.items()))
    assert two_forces.for_force("alpha").model_dump() == two_forces.model_dump()
    for name in sorted(DEPLOYMENT_WIDE):
        write_profile(two_forces, "alpha", f'{name} = "x"\n')
        with pytest.raises(ProfileError, match=f"force 'alpha', key '{name}': one value for the whole deployment"):
            two_forces.for_force("alpha")


def _env_spelling(value: object) -> str | None:
    """A value as the environment would spell it (a string in the profile); None for unset or other types."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value) if isinstance(value, (int, float, str)) else None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hotspot_cont = 10\n", "force 'bravo', key 'hotspot_cont': not a setting (did you mean 'hotspot_count'?)"),
        ('target_minutes = "fifteen"\n', "force 'bravo', key 'target_minutes' = 'fifteen': Input should be a valid"),
        ("plan_k = 0\n", "force 'bravo', key 'plan_k' = 0: Input should be greater than or equal to 1"),
        ('timezone = "Europe/Lundon"\n', "force 'bravo', key 'timezone' = 'Europe/Lundon': Value error, 'Europe/Lun"),
        ('budget_mode = "all"\n', "force 'bravo', key 'budget_mode' = 'all': Input should be 'top'"),
        ('data_dir = "/elsewhere"\n', "force 'bravo', key 'data_dir': one value for the whole deployment"),
        ("plan_k = \n", "the profile of force 'bravo' is not valid TOML"),
    ],
)
def test_a_bad_profile_names_the_file_the_force_and_the_key(two_forces, text, message):
    path = write_profile(two_forces, "bravo", text)
    with pytest.raises(ProfileError) as raised:
        two_forces.for_force("bravo")
    assert str(raised.value).startswith(f"{path}: "), raised.value
    assert message in str(raised.value), raised.value


def test_start_up_checks_every_served_force_and_every_profile(two_forces):
    write_profile(two_forces, "bravo", 'buffer_m = "wide"\n')
    with pytest.raises(ProfileError, match="force 'bravo', key 'buffer_m'"):
        get_settings()
    write_profile(two_forces, "bravo", "buffer_m = 50\n")
    write_profile(two_forces, "charlie", "buffer_m = 50\n")
    get_settings.cache_clear()
    with pytest.raises(ProfileError, match="profile of force 'charlie', which is not in HOTSPOTS_FORCES"):
        get_settings()
    (two_forces.data_dir / "forces" / "charlie.toml").unlink()
    get_settings.cache_clear()
    assert get_settings().for_force("bravo").buffer_m == 50.0
    with pytest.raises(ProfileError, match="HOTSPOTS_PROFILES_DIR=.*no such folder"):
        Settings(data_dir=two_forces.data_dir, profiles_dir=two_forces.data_dir / "profiles").check_profiles()


def test_cli_prints_one_message_and_exits_2(two_forces):
    path = write_profile(two_forces, "bravo", 'hotspot_count = "many"\n')
    result = CliRunner().invoke(app, ["run", "select_hotspots"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: {path}: force 'bravo', key 'hotspot_count' = 'many': Input should be a valid integer, unable to "
        "parse string as an integer. Fix the profile (docs/settings.md, Per-force profiles)."
    ]


def test_dag_parse_fails_with_the_message(two_forces):
    """A DAG file that reads the settings at parse shows the profile error as its import error."""
    write_profile(two_forces, "alpha", "hotspot_count = -1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")} | {
        "HOTSPOTS_DATA_DIR": str(two_forces.data_dir),
        "HOTSPOTS_FORCES": "alpha,bravo",
    }
    done = subprocess.run(
        [sys.executable, "-c", f"import runpy; runpy.run_path({str(PROJECT_ROOT / 'dags' / 'supervision.py')!r})"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert "hotspots.settings.ProfileError" in done.stderr
    assert "force 'alpha', key 'hotspot_count' = -1: Input should be greater than or equal to 1" in done.stderr


def test_settings_command_shows_a_force_on_its_profile(two_forces):
    write_profile(two_forces, "bravo", 'hotspot_count = 8\ntimezone = "Pacific/Honolulu"\n')
    shown = json.loads(CliRunner().invoke(app, ["settings", "--force", "bravo"]).stdout)
    assert (shown["hotspot_count"], shown["timezone"]) == (8, "Pacific/Honolulu")
    assert json.loads(CliRunner().invoke(app, ["settings"]).stdout)["hotspot_count"] == 21
    result = CliRunner().invoke(app, ["settings", "--force", "charlie"])
    assert result.exit_code == 2 and "'charlie' is not in HOTSPOTS_FORCES (alpha, bravo)" in result.output


def test_a_scheduled_run_gives_each_force_its_own_local_day(two_forces, monkeypatch):
    """The daily_plan run of 08:00 London is 21:00 the day before in Honolulu: each force's task takes its own."""
    import airflow.sdk

    from hotspots.dag_support import local_now

    write_profile(two_forces, "bravo", 'timezone = "Pacific/Honolulu"\n')
    run_at = datetime(2024, 5, 2, 7, 0, tzinfo=timezone.utc)  # 08:00 BST
    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: {"logical_date": run_at})
    assert local_now("alpha").date() == date(2024, 5, 2) and local_now("alpha").hour == 8
    assert local_now("bravo").date() == date(2024, 5, 1) and local_now("bravo").hour == 21


def test_a_command_on_files_for_one_force_runs_on_its_profile_and_its_options_win(two_forces):
    from contextlib import ExitStack

    from hotspots.commands.inputs import scratch_settings

    write_profile(two_forces, "bravo", "hotspot_count = 8\nlookback_months = 24\n")
    with ExitStack() as stack:
        scratch = scratch_settings(stack, {"lookback_months": 6}, prefix="hotspots-test-", force="bravo")
        assert (scratch.hotspot_count, scratch.lookback_months) == (8, 6)
        assert scratch_settings(stack, {}, prefix="hotspots-test-").hotspot_count == 21
