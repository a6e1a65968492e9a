"""Settings from a mapping of HOTSPOTS_* variables (a sample's settings_env, a cluster's env), without os.environ."""

from __future__ import annotations

import os
from typing import Mapping

TEST_KEY = "test-pseudonym-key-not-for-production"  # the tests' pseudonym key (conftest's settings fixture)
# `HOTSPOTS_WAREHOUSE_CATALOG=ducklake pytest tests/<room>` runs a room on a local DuckLake under the test's data
# folder (with HOTSPOTS_LAKE_CATALOG=postgres:...: on that catalog) instead of a DuckDB file: the settings
# fixtures keep these variables.
LAKE_VARIABLES = ("HOTSPOTS_WAREHOUSE_CATALOG", "HOTSPOTS_LAKE_CATALOG", "HOTSPOTS_LAKE_DATA_PATH")


def settings_of(env: Mapping[str, str], **overrides):
    """The Settings the HOTSPOTS_* entries of env give; overrides (field names) replace some of them."""
    from hotspots.settings import Settings

    fields = {k.removeprefix("HOTSPOTS_").lower(): v for k, v in env.items() if k.startswith("HOTSPOTS_")}
    return Settings(**(fields | overrides))


def use_only_env(mp, env: Mapping[str, str]):
    """The process's HOTSPOTS_* variables replaced by env's on mp (a pytest MonkeyPatch, undone with it), for the CLI
    and the runner, which read the environment; returns the settings they give."""
    from hotspots.settings import reload_settings

    for name in [n for n in os.environ if n.startswith("HOTSPOTS_")]:
        mp.delenv(name)
    for key, value in env.items():
        mp.setenv(key, value)
    return reload_settings()
