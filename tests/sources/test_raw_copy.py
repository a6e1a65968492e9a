"""The copy into raw/: immutable, named by content, written atomically (temporary file, then rename)."""

from __future__ import annotations

import os

import pytest

from hotspots.pipeline import _to_raw


def test_a_landed_file_is_copied_once_and_a_corrected_one_replaces_it_keeping_a_version(tmp_path):
    import hashlib

    landed, raw = tmp_path / "landing" / "pings-16.csv", tmp_path / "raw"
    landed.parent.mkdir()
    landed.write_bytes(b"device_id,timestamp\nA,1\n")
    first = _to_raw(landed, raw)
    assert first == raw / "pings-16.csv" and first.read_bytes() == landed.read_bytes()
    assert _to_raw(landed, raw) == first  # a rerun reuses the copy
    landed.write_bytes(b"device_id,timestamp\nA,2\n")
    second = _to_raw(landed, raw)
    assert second == first and second.read_bytes() == b"device_id,timestamp\nA,2\n"  # same logical file
    digest = hashlib.sha256(b"device_id,timestamp\nA,1\n").hexdigest()[:12]
    version = raw / "versions" / f"pings-16.{digest}.csv"
    assert version.read_bytes() == b"device_id,timestamp\nA,1\n"  # the old copy is kept as a version
    assert sorted(str(p.relative_to(raw)) for p in raw.rglob("*")) == [
        "pings-16.csv",
        "versions",
        str(version.relative_to(raw)),
    ]


def test_a_crash_while_copying_leaves_nothing_under_the_raw_name(tmp_path, monkeypatch):
    landed, raw = tmp_path / "pings-03.csv", tmp_path / "raw"
    landed.write_bytes(b"x" * 1_000_000)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        _to_raw(landed, raw)
    assert list(raw.iterdir()) == []  # neither a half-size file under the original name nor a temporary one
    monkeypatch.undo()
    assert _to_raw(landed, raw).read_bytes() == landed.read_bytes()  # the retry copies it whole
