"""One crime source per force: force records loaded beside street files never count a crime twice."""

from __future__ import annotations

from datetime import date

import pytest
import warehouse_rows as rows

HOT = rows.HOTSPOTS


@pytest.fixture
def both_sources(tmp_path, monkeypatch):
    """The hand-built warehouse (street-file crimes: 9 robberies per hot spot, 3 elsewhere, March-May 2024) plus
    the same robberies again as the force's own records, with one more robbery in T01."""
    from hotspots.warehouse import open_warehouse

    settings = rows.isolated_settings(monkeypatch, tmp_path)
    rows.build_warehouse(settings)
    with open_warehouse(settings) as con:
        copies = con.execute(
            "SELECT force, crime_key, month, crime_type, area_code, source_row FROM stg_crimes "
            "WHERE source = 'police_uk' AND crime_type = 'Robbery'"
        ).fetchall()
        copies.append((rows.FORCE, "rms-extra", date(2024, 5, 1), "Robbery", "T01", len(copies) + 1))
        rows.insert_crimes(
            con,
            "INSERT INTO stg_crimes (force, source, crime_key, month, crime_type, area_code, source_file, source_row) "
            "VALUES " + ", ".join(["(?, 'force_records', ?, ?, ?, ?, 'rms-2024.csv', ?)"] * len(copies)),
            [v for row in copies for v in row],
        )
    return settings


def _events(settings, source: str) -> dict[str, int]:
    from hotspots.selection import select_hotspots
    from hotspots.warehouse import open_warehouse

    chosen = settings.model_copy(update={"crime_source": source})
    with open_warehouse(chosen) as con:
        result = select_hotspots(con, force=rows.FORCE, settings=chosen)
        counted = dict(
            con.execute(
                "SELECT area_code, events FROM hotspot_ranking WHERE force = ? AND selection_id = ?",
                [rows.FORCE, result["selection_id"]],
            ).fetchall()
        )
        sources = {s for (s,) in con.execute("SELECT DISTINCT source FROM counted_crimes").fetchall()}
    return counted | {"_sources": sources}


@pytest.mark.parametrize(
    ("source", "expected_source", "t01"),
    [("auto", "force_records", 4), ("force_records", "force_records", 4), ("police_uk", "police_uk", 3)],
)
def test_each_crime_is_counted_from_one_source(both_sources, source, expected_source, t01):
    events = _events(both_sources, source)
    assert events.pop("_sources") == {expected_source}
    assert {code: events[code] for code in HOT} == {code: 9 for code in HOT}  # not 18: never counted twice
    assert events["T01"] == t01
    assert all(n == 3 for code, n in events.items() if code not in HOT and code != "T01")


def test_auto_counts_street_files_when_the_force_has_no_records(tmp_path, monkeypatch):
    settings = rows.isolated_settings(monkeypatch, tmp_path)
    rows.build_warehouse(settings)
    events = _events(settings, "auto")
    assert events.pop("_sources") == {"police_uk"} and events["T03"] == 9
