"""Fixtures of the targeting tests: the hand-built county (tests/helpers/targeting_rows.py)."""

from __future__ import annotations

import pytest
from targeting_rows import R, V, add_areas, add_crimes


@pytest.fixture
def county(warehouse):
    """Five areas A..E. Training months 2024-01..02, test month 2024-03 (CCHI: V 200, R 365).

    Training: A 2 R = 730 (2 events), B 3 V = 600 (3), C 4 V = 800 (4), D 1 R = 365 (1: not selectable), E 0.
    Test:     A 1 R = 365, B 2 V = 400, C 1 V = 200, D 1 R = 365, E 0; total 1330 harm, 5 events.
    Outside the windows: E 5 R in 2023-12 (before training), A 10 R in 2024-04 (after the test month); a
    burglary (not a counted type) and a violence outside every area in the test month.
    """
    add_areas(warehouse, list("ABCDE"))
    add_crimes(
        warehouse,
        [
            ("E", "2023-12", R, 5),
            ("A", "2024-01", R, 1),
            ("A", "2024-02", R, 1),
            ("B", "2024-01", V, 3),
            ("C", "2024-01", V, 2),
            ("C", "2024-02", V, 2),
            ("D", "2024-02", R, 1),
            ("A", "2024-03", R, 1),
            ("B", "2024-03", V, 2),
            ("C", "2024-03", V, 1),
            ("D", "2024-03", R, 1),
            ("A", "2024-03", "Burglary", 1),
            (None, "2024-03", V, 1),
            ("A", "2024-04", R, 10),
        ],
    )
    return warehouse
