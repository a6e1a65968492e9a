"""The AVL rules on arrays (validation.avl.check_pings): order (a row fails only its first rule), the check
columns Great Expectations judges (a rule does not judge rows an earlier rule rejected), and rows in any order."""

from __future__ import annotations

from datetime import date

import numpy as np

from hotspots.validation.avl import REASONS, check_columns, check_pings

DAY = date(2024, 5, 1)
T0 = int(np.datetime64("2024-05-01T10:00:00", "us").astype(np.int64))
EXTENT = (500_000.0, 245_000.0, 504_000.0, 249_000.0)


def pings(n: int = 12) -> dict:
    """One device walking 10 m every 10 s inside the extent: every row passes."""
    return {
        "devices": ["AVL-1", "bad id"],
        "device": np.zeros(n, np.int32),
        "ts_us": T0 + np.arange(n) * 10_000_000,
        "ts_ok": np.ones(n, bool),
        "easting": 501_000.0 + 10 * np.arange(n),
        "northing": np.full(n, 246_000.0),
        "speed_ok": np.ones(n, bool),
        "unit_ok": np.ones(n, bool),
        "source_row": np.arange(1, n + 1),
    }


def judge(rows: dict) -> list[str]:
    reasons = check_pings(**rows, day=DAY, late_days=2, extent=EXTENT, margin_m=5000.0, max_jump_kmh=200.0)
    return ["" if code == 0 else REASONS[code - 1] for code in reasons]


def test_a_row_fails_only_its_first_rule():
    rows = pings()
    rows["device"][1] = 1  # bad device id and bad speed
    rows["speed_ok"][1] = False
    rows["ts_ok"][3] = False  # unparseable time and no position
    rows["easting"][3] = np.nan
    rows["easting"][5] = 900_000.0  # outside the area and a bad unit type
    rows["unit_ok"][5] = False
    rows["ts_us"][8] = rows["ts_us"][7]  # a repeat of row 8's time, with a bad speed: the speed rule comes first
    rows["speed_ok"][8] = False
    rows["ts_us"][10] = rows["ts_us"][9]  # a repeat with nothing else wrong
    got = judge(rows)
    assert got == [
        "",
        "invalid_device_id",
        "",
        "bad_timestamp",
        "",
        "outside_force_area",
        "",
        "",
        "invalid_speed",
        "",
        "duplicate_ping",
        "",
    ]
    columns = check_columns(np.array([REASONS.index(r) + 1 if r else 0 for r in got], np.uint8))
    assert np.isnan(columns["speed_ok"][1]) and columns["device_id_ok"][1] == 0.0  # judged once, by its first rule
    assert columns["first_copy"][10] == 0.0 and np.isnan(columns["first_copy"][8])
    assert (columns.iloc[[0, 2, 4]] == 1.0).all().all()


def test_rows_in_any_order_give_the_same_verdicts():
    rows = pings(40)
    rows["easting"][20] += 3_000.0  # a spike: 3 km in 10 s and back
    rows["ts_us"][30] = rows["ts_us"][29]  # the later row (31) repeats row 30
    straight = judge(rows)
    assert straight[20] == "impossible_jump" and straight[30] == "duplicate_ping" and straight.count("") == 38
    order = np.random.default_rng(3).permutation(40)
    shuffled = {k: (v[order] if isinstance(v, np.ndarray) else v) for k, v in rows.items()}
    assert judge(shuffled) == [straight[i] for i in order]


def test_time_window_from_the_folder_day_or_the_latest_ping():
    rows = pings(4)
    rows["ts_us"][0] -= 3 * 86_400_000_000  # three days before the day: beyond late_days = 2
    assert judge(rows)[0] == "timestamp_outside_window"
    late = check_pings(**rows, day=date(2024, 5, 3), late_days=2, extent=EXTENT, margin_m=5000.0, max_jump_kmh=200.0)
    assert (late[1:] == 0).all() and REASONS[late[0] - 1] == "timestamp_outside_window"
    by_pings = check_pings(**rows, day=None, late_days=2, extent=EXTENT, margin_m=5000.0, max_jump_kmh=200.0)
    assert REASONS[by_pings[0] - 1] == "timestamp_outside_window" and (by_pings[1:] == 0).all()
