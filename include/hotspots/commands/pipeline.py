"""generate, demo, airflow-env and airflow-password: the sample data and the main job on the embedded default."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add generate, demo, airflow-env, airflow-password and settings to the `hotspots` app."""
    _register_settings(app)

    @app.command()
    def generate(
        out: Path = typer.Option(..., "--out", help="Folder to write landing/ and truth/ into."),
        seed: int = typer.Option(7, help="Random seed: the same seed gives byte-identical files."),
        force: str = typer.Option("synthetic", help="Force slug used in file names and the warehouse."),
        scale: int = typer.Option(
            1,
            min=1,
            help="Volume: each step above 1 adds 14,400 rows to every crime file and hourly ping file "
            "(10: over 122,880 rows, several DuckDB row groups); the truth is unchanged.",
        ),
    ) -> None:
        """Generate a synthetic county: areas, crime CSVs, GPS pings and the ground truth."""
        from hotspots.generate import generate_sample

        sample = generate_sample(out, seed=seed, force=force, scale=scale)
        typer.echo(f"landing: {sample.landing_dir}\ntruth:   {sample.truth_dir}")
        typer.echo("settings to run the pipeline on it:")
        for key, value in sample.settings_env.items():
            typer.echo(f"  export {key}={shlex.quote(value)}")

    @app.command()
    def demo(
        data_dir: Path = typer.Option(
            Path("var/demo"), help="Where the sample, warehouse, outbox and Airflow home go."
        ),
        fresh: bool = typer.Option(False, help="Delete data_dir first."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
        scenario: str = typer.Option(
            "default",
            help="default: 10 hot spots, all targeted daily; rowan: Operation Rowan, 21 hot spots, 7 drawn a day "
            "(daily_plan and intraday_check run too).",
        ),
    ) -> None:
        """The main job: generate the sample and run every DAG end to end through real Airflow (SQLite)."""
        from hotspots.demo import SCENARIOS, run_demo

        if scenario not in SCENARIOS:
            raise typer.BadParameter(f"choose one of {', '.join(SCENARIOS)}", param_hint="--scenario")
        result = run_demo(data_dir, fresh=fresh, scenario=scenario)
        summary = result.summary
        if as_json:
            typer.echo(json.dumps({"runs": result.runs, **summary}, indent=2, default=str))
            return
        typer.echo(f"\nAirflow runs: {len(result.runs)} succeeded (AIRFLOW_HOME={result.airflow_home})")
        typer.echo(f"Hot spots ({summary['force']}, {len(summary['hotspots'])}): {', '.join(summary['hotspots'])}")
        typer.echo(f"\nPatrol on {summary['last_day']} (minutes in the patrol window against target):")
        for row in summary["last_day_compliance"]:
            typer.echo(
                f"  {row['area_code']:<12} {row['delivered_minutes']:>6.1f} / {row['target_minutes']:<5g} "
                f"{row['status']:<6} days without patrol: {row['days_without_patrol']}"
            )
        if summary["last_day_planned"]:
            typer.echo(f"Drawn for patrol on {summary['last_day']}: {', '.join(summary['last_day_planned'])}")
        alerts = ", ".join(f"{rule}: {n}" for rule, n in summary["alerts_by_rule"].items()) or "none"
        typer.echo(f"\nAlerts raised: {alerts}")
        for key in ("warehouse", "snapshot", "outbox", "reports"):
            typer.echo(f"{key + ':':<10} {summary[key]}")

    @app.command("airflow-env")
    def airflow_env_cmd(
        data_dir: Path = typer.Option(Path("var/demo"), help="The demo's data folder."),
    ) -> None:
        """Print the environment (export lines) for running Airflow on the demo's SQLite database and data."""
        from hotspots.local_airflow import airflow_env

        data_dir = data_dir.resolve()
        env_file = data_dir / "hotspots.env"
        if not env_file.exists():
            raise typer.BadParameter(f"{env_file} not found: run `hotspots demo --data-dir {data_dir}` first.")
        settings_env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
        env = airflow_env(data_dir / "airflow", settings_env)
        for key in sorted(env):
            if key.startswith(("AIRFLOW", "HOTSPOTS_")) or key == "PATH":
                typer.echo(f"export {key}={shlex.quote(env[key])}")

    @app.command("airflow-password")
    def airflow_password_cmd(
        data_dir: Path = typer.Option(Path("var/demo"), help="The demo's data folder (AIRFLOW_HOME is its airflow/)."),
        user: str = typer.Option("admin", help="The Simple auth manager user."),
    ) -> None:
        """Print the password `airflow standalone` generated for the local UI (Simple auth manager)."""
        from hotspots.cli import UserError
        from hotspots.local_airflow import admin_passwords

        passwords = admin_passwords(data_dir.resolve() / "airflow")
        if user not in passwords:
            raise UserError(f"no password for user {user!r}; users with one: {', '.join(sorted(passwords))}")
        typer.echo(passwords[user])


def _register_settings(app: typer.Typer) -> None:
    @app.command("settings")
    def settings_cmd(
        markdown: bool = typer.Option(False, "--markdown", help="Print the settings reference (docs/settings.md)."),
        force: str | None = typer.Option(
            None, "--force", help="The settings one force runs on: the shared ones with its profile."
        ),
    ) -> None:
        """Print the settings in effect (secrets hidden; every force's profile checked), or the settings reference
        as Markdown."""
        from hotspots.settings import get_settings, settings_markdown

        if markdown:
            typer.echo(settings_markdown(), nl=False)
            return
        settings = get_settings()
        if force is not None and force not in settings.forces:
            raise typer.BadParameter(
                f"{force!r} is not in HOTSPOTS_FORCES ({', '.join(settings.forces)}).", param_hint="--force"
            )
        typer.echo((settings.for_force(force) if force else settings).model_dump_json(indent=2))
