"""The one typed settings object: every knob the pipeline reads, from HOTSPOTS_* environment variables.

Defaults cite their source (see ../shared/DOMAIN.md and docs/settings.md). Paths left unset derive from
``data_dir`` so that one variable moves a whole deployment.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Every task that writes the warehouse runs in this Airflow pool: one slot on a DuckDB file (one writer), as many
# slots as workers on a DuckLake (a force's own writers are serialised by hotspots.warehouse.writer_lock).
WRITER_POOL = "duckdb_writer"

VIOLENCE_TYPES = ("Violence and sexual offences", "Robbery", "Possession of weapons")


# The one rule of what a force's profile may set: every setting except these, which hold one value for the whole
# deployment (where things live and which forces, the Airflow connections and the schedules the DAG files read at
# parse, the one delivery task and its sender, the pseudonym key, the warehouse's one harm_weights table, the
# machine's resources). docs/settings.md, Per-force profiles.
DEPLOYMENT_WIDE = frozenset(
    {
        "data_dir",
        "warehouse_path",
        "snapshot_path",
        "landing_dir",
        "raw_dir",
        "outbox_dir",
        "reports_dir",
        "sql_dir",
        "spatial_extension_path",
        "warehouse_catalog",
        "lake_catalog",
        "lake_data_path",
        "lake_s3_conn_id",
        "lake_commit_retries",
        "lock_dir",
        "export_log_path",
        "profiles_dir",
        "forces",
        "slack_conn_id",
        "smtp_conn_id",
        "alert_max_attempts",
        "report_base_url",
        "failure_email",
        "alert_email_from",
        "cchi_weights_path",
        "css_weights_path",
        "checkpoint_times",
        "plan_publish_weekday",
        "plan_publish_time",
        "pseudonym_key",
        "tracks_readers",
        "avl_memory_limit",
        "evaluation_workers",
    }
)

PROFILE_SUFFIX = ".toml"


class ProfileError(ValueError):
    """A force's profile cannot be used: the message names the file, the force and the key, and the fix."""


def _csv_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Pipeline settings. Environment variable = HOTSPOTS_ + field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="HOTSPOTS_", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(PROJECT_ROOT / "var", description="Root of landing/, raw/, warehouse/ and outbox/.")
    warehouse_path: Path | None = Field(
        None, description="DuckDB warehouse file (default data_dir/warehouse/hotspots.duckdb)."
    )
    snapshot_path: Path | None = Field(
        None,
        description="Read-only analyst snapshot, published after each successful run (default next to the warehouse).",
    )
    landing_dir: Path | None = Field(None, description="Where files arrive (default data_dir/landing).")
    raw_dir: Path | None = Field(None, description="Immutable copies of accepted inputs (default data_dir/raw).")
    outbox_dir: Path | None = Field(None, description="One JSON file per alert (default data_dir/outbox).")
    reports_dir: Path | None = Field(None, description="Daily HTML reports and plots (default data_dir/reports).")
    sql_dir: Path = Field(PROJECT_ROOT / "sql", description="The sql/ folder with staging and mart models.")
    spatial_extension_path: Path | None = Field(
        None, description="spatial.duckdb_extension file; default: the one in the duckdb-extension-spatial wheel."
    )
    profiles_dir: Path | None = Field(
        None,
        description="Folder of the per-force profiles, <force>.toml each holding only that force's overrides "
        "(default data_dir/forces; docs/settings.md, Per-force profiles).",
    )

    warehouse_catalog: Literal["duckdb", "ducklake"] = Field(
        "duckdb",
        description=(
            "Where the warehouse lives: duckdb (one file, warehouse_path, one writer) or ducklake (catalog in "
            "lake_catalog, data in lake_data_path as Parquet, writers of different forces in parallel); "
            "docs/operations.md#national-deployment."
        ),
    )
    lake_catalog: str | None = Field(
        None,
        description=(
            "DuckLake catalog: a DuckDB catalog file path or postgres:dbname=... host=... user=... "
            "(default data_dir/warehouse/catalog.ducklake)."
        ),
    )
    lake_data_path: str | None = Field(
        None, description="DuckLake data files: a folder or s3://bucket/prefix/ (default data_dir/warehouse/lake/)."
    )
    lake_s3_conn_id: str = Field(
        "hotspots_lake_s3",
        description="Airflow connection (type aws: login key id, password secret, extra endpoint_url/region_name) "
        "for an s3:// lake_data_path.",
    )
    lake_commit_retries: int = Field(
        100,
        ge=0,
        description="DuckLake commit retries per transaction (ducklake_max_retry_count; DuckLake's default of 10 "
        "runs out with several writers, ducklake#233).",
    )
    lock_dir: Path | None = Field(
        None,
        description="Folder of the per-force writer lock files (default data_dir/locks; a PostgreSQL catalog uses "
        "advisory locks on its server instead).",
    )

    # --- forces and areas --------------------------------------------------------------------
    forces: Annotated[list[str], NoDecode] = Field(
        ["synthetic"], description="Comma-separated force slugs (as in data.police.uk file names); DAGs map over them."
    )
    areas_path: Path | None = Field(
        None, description="Area boundary file; default: the newest file in landing/<force>/areas/."
    )
    area_code_field: str | None = Field(
        None, description="Area code property; default: detected (LSOA21CD, LSOA11CD, code)."
    )
    area_name_field: str | None = Field(
        None, description="Area name property; default: detected (LSOA21NM, LSOA11NM, name)."
    )
    source_crs: str | None = Field(None, description="CRS of the area file when it does not say (e.g. EPSG:27700).")
    area_unit: Literal["lsoa", "grid"] = Field(
        "lsoa",
        description="The areas selection, patrol and compliance run on: lsoa = the polygons of the area file as they "
        "are (LSOAs or a force's own); grid = square cells of grid_cell_m over the area file's outline (the force "
        "boundary, or the union of its polygons), made by ingest_areas.",
    )
    grid_cell_m: float = Field(
        150.0,
        gt=0,
        description="Side of a grid cell in metres when area_unit=grid (150 m squares are common in UK hot-spot "
        "trials: a street segment or two, small enough for one patrol to cover).",
    )

    # --- harm and selection ------------------------------------------------------------------
    crime_types: Annotated[list[str], NoDecode] = Field(
        list(VIOLENCE_TYPES), description="Crime types counted for selection (DOMAIN.md: serious violence)."
    )
    crime_source: Literal["auto", "police_uk", "force_records"] = Field(
        "auto",
        description="The one crime source counted per force (view counted_crimes): police_uk (street files or the "
        "API), force_records (its own RMS extract), or auto = its own records when any are loaded, else police_uk. "
        "A crime is never counted from two sources.",
    )
    harm_weights: Literal["cchi", "count", "sqrt", "css"] = Field(
        "cchi",
        description="Weighting: Cambridge Crime Harm Index, plain count, sqrt(CCHI) or the ONS Crime Severity Score.",
    )
    cchi_weights_path: Path | None = Field(
        None,
        description="A force's own CCHI weights CSV (crime_type or offence_code, weight, proactive, source); replaces "
        "the package's file of that key type (include/hotspots/data/).",
    )
    css_weights_path: Path | None = Field(
        None,
        description="A force's own Crime Severity Score weights CSV (same columns); replaces the package's "
        "css_categories.csv or css_offence_codes.csv (docs/targeting.md).",
    )
    exclude_proactive: bool = Field(
        False, description="Exclude offences found by proactive policing (drugs, weapons possession) from targeting."
    )
    lookback_months: int = Field(
        12, ge=1, description="Months of crime counted for selection (DOMAIN.md: 1-3 years typical)."
    )
    hotspot_count: int = Field(21, ge=1, description="Fixed budget: number of hot spots (Operation Rowan: 21 LSOAs).")
    min_events: int = Field(
        2, ge=0, description="Minimum events for an area to be selectable (guards against one severe event)."
    )
    consistency_years_k: int = Field(
        0,
        ge=0,
        description=(
            "Consistency rule: an area must have harm in at least k of the last n years; 0 = off "
            "(DOMAIN.md pitfall guard)."
        ),
    )
    consistency_years_n: int = Field(
        3,
        ge=1,
        description=(
            "Consistency rule: years looked at, ending with the last month counted (DOMAIN.md: 1-3 years typical)."
        ),
    )
    budget_mode: Literal["top", "area_share", "harm_share"] = Field(
        "top",
        description=(
            "Budget: top = hotspot_count areas; area_share = that share of all areas; harm_share = "
            "fewest areas reaching that share of harm."
        ),
    )
    area_share: float = Field(
        0.08,
        gt=0,
        le=1,
        description="Share of areas selected when budget_mode=area_share (Bedfordshire: 28 of 352 LSOAs, under 8%).",
    )
    harm_share: float = Field(
        0.41,
        gt=0,
        le=1,
        description=(
            "Share of harm the fewest areas must reach when budget_mode=harm_share (Bedfordshire: up to 41% of harm)."
        ),
    )

    # --- back-test mart (docs/targeting.md) ---------------------------------------------------------
    backtest_train_months: int | None = Field(
        24,
        ge=1,
        description="The select_hotspots step back-tests the rule into backtest_scores: training months per window "
        "(empty: no back-test).",
    )
    backtest_test_months: int = Field(12, ge=1, description="Back-test: test months after each training window.")
    backtest_step_months: int = Field(12, ge=1, description="Back-test: months between successive windows.")

    # --- persistence classes (docs/targeting.md) ---------------------------------------------------
    persistence_years: int = Field(
        3, ge=1, description="Years of harm (12-month periods ending with the last month) the persistence classes use."
    )
    persistence_hot_share: float = Field(
        0.1, gt=0, le=1, description="An area is hot in a year when among this top share of areas by that year's harm."
    )
    persistence_persistent_share: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Persistent: hot in the latest year and in at least this share of the years (sfhotspot: 80%).",
    )
    selection_persistence: Annotated[list[Literal["persistent", "emerging", "intermittent"]], NoDecode] = Field(
        [],
        description="Comma-separated persistence classes an area must have to be selectable (e.g. persistent or "
        "persistent,emerging); empty = no rule.",
    )

    # --- harm-prevented forecast (docs/targeting.md) -----------------------------------------------
    forecast_effect: float = Field(
        0.44,
        ge=0,
        le=1,
        description="Fall in harm on patrol days used by the forecast (Operation Rowan, Bland et al. 2021: 44% lower "
        "serious-violence harm on patrol days).",
    )
    forecast_effect_low: float | None = Field(
        None, ge=0, le=1, description="Lower end of the effect's interval (empty: not set; the study's own CI)."
    )
    forecast_effect_high: float | None = Field(
        None, ge=0, le=1, description="Upper end of the effect's interval (empty: not set)."
    )
    forecast_effect_source: str = Field(
        "Operation Rowan, Bland et al. 2021, Camb. J. Evid.-Based Policing 5:93-118",
        description="Where forecast_effect comes from, quoted in the forecast sentence.",
    )
    forecast_use_evaluation: bool = Field(
        True,
        description="Take the forecast's effect from the force's latest evaluation (evaluation_estimates, intention "
        "to treat on harm) when one exists, instead of forecast_effect.",
    )
    forecast_draws: int = Field(1000, ge=0, description="Bootstrap resamples of the crimes for the forecast interval.")
    forecast_level: float = Field(0.95, gt=0, lt=1, description="Coverage of the forecast interval.")
    forecast_seed: int = Field(0, description="Seed of the forecast bootstrap (the same data give the same interval).")

    # --- dose under capacity (docs/targeting.md) ----------------------------------------------------
    dose_capacity_minutes: float | None = Field(
        None,
        ge=0,
        description="Officer-minutes a day for hot-spot visits; when set, the morning plan step also writes "
        "dose_plan (empty: no allocation).",
    )
    dose_unit_minutes: float = Field(
        15.0, gt=0, description="Minutes of one dose unit (a Koper visit; Rowan: one 15-minute patrol)."
    )
    dose_visit_minutes: float = Field(
        15.0,
        gt=0,
        description="Length of a full visit (Koper curve: about 15 minutes, beyond which a visit adds little): the "
        "continuous dose rule asks one visit this long inside the window; plan-dose counts a unit min(unit / this, "
        "1) of a visit.",
    )
    dose_decay: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Each further visit to a hot spot the same day prevents this share of the previous one "
        "(diminishing returns).",
    )
    dose_max_units: int | None = Field(
        None, ge=1, description="Most visits a hot spot gets in a day (empty: no cap beyond the diminishing returns)."
    )
    dose_plan_targets: bool = Field(
        False,
        description="Take a hot spot's daily target from its minutes in the day's dose_plan (hotspots plan-dose, or "
        "the morning plan step with dose_capacity_minutes) instead of target_minutes or its override; hot spots "
        "without a dose_plan row that day keep those.",
    )

    # --- patrol dose ---------------------------------------------------------------------------
    timezone: str = Field("Europe/London", description="Local time zone: days are split at local midnight.")
    buffer_m: float = Field(
        100.0, ge=0, description="Buffer around each area in metres (Operation Rowan: LSOA + 100 m)."
    )
    max_gap_s: float = Field(120.0, gt=0, description="Longest ping gap counted as continuous presence, seconds.")
    max_speed_kmh: float | None = Field(
        25.0, description="Intervals faster than this are transit, not patrol (slow-driving speed); empty = no filter."
    )
    koper_minutes: float = Field(
        10.0, description="A visit of at least this long is a Koper visit (Koper curve: 10-16 min)."
    )
    target_minutes: float = Field(
        15.0, ge=0, description="Daily target per hot spot inside the patrol window (Rowan: one 15-minute patrol)."
    )
    dose_rule: Literal["total", "continuous"] = Field(
        "total",
        description="When a hot spot has had its dose (daily_compliance.dose_met): total = patrol minutes inside the "
        "window reach the target; continuous = one continuous visit inside the window of at least dose_visit_minutes "
        "(Koper 1995: 10-16 minutes give the residual deterrence).",
    )
    patrol_window_start: time = Field(time(14, 0), description="Patrol window start, local (Rowan: 14:00-24:00).")
    patrol_window_end: time = Field(time(0, 0), description="Patrol window end, local; 00:00 means midnight.")
    target_overrides_path: Path | None = Field(
        None, description="CSV area_code,target_minutes overriding the target per area."
    )
    late_days: int = Field(2, ge=0, description="Days after a day's end that late pings for it are still accepted.")

    # --- alarms and delivery -----------------------------------------------------------------
    alarm_days: int = Field(3, ge=1, description="Days without patrol before escalation (Rowan: effect gone by day 4).")
    checkpoint_times: Annotated[list[time], NoDecode] = Field(
        [time(18, 0), time(21, 0), time(23, 0)],
        description="Comma-separated local times of the in-shift checkpoints (intraday_check DAG): each loads the "
        "ping files landed since the last run, recomputes today's patrol so far and sends no_visit_yet for the "
        "planned hot spots not visited or under dose (docs/alerts.md, In-shift checkpoints).",
    )
    checkpoint_dose_notice: bool = Field(
        False,
        description="Checkpoint messages also name the hot spots that have had their dose today (dose_delivered: "
        "'dose delivered, move on', as Thames Valley's tasking app drops them from the list).",
    )
    routing_path: Path | None = Field(
        None, description="Routing table (CSV or YAML): area -> team -> Slack channel, emails."
    )
    slack_conn_id: str = Field(
        "slack_api_default", description="Airflow Slack connection (token as password, base_url in extra)."
    )
    smtp_conn_id: str = Field("smtp_default", description="Airflow SMTP connection.")
    alert_max_attempts: int = Field(
        5, ge=1, description="Failed deliveries on one channel before the task fails loudly."
    )
    report_base_url: str | None = Field(
        None, description="URL prefix where reports are served; links in alerts use it."
    )
    failure_email: str | None = Field(
        None, description="Data engineers' address: Airflow's SMTP notifier mails it when any pipeline task fails."
    )
    alert_email_to: Annotated[list[str], NoDecode] = Field(
        ["hotspots@localhost"],
        description="Comma-separated email recipients of the default route (no routing table or unmapped area).",
    )
    alert_email_from: str = Field(
        "hotspots@localhost", description="Sender address when the SMTP connection gives none."
    )
    alert_rules: Annotated[list[str], NoDecode] = Field(
        [
            "under_target",
            "no_patrol",
            "recovered",
            "no_visit_yet",
            "planned",
            "no_data",
            "feed_missing",
            "contamination",
            "weekly_plan",
            "correction",
        ],
        description="Comma-separated alert rules switched on (docs/alerts.md).",
    )
    plan_k: int | None = Field(
        None,
        ge=1,
        description=(
            "Randomised daily plan: hot spots drawn per day (Operation Rowan: 7 of 21); empty = every "
            "hot spot every day."
        ),
    )
    plan_publish_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "fri",
        description="Weekday the weekly schedule of the plan is published (weekly_plan DAG), covering the next "
        "Monday to Sunday (Operation Rowan: a week at a time).",
    )
    plan_publish_time: time = Field(time(12, 0), description="Local time the weekly schedule is published.")
    plan_seed: int = Field(
        0, description="Seed of the daily plan draw; with force and date it fixes each day's plan (reproducible)."
    )

    # --- evaluation (issue 17) -----------------------------------------------------------------
    evaluation_redraws: int = Field(
        2000, ge=19, description="Re-draws of the plan for randomisation-inference p-values (and bootstrap resamples)."
    )
    evaluation_seed: int = Field(0, description="Seed of the evaluation's re-draws and bootstrap (reproducible).")
    evaluation_workers: int = Field(
        1, ge=1, description="Processes sharing the re-draws (the same seeds give the same p-value with any number)."
    )
    displacement_ring_m: float = Field(
        100.0, gt=0, description="Width of the displacement ring around each hot spot, metres (Rowan: 100 m)."
    )
    comparison_per_hotspot: int = Field(
        1, ge=1, description="Matched comparison areas per hot spot for before/after (non-randomised) evaluations."
    )

    # --- feed health (issue 15) -----------------------------------------------------------------
    feed_gap_minutes: int = Field(
        30,
        ge=1,
        description="feed_missing when no ping of the force arrives for this many minutes inside the patrol window.",
    )
    feed_device_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="feed_missing when an hour's reporting devices fall below this share of the hour's norm.",
    )
    feed_norm_days: int = Field(
        28, ge=1, description="Days before a day whose same hour gives the norm (median devices and files)."
    )
    feed_norm_min_days: int = Field(
        3, ge=1, description="Reporting days an hour needs in the norm window before its device count is checked."
    )
    feed_min_devices: int = Field(
        5, ge=1, description="Hours whose norm has fewer devices than this are not checked (too few to compare)."
    )
    feed_slack_channel: str | None = Field(
        "#hotspots-data",
        description="Slack channel of the data engineers' route (feed_missing) unless the routing table sets one.",
    )
    feed_email_to: Annotated[list[str], NoDecode] = Field(
        [],
        description="Data engineers' feed_missing recipients unless the routing table sets them; empty = "
        "HOTSPOTS_FAILURE_EMAIL, else HOTSPOTS_ALERT_EMAIL_TO.",
    )

    # --- privacy -----------------------------------------------------------------------------
    pseudonym_key: SecretStr | None = Field(
        None, description="Secret key for device-id pseudonyms (HMAC-SHA256). Required to ingest GPS."
    )
    raw_ping_retention_days: int = Field(
        7,
        ge=1,
        description="Days the landed and raw ping files (raw device ids) are kept, counted from their UTC day; "
        "older day folders of landing/<force>/avl and raw/<force>/avl are deleted by the retention DAG "
        "(docs/privacy.md). Keep it above HOTSPOTS_LATE_DAYS so late pings still load.",
    )
    ping_retention_days: int = Field(
        90,
        ge=1,
        description="Days the pseudonymous pings (stg_pings, per-device tracks) are kept, counted from their local "
        "date; older ones are deleted, only the daily aggregates stay (daily_patrol, retired_ping_days).",
    )
    tracks_readers: Annotated[list[str], NoDecode] = Field(
        [],
        description="Comma-separated OS users who may query the per-device tracks (`hotspots tracks`, logged); "
        "empty = nobody. The analyst snapshot never holds them (docs/privacy.md).",
    )
    export_log_path: Path | None = Field(
        None, description="Export log, one JSON line per export or tracks query (default data_dir/audit/exports.jsonl)."
    )
    quarantine_retention_days: int = Field(
        30, ge=1, description="Days quarantined input rows are kept for inspection, from when they were quarantined."
    )

    # --- sources (issue 3) -----------------------------------------------------------------------
    area_margin_m: float = Field(
        2000.0,
        ge=0,
        description="Crime points up to this far outside the bounding box of the force's areas are loaded with "
        "area_code NULL; farther ones are quarantined as outside_force_area (docs/data_formats.md).",
    )
    crime_api_url: str | None = Field(
        "https://data.police.uk/api",
        description="data.police.uk API (https://data.police.uk/docs/) that ingest_crime fetches a month from, by "
        "the force's boundary, when no street file has landed for it and the force counts police_uk; empty = never "
        "(street files only).",
    )
    crime_publication_lag_days: int = Field(
        60,
        ge=0,
        description="Days after a month ends by which data.police.uk has published it (the API's crime-last-updated "
        "month and its changelog, https://data.police.uk/changelog/, show each month arriving about two months "
        "late). ingest_crime expects every month of the look-back window ended this long ago; one still missing "
        "raises feed_missing for the data engineers.",
    )
    ping_area_margin_m: float = Field(
        5000.0,
        ge=0,
        description="GPS pings farther than this outside the bounding box of the force's areas are quarantined as "
        "outside_force_area (docs/patrol.md, Validation): patrols cross the border, misplaced pings are far away.",
    )
    ping_max_speed_kmh: float = Field(
        300.0,
        gt=0,
        description="A reported ping speed above this (or negative) is a sensor fault: the ping is quarantined as "
        "invalid_speed (docs/patrol.md, Validation). Not max_speed_kmh, which only marks transit.",
    )
    ping_max_jump_kmh: float = Field(
        200.0,
        gt=0,
        description="A ping reached from the device's previous one faster than this is a GPS glitch, quarantined as "
        "impossible_jump (faster than any patrol car between two pings).",
    )
    avl_memory_limit: str = Field(
        "512MB",
        description="DuckDB memory_limit while the ingest_avl step runs (docs/benchmarks.md, AVL ingest): caps what "
        "DuckDB keeps of the warehouse in memory during the step; beyond it DuckDB spills to disk.",
    )

    _split_lists = field_validator(
        "forces",
        "crime_types",
        "alert_email_to",
        "alert_rules",
        "selection_persistence",
        "tracks_readers",
        "feed_email_to",
        "checkpoint_times",
        mode="before",
    )(_csv_list)

    @field_validator(
        "max_speed_kmh",
        "plan_k",
        "forecast_effect_low",
        "forecast_effect_high",
        "dose_capacity_minutes",
        "dose_max_units",
        "backtest_train_months",
        mode="before",
    )
    @classmethod
    def _none_words(cls, value: object) -> object:
        """Empty, 'none' or 'off' in the environment switch an optional number off."""
        if isinstance(value, str) and value.strip().lower() in {"", "none", "off"}:
            return None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA time zone name (Europe/London): local days are split at its midnight."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/London)") from None
        return value

    @field_validator("checkpoint_times")
    @classmethod
    def _checkpoints_in_order(cls, value: list[time]) -> list[time]:
        if not value:
            raise ValueError("give at least one checkpoint time, e.g. 18:00,21:00,23:00")
        return sorted(set(value))

    @model_validator(mode="after")
    def _derive_paths(self) -> "Settings":
        self.data_dir = Path(self.data_dir).resolve()
        defaults = {
            "warehouse_path": self.data_dir / "warehouse" / "hotspots.duckdb",
            "landing_dir": self.data_dir / "landing",
            "raw_dir": self.data_dir / "raw",
            "outbox_dir": self.data_dir / "outbox",
            "reports_dir": self.data_dir / "reports",
            "profiles_dir": self.data_dir / "forces",
            "lock_dir": self.data_dir / "locks",
        }
        for name, default in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, default)
        if self.snapshot_path is None:
            self.snapshot_path = self.warehouse_path.with_name(self.warehouse_path.stem + "_read.duckdb")
        if self.lake_catalog is None:
            self.lake_catalog = str(self.data_dir / "warehouse" / "catalog.ducklake")
        if self.lake_data_path is None:
            self.lake_data_path = str(self.data_dir / "warehouse" / "lake") + "/"
        return self

    _profile_force: str | None = PrivateAttr(None)  # set on a copy for_force made: its force and the shared settings
    _shared: "Settings | None" = PrivateAttr(None)

    def profile_path(self, force: str) -> Path:
        """The force's profile: profiles_dir/<force>.toml (absent: the force runs on the shared settings)."""
        return Path(self.profiles_dir) / f"{force}{PROFILE_SUFFIX}"

    def for_force(self, force: str) -> "Settings":
        """The shared settings with the force's profile applied: a validated copy (or the shared settings when the
        force has no profile); on a force's copy, the shared ones it came from with this force's profile. Raises
        ProfileError naming the file, the force and the key."""
        if self._profile_force == force:
            return self
        shared = self._shared if self._shared is not None else self
        path = shared.profile_path(force)
        overrides = _read_profile(path, force)
        if not overrides:
            return shared
        try:
            applied = type(shared).model_validate(shared.model_dump() | overrides)
        except ValidationError as exc:
            raise ProfileError(_profile_problem(path, force, exc, overrides)) from None
        for key in overrides:  # a relative path in a profile is relative to the profile's folder
            value = getattr(applied, key)
            if isinstance(value, Path) and not value.is_absolute():
                setattr(applied, key, (path.parent / value).resolve())
        applied._profile_force, applied._shared = force, shared
        return applied

    def check_profiles(self) -> None:
        """Start-up check: every served force's profile is valid, and every profile names a served force."""
        folder = Path(self.profiles_dir)
        if folder != self.data_dir / "forces" and not folder.is_dir():  # set, not the default: a typo
            raise ProfileError(
                f"HOTSPOTS_PROFILES_DIR={folder}: no such folder of per-force profiles; create it or unset the "
                "variable (default data_dir/forces)."
            )
        for force in self.forces:
            self.for_force(force)
        for path in sorted(folder.glob(f"*{PROFILE_SUFFIX}")) if folder.is_dir() else []:
            if path.stem not in self.forces:
                raise ProfileError(
                    f"{path}: profile of force {path.stem!r}, which is not in HOTSPOTS_FORCES "
                    f"({', '.join(self.forces)}); rename the file to <force>{PROFILE_SUFFIX} of a served force, or "
                    "add the force to HOTSPOTS_FORCES."
                )

    def local_time(self, instant: datetime) -> datetime:
        """An instant (a run's logical date) in this settings' time zone: a force's local day is its own."""
        return instant.astimezone(ZoneInfo(self.timezone))

    def force_landing(self, force: str) -> Path:
        return self.landing_dir / force

    def force_raw(self, force: str) -> Path:
        return self.raw_dir / force


@lru_cache(maxsize=64)
def _parse_profile(path: Path, force: str, stamp: tuple[int, int]) -> dict:
    """The overrides in one version of a profile file (stamp: its size and modification time), parsed once."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: the profile of force {force!r} is not valid TOML ({exc}); fix the file.") from None
    fields = Settings.model_fields
    for key in document:
        if key in DEPLOYMENT_WIDE:
            raise ProfileError(
                f"{path}: force {force!r}, key {key!r}: one value for the whole deployment, not per force; set "
                f"HOTSPOTS_{key.upper()} in the environment and remove it from the profile."
            )
        if key not in fields:
            name = key.lower()
            guess = difflib.get_close_matches(name, list(fields), n=1) or difflib.get_close_matches(
                name.removeprefix("hotspots_"), list(fields), n=1
            )
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise ProfileError(
                f"{path}: force {force!r}, key {key!r}: not a setting{hint}; profile keys are setting names in "
                "lower case (docs/settings.md)."
            )
    return document


def _read_profile(path: Path, force: str) -> dict:
    """The force's overrides ({} when it has no profile)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    return dict(_parse_profile(path, force, (stat.st_size, stat.st_mtime_ns)))


def _profile_problem(path: Path, force: str, exc: ValidationError, overrides: dict) -> str:
    """One message for a profile value the settings refuse: the file, the force, the key, the value and the rule."""
    problems = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else ", ".join(overrides)
        shown = "" if "key" in key else f" = {error.get('input')!r}"
        problems.append(f"key {key!r}{shown}: {error['msg']}")
    return f"{path}: force {force!r}, {'; '.join(problems)}. Fix the profile (docs/settings.md, Per-force profiles)."


def force_settings(force: str, settings: Settings | None = None) -> Settings:
    """The settings given (else the process-wide ones) with the force's profile: the one way a per-force step
    reads them."""
    return resolve_settings(settings).for_force(force)


DATA_DIR_ENV_FILE = "hotspots.env"


def data_dir_env_file() -> Path | None:
    """HOTSPOTS_DATA_DIR/hotspots.env (written by `hotspots demo`) when the variable points at a folder with one."""
    data_dir = os.environ.get("HOTSPOTS_DATA_DIR")
    env_file = Path(data_dir) / DATA_DIR_ENV_FILE if data_dir else None
    return env_file if env_file is not None and env_file.is_file() else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment, then from the data folder's hotspots.env
    (environment variables win over the file); every force's profile is checked here (ProfileError)."""
    settings = Settings(_env_file=data_dir_env_file())
    settings.check_profiles()
    return settings


def resolve_settings(settings: Settings | None) -> Settings:
    """The settings given, else the process-wide ones: the one way a function with an optional settings
    argument reads them."""
    return settings if settings is not None else get_settings()


def reload_settings() -> Settings:
    """Forget cached settings (tests and the demo change the environment)."""
    get_settings.cache_clear()
    return get_settings()


def settings_markdown() -> str:
    """docs/settings.md: every setting with its environment variable, default and description."""
    lines = [
        "# Settings",
        "",
        "Generated from `hotspots.settings.Settings` by `hotspots settings --markdown`; do not edit by hand.",
        "Every setting is read from the environment variable shown. Paths left empty derive from `HOTSPOTS_DATA_DIR`.",
        "When `HOTSPOTS_DATA_DIR` points at a folder with a `hotspots.env` (`hotspots demo` writes one), settings not",
        "in the environment are read from that file; environment variables win.",
        "",
        "The column *per force* says whether a force's profile may override the setting (see Per-force profiles",
        "below); the other settings hold one value for the whole deployment.",
        "",
        "| variable | default | per force | description |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = (
                "<project>/" + str(default.relative_to(PROJECT_ROOT))
                if default.is_relative_to(PROJECT_ROOT)
                else default
            )
        elif isinstance(default, list):
            default = ",".join(v.strftime("%H:%M") if isinstance(v, time) else str(v) for v in default)
        elif isinstance(default, time):
            default = default.strftime("%H:%M")
        shown = "(unset)" if default is None else str(default)
        per_force = "no" if name in DEPLOYMENT_WIDE else "yes"
        lines.append(f"| `HOTSPOTS_{name.upper()}` | `{shown}` | {per_force} | {field.description or ''} |")
    return "\n".join(lines + PROFILES_MARKDOWN) + "\n"


PROFILES_MARKDOWN = [
    "",
    "## Per-force profiles",
    "",
    "One deployment serves every force in `HOTSPOTS_FORCES`. The settings above are the shared defaults; a force",
    "that differs has a profile, `<HOTSPOTS_PROFILES_DIR>/<force>.toml` (default `<data_dir>/forces/<force>.toml`),",
    "holding only its overrides. Keys are the setting names in lower case; values are TOML (a string is read as",
    'the environment variable would be: `"14:00"`, `"a,b"`, and `"off"` switches an optional number off).',
    "A relative path in a profile is relative to the profile's folder. A force without a profile runs on the",
    "shared settings.",
    "",
    "```toml",
    "# forces/bedfordshire.toml",
    "hotspot_count = 21",
    "plan_k = 7",
    "target_minutes = 15",
    'patrol_window_start = "14:00"',
    'patrol_window_end = "00:00"',
    'timezone = "Europe/London"',
    'routing_path = "bedfordshire-routing.yaml"',
    'areas_path = "/opt/airflow/data/areas/bedfordshire-lsoa21.geojson"',
    "```",
    "",
    "The profiles are checked with the settings' own types and rules at start-up (every `hotspots` command, every",
    "DAG file that reads the settings at parse, every task): a key that is not a setting, a deployment-wide key",
    "(per force: no), a value of the wrong type or out of range, a file that is not valid TOML, or a profile for a",
    "force not in `HOTSPOTS_FORCES` stops it with one message naming the file, the force and the key (the CLI",
    "exits with status 2; a DAG file shows it as its import error). Each per-force step (the functions in",
    "`hotspots.pipeline`, the runners of `hotspots run`, the per-force commands) runs on",
    "`settings.for_force(force)`: the shared settings with that force's overrides, validated. New settings are",
    "per force unless added to `DEPLOYMENT_WIDE` in `hotspots/settings.py`, the one rule.",
    "",
    "**Time zone per force.** The DAG schedules (daily_plan 08:00, intraday_check, weekly_plan, retention,",
    "evaluate_patrol) fire in the deployment's `HOTSPOTS_TIMEZONE`. Each force's task takes the run's instant in",
    "its own `timezone`: its local day (the plan's day, the day retention counts from, the evaluated week) and its",
    "local moment (intraday_check's 'no visit yet' so far) are its own, and its pings are split into days at its",
    "own local midnight and patrol window. `hotspots run DAG --day D` runs D as each force's local day; for",
    "intraday_check, each of `HOTSPOTS_CHECKPOINT_TIMES` on D (or `--at`) in the deployment's zone, taken in each",
    "force's zone.",
    "",
    "**Alerts per force.** A force's alerts are routed with its own `routing_path` and default recipients",
    "(`alert_email_to`, `feed_slack_channel`, `feed_email_to`) when its profile sets them: area -> team at rule time",
    "(area_teams) and team -> channel at delivery, one digest per force and team.",
]
