"""A small, hand-built warehouse for the analyst, export and report tests: rows inserted directly, figures known.

Force "testforce": 20 square areas of 400 m (5 columns x 4 rows) in EPSG:27700 near Luton; the hot-spot list
"sel-1" (in force from 2024-05-01) holds T03, T07, T08, T12, T16; the previous list "sel-0" (April) held T01
instead of T08. Daily compliance for May 2024 follows PATTERNS; alerts exist for 2024-05-31.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

from settings_env import LAKE_VARIABLES

FORCE = "testforce"
ORIGIN = (505000.0, 220000.0)
CELL_M = 400.0
FIRST_DAY = date(2024, 5, 1)
LAST_DAY = date(2024, 5, 31)
TARGET = 15.0
HOTSPOTS = ["T03", "T07", "T08", "T12", "T16"]
PREVIOUS = ["T03", "T07", "T01", "T12", "T16"]
TEAMS = {"T03": "north", "T07": "north", "T08": "south", "T12": "south", "T16": "south"}


def area_codes() -> list[str]:
    return [f"T{i:02d}" for i in range(1, 21)]


def area_wkt(code: str) -> str:
    i = int(code[1:]) - 1
    x0, y0 = ORIGIN[0] + (i % 5) * CELL_M, ORIGIN[1] + (i // 5) * CELL_M
    x1, y1 = x0 + CELL_M, y0 + CELL_M
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def dose(code: str, day: date) -> tuple[float, float, int]:
    """(window minutes, all-day patrol minutes, Koper visits) delivered to a hot spot on a day of May."""
    n = (day - FIRST_DAY).days
    if code == "T03":  # always met
        return 20.0, 25.0, 1
    if code == "T07":  # always some patrol, under target
        return 5.0, 5.0, 0
    if code == "T08":  # met, then nothing from 24 May
        return (0.0, 0.0, 0) if day >= date(2024, 5, 24) else (16.0, 16.0, 1)
    if code == "T12":  # met on even days of the month, nothing on odd days
        return (18.0, 18.0, 1) if n % 2 == 1 else (0.0, 0.0, 0)
    if code == "T16":  # met, under on the last day
        return (8.0, 12.0, 1) if day == LAST_DAY else (15.0, 15.0, 1)
    raise KeyError(code)


def status(delivered: float, patrol: float) -> str:
    return "met" if delivered >= TARGET else ("none" if patrol == 0 else "under")


def compliance_rows() -> list[tuple]:
    rows = []
    for code in HOTSPOTS:
        streak, last = 0, None
        history: list[float] = []
        day = FIRST_DAY
        while day <= LAST_DAY:
            delivered, patrol, koper = dose(code, day)
            streak = 0 if patrol > 0 else streak + 1
            last = day if patrol > 0 else last
            history.append(delivered)
            ratio_7d = sum(history[-7:]) / (TARGET * len(history[-7:]))
            ratio_28d = sum(history[-28:]) / (TARGET * len(history[-28:]))
            rows.append(
                (
                    FORCE,
                    code,
                    day,
                    "sel-1",
                    True,
                    TARGET,
                    delivered,
                    patrol,
                    koper,
                    status(delivered, patrol),
                    streak,
                    last,
                    ratio_7d,
                    ratio_28d,
                )
            )
            day += timedelta(days=1)
    return rows


def harm_of(code: str) -> float:
    """Harm of an area: hot spots first in list order, then the rest descending."""
    if code in HOTSPOTS:
        return 3000.0 - 400 * HOTSPOTS.index(code)
    return 400.0 - 15 * int(code[1:])


def ranking_rows(selection_id: str, selected: list[str]) -> list[tuple]:
    codes = sorted(area_codes(), key=lambda c: (-harm_of(c), c))
    if selection_id == "sel-0":  # April: T01 instead of T08 (swap their harm)
        i, j = codes.index("T08"), codes.index("T01")
        codes[i], codes[j] = codes[j], codes[i]
    harms = sorted((harm_of(c) for c in area_codes()), reverse=True)
    total = sum(harms)
    rows, cumulative = [], 0.0
    for rank, (code, harm) in enumerate(zip(codes, harms), start=1):
        cumulative += harm
        rows.append(
            (
                FORCE,
                selection_id,
                code,
                f"Test {code}",
                10,
                harm,
                harm / total,
                cumulative / total,
                rank,
                code in selected,
            )
        )
    return rows


# The columns of the view stg_crimes (and of the table it was before the split), for rows written in tests.
CRIME_COLUMNS = (
    "force VARCHAR, source VARCHAR, crime_key VARCHAR, month DATE, occurred_at TIMESTAMP, crime_type VARCHAR, "
    "offence_code VARCHAR, knife_flag BOOLEAN, lon DOUBLE, lat DOUBLE, easting DOUBLE, northing DOUBLE, "
    "location VARCHAR, "
    "file_lsoa_code VARCHAR, area_code VARCHAR, source_file VARCHAR, source_row BIGINT, loaded_at TIMESTAMP"
)


def insert_crimes(con, sql: str, params: list | None = None) -> None:
    """Crimes in given areas: ``sql`` is an INSERT INTO stg_crimes [(columns)] VALUES ... or SELECT ...; the rows
    go to the crime tables through append_crime_rows (area_code as given, not placed)."""
    from hotspots.sources.crime_store import append_crime_rows

    con.execute(f"CREATE OR REPLACE TEMP TABLE test_crime_rows ({CRIME_COLUMNS})")
    con.execute(sql.replace("INSERT INTO stg_crimes", "INSERT INTO test_crime_rows", 1), params)
    append_crime_rows(con, "test_crime_rows")
    con.execute("DROP TABLE test_crime_rows")


def _insert_many(con, sql: str, rows: list[tuple]) -> None:
    """One multi-row INSERT (executemany runs a statement per row, which is slow)."""
    head, _, values = sql.partition(" VALUES ")
    con.execute(f"{head} VALUES " + ", ".join([values] * len(rows)), [v for row in rows for v in row])


def isolated_settings(monkeypatch, data_dir: Path):
    """Settings for data_dir only (as the conftest fixture does), visible to get_settings() and the CLI."""
    from hotspots.settings import reload_settings

    kept = {"HOTSPOTS_FAIL_ON_SKIP", "HOTSPOTS_SHARED_DATA", *LAKE_VARIABLES}
    for name in list(os.environ):
        if name.startswith("HOTSPOTS_") and name not in kept:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOTSPOTS_FORCES", FORCE)
    return reload_settings()


def build_warehouse(settings) -> None:
    """Create settings.warehouse_path with the schema and the hand-built rows."""
    from hotspots.warehouse import open_warehouse

    with open_warehouse(settings=settings) as con:
        populate(con)


def populate(con) -> None:
    """Insert the hand-built rows into a warehouse with the schema applied."""
    for code in area_codes():
        con.execute(
            "INSERT INTO stg_areas (force, area_code, area_name, geom, area_m2, source_file, loaded_at)"
            " VALUES (?, ?, ?, ST_GeomFromText(?), ?, 'test', now())",
            [FORCE, code, f"Test {code}", area_wkt(code), CELL_M * CELL_M],
        )
    params = json.dumps({"harm_weights": "cchi", "hotspot_count": 5})
    con.execute(
        "INSERT INTO selections (force, selection_id, effective_from, effective_to, params, hotspots, added, removed,"
        " created_at) VALUES (?, 'sel-0', DATE '2024-04-01', DATE '2024-04-30', ?, ?, ?, [], now()),"
        " (?, 'sel-1', DATE '2024-05-01', NULL, ?, ?, ['T08'], ['T01'], now())",
        [FORCE, params, PREVIOUS, PREVIOUS, FORCE, params, HOTSPOTS],
    )
    _insert_many(
        con,
        "INSERT INTO hotspot_ranking (force, selection_id, area_code, area_name, events, harm, harm_share,"
        " cumulative_share, rank, selected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ranking_rows("sel-0", PREVIOUS) + ranking_rows("sel-1", HOTSPOTS),
    )
    rows = compliance_rows()
    _insert_many(
        con,
        "INSERT INTO daily_compliance (force, area_code, date, selection_id, planned, target_minutes, "
        "delivered_minutes,"
        " patrol_minutes, koper_visits, status, days_without_patrol, last_patrol_date, ratio_7d, ratio_28d)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    _insert_many(
        con,
        "INSERT INTO daily_patrol (force, area_code, date, patrol_minutes, officer_minutes, visits, "
        "koper_visits, devices,"
        " window_minutes) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?)",
        [(r[0], r[1], r[2], r[7], r[7], r[8], r[6]) for r in rows if r[7] > 0],
    )
    _insert_many(
        con,
        "INSERT INTO area_teams (force, area_code, team) VALUES (?, ?, ?)",
        [(FORCE, c, t) for c, t in TEAMS.items()],
    )
    con.execute(
        """
        INSERT INTO alerts (alert_key, force, rule, area_code, date, team, audience, severity, details, created_at,
                            file_status, slack_status, slack_sent_at, email_status, email_sent_at, slack_attempts)
        VALUES
        ('under_target|testforce|T07|2024-05-31', 'testforce', 'under_target', 'T07', DATE '2024-05-31', 'north',
         'supervisors', 'warning', '{}', now(), 'sent', 'sent', now(), 'sent', now(), 1),
        ('no_patrol|testforce|T08|2024-05-26', 'testforce', 'no_patrol', 'T08', DATE '2024-05-26', 'south',
         'escalation', 'critical', '{}', now(), 'sent', 'dead', NULL, 'sent', now(), 5),
        ('under_target|testforce|T16|2024-05-31', 'testforce', 'under_target', 'T16', DATE '2024-05-31', 'south',
         'supervisors', 'warning', '{}', now(), 'pending', 'failed', NULL, 'pending', NULL, 2)
        """
    )
    con.execute(
        "DELETE FROM harm_weights WHERE key_type = 'crime_type' AND list_contains(?, key)",
        [["Violence and sexual offences", "Robbery", "Possession of weapons", "Shoplifting"]],
    )
    _insert_many(
        con,
        "INSERT INTO harm_weights (key_type, key, weight, proactive, source) VALUES ('crime_type', ?, ?, ?, 'test')",
        [
            ("Violence and sexual offences", 200.0, False),
            ("Robbery", 365.0, False),
            ("Possession of weapons", 273.75, True),
            ("Shoplifting", 1.0, False),
        ],
    )
    crimes = []
    for month, per_hotspot, per_rest in ((date(2024, 3, 1), 4, 1), (date(2024, 4, 1), 3, 1), (date(2024, 5, 1), 2, 1)):
        for code in area_codes():
            for k in range(per_hotspot if code in HOTSPOTS else per_rest):
                crimes.append(
                    (FORCE, "police_uk", f"{code}-{month}-{k}", month, "Robbery", code, "test", len(crimes) + 1)
                )
        crimes.append((FORCE, "police_uk", f"shop-{month}", month, "Shoplifting", "T01", "test", len(crimes) + 1))
    insert_crimes(
        con,
        "INSERT INTO stg_crimes (force, source, crime_key, month, crime_type, area_code, source_file, "
        "source_row) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(crimes)),
        [v for row in crimes for v in row],
    )


def store_alerts_twice_at_once(settings, alerts) -> list[list[str]]:
    """Two writers, each on its own connection, store the same alerts at the same moment (a barrier): the keys
    each one stored, so a test can check every alert was stored exactly once."""
    import threading

    from hotspots.alerts.rules import store_alerts
    from hotspots.warehouse import open_warehouse

    stored: list[list[str]] = []
    barrier = threading.Barrier(2)

    def store():
        with open_warehouse(settings) as con:
            barrier.wait(60)
            stored.append(store_alerts(con, alerts, settings))

    writers = [threading.Thread(target=store) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return stored
