"""The typed settings object: environment parsing, derived paths, the generated reference."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from hotspots.pseudonym import MissingPseudonymKey, device_key, pseudonym_key
from hotspots.settings import Settings, settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_paths_derive_from_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.warehouse_path == tmp_path / "warehouse" / "hotspots.duckdb"
    assert s.snapshot_path == tmp_path / "warehouse" / "hotspots_read.duckdb"
    assert s.landing_dir == tmp_path / "landing"
    assert s.force_raw("bedfordshire") == tmp_path / "raw" / "bedfordshire"


def test_environment_lists_times_and_speed_filter(monkeypatch):
    monkeypatch.setenv("HOTSPOTS_FORCES", "alpha, beta")
    monkeypatch.setenv("HOTSPOTS_CRIME_TYPES", "Robbery,Possession of weapons")
    monkeypatch.setenv("HOTSPOTS_PATROL_WINDOW_START", "15:30")
    monkeypatch.setenv("HOTSPOTS_MAX_SPEED_KMH", "none")
    s = Settings()
    assert s.forces == ["alpha", "beta"]
    assert s.crime_types == ["Robbery", "Possession of weapons"]
    assert s.patrol_window_start == time(15, 30)
    assert s.max_speed_kmh is None


def test_domain_defaults():
    s = Settings()
    assert (s.target_minutes, s.buffer_m, s.alarm_days, s.hotspot_count) == (15.0, 100.0, 3, 21)
    assert s.patrol_window_start == time(14, 0) and s.patrol_window_end == time(0, 0)
    assert s.crime_types == ["Violence and sexual offences", "Robbery", "Possession of weapons"]


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("HOTSPOTS_HARM_WEIGHTS", "severity")
    with pytest.raises(ValidationError, match="harm_weights"):
        Settings()


def test_pseudonym_key_is_required_and_keyed(monkeypatch):
    monkeypatch.delenv("HOTSPOTS_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingPseudonymKey, match="HOTSPOTS_PSEUDONYM_KEY"):
        pseudonym_key(Settings())
    a = device_key("radio-0042", b"key-one")
    assert a == device_key("radio-0042", b"key-one") and len(a) == 16
    assert a != device_key("radio-0042", b"key-two")
    assert "0042" not in a


def test_settings_reference_is_current():
    assert (ROOT / "docs" / "settings.md").read_text() == settings_markdown(), (
        "docs/settings.md is stale: run `hotspots settings --markdown > docs/settings.md`"
    )
