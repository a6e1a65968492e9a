"""Each example query in sql/analysis runs on a hand-built warehouse and returns the figures the rows imply."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import warehouse_rows as rows

ANALYSIS = Path(__file__).resolve().parents[2] / "sql" / "analysis"


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """One hand-built warehouse for the module; tests only read it (or roll back)."""
    with pytest.MonkeyPatch.context() as mp:
        settings = rows.isolated_settings(mp, tmp_path_factory.mktemp("analysis"))
        from hotspots.warehouse import open_warehouse

        with open_warehouse(settings) as con:
            rows.populate(con)
            yield con


def run(con, name: str) -> list[dict]:
    cur = con.execute((ANALYSIS / f"{name}.sql").read_text())
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_every_analysis_query_has_a_header_and_a_test():
    files = sorted(p.stem for p in ANALYSIS.glob("*.sql"))
    assert files == sorted(
        ["week_compliance_by_team", "hotspots_unpatrolled_7d", "harm_trend_hotspots_vs_rest", "dose_vs_harm"]
    )
    for name in files:
        assert (ANALYSIS / f"{name}.sql").read_text().startswith("-- "), f"{name}.sql needs a header comment"


def test_week_compliance_by_team(populated):
    result = {r["team"]: r for r in run(populated, "week_compliance_by_team")}
    assert set(result) == {"north", "south"}
    north, south = result["north"], result["south"]
    assert (north["week_start"], north["week_end"]) == (date(2024, 5, 25), date(2024, 5, 31))
    # north: T03 met 7 days at 20 min, T07 under 7 days at 5 min.
    assert (north["hotspots"], north["hotspot_days"], north["days_met"], north["days_under"], north["days_none"]) == (
        2,
        14,
        7,
        7,
        0,
    )
    assert north["delivered_minutes"] == 175.0 and north["target_minutes"] == 210.0
    # south: T08 none x7; T12 met on 26, 28, 30 May (18 min) and none otherwise; T16 met x6, under on the 31st (8 min).
    assert (south["hotspot_days"], south["days_met"], south["days_under"], south["days_none"]) == (21, 9, 1, 11)
    assert south["delivered_minutes"] == 7 * 0 + 3 * 18 + 6 * 15 + 8
    assert south["share_met"] == round(9 / 21, 3)


def test_unrouted_hot_spots_are_grouped(populated):
    populated.execute("BEGIN")
    try:
        populated.execute("DELETE FROM area_teams WHERE area_code = 'T07'")
        result = {r["team"]: r["hotspots"] for r in run(populated, "week_compliance_by_team")}
    finally:
        populated.execute("ROLLBACK")
    assert result == {"north": 1, "south": 3, "unrouted": 1}


def test_hotspots_unpatrolled_7d(populated):
    result = run(populated, "hotspots_unpatrolled_7d")
    # Only T08 had no patrol at all from 25 to 31 May; T12 was patrolled every other day.
    assert [
        (r["area_code"], r["rank"], r["days_on_list"], r["last_patrol_date"], r["days_without_patrol"]) for r in result
    ] == [("T08", 3, 7, date(2024, 5, 23), 8)]


def test_harm_trend_hotspots_vs_rest(populated):
    result = {(r["month"], r["area_group"]): r for r in run(populated, "harm_trend_hotspots_vs_rest")}
    assert len(result) == 6
    march_hot, may_hot = result[(date(2024, 3, 1), "hot spots")], result[(date(2024, 5, 1), "hot spots")]
    # Robbery (365 days): 4 per hot spot in March, 2 in May; 1 per other area every month. Shoplifting not counted.
    assert (march_hot["areas"], march_hot["events"], march_hot["harm"]) == (5, 20, 20 * 365.0)
    assert march_hot["harm_per_area"] == 4 * 365.0
    assert may_hot["harm_index"] == 0.5
    rest = result[(date(2024, 5, 1), "rest")]
    assert (rest["areas"], rest["events"], rest["harm_index"]) == (15, 15, 1.0)


def test_dose_vs_harm(populated):
    result = {r["area_code"]: r for r in run(populated, "dose_vs_harm")}
    assert list(result) == rows.HOTSPOTS  # ordered by rank
    t03, t07 = result["T03"], result["T07"]
    assert (t03["days"], t03["delivered_minutes"], t03["target_minutes"], t03["dose_ratio"]) == (
        28,
        560.0,
        420.0,
        1.333,
    )
    assert t07["minutes_per_1000_harm"] == round(1000 * 140 / 2600, 2)
    delivered = {c: result[c]["delivered_minutes"] for c in rows.HOTSPOTS}
    harm = {c: rows.harm_of(c) for c in rows.HOTSPOTS}
    import statistics

    expected = statistics.correlation([harm[c] for c in rows.HOTSPOTS], [delivered[c] for c in rows.HOTSPOTS])
    assert t03["harm_dose_correlation"] == pytest.approx(expected, abs=1e-3)
