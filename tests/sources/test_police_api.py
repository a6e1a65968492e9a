"""PoliceApiClient against a real local HTTP server answering in data.police.uk's format."""

from __future__ import annotations

import pytest
from police_api_server import api_record, police_api_server
from sources_fixtures import X0, Y0, insert_squares, lonlat_in

from hotspots.sources.police_api import ApiError, PoliceApiClient, category_name, write_street_csv

SLUGS = ["violent-crime", "robbery", "possession-of-weapons", "anti-social-behaviour", "burglary"]

# 40 crimes spread over the 4 x 4 km squares, one on the vertical mid-line (counted twice by a naive split).
CRIMES = [
    api_record(i, *lonlat_in(i % 4, (i // 4) % 4, 0.2 + 0.015 * i, 0.35), SLUGS[i % len(SLUGS)]) for i in range(40)
]


@pytest.fixture
def api():
    """The fake API with February's 40 crimes, at most 12 an answer, the first two requests rate-limited."""
    with police_api_server({"2024-02": CRIMES}, max_results=12, rate_limited_first=2) as server:
        yield server


def county_polygon():
    from sources_fixtures import TO_WGS84

    corners = [(X0 - 100, Y0 - 100), (X0 + 4100, Y0 - 100), (X0 + 4100, Y0 + 4100), (X0 - 100, Y0 + 4100)]
    return [TO_WGS84.transform(x, y) for x, y in corners]


def test_fetch_month_splits_on_503_retries_429_and_dedupes(api):
    client = PoliceApiClient(api.url, min_interval_s=0)
    records = client.fetch_month(county_polygon(), "2024-02")
    assert sorted(r["id"] for r in records) == sorted(c["id"] for c in CRIMES)  # every crime once
    assert client.requests_made > 1 + api.rate_limited_first  # split at least once and retried the 429s


def test_gives_up_when_polygon_cannot_be_split_enough(api):
    api.max_results = 0
    with pytest.raises(ApiError, match="too large"):
        PoliceApiClient(api.url, min_interval_s=0, max_depth=1).fetch_month(county_polygon(), "2024-02")


def test_gives_up_after_max_attempts_of_429(api):
    api.rate_limited_first = 100
    with pytest.raises(ApiError, match="gave up after 3 attempts"):
        PoliceApiClient(api.url, min_interval_s=0, max_attempts=3).fetch_month(county_polygon(), "2024-02")


def test_categories_convert_to_csv_names():
    assert category_name("violent-crime") == "Violence and sexual offences"
    assert category_name("anti-social-behaviour") == "Anti-social behaviour"
    assert category_name("possession-of-weapons") == "Possession of weapons"
    assert category_name("criminal-damage-arson") == "Criminal damage and arson"


def test_api_results_flow_through_the_csv_ingest(api, warehouse, settings, tmp_path):
    from hotspots.sources.police_uk import ingest_crime_file

    insert_squares(warehouse)
    records = PoliceApiClient(api.url, min_interval_s=0).fetch_month(county_polygon(), "2024-02")
    path = write_street_csv(records, tmp_path / "api" / "2024-02-test-street.csv", reported_by="Test Police")
    counts = ingest_crime_file(warehouse, force="test", path=path, settings=settings)
    assert counts["rows_read"] == counts["rows_loaded"] == 40 and counts["rows_quarantined"] == 0
    by_type = dict(warehouse.execute("SELECT crime_type, count(*) FROM stg_crimes GROUP BY 1").fetchall())
    assert by_type == {
        "Violence and sexual offences": 8,
        "Robbery": 8,
        "Possession of weapons": 8,
        "Anti-social behaviour": 8,
        "Burglary": 8,
    }
    # crime i was placed at (i % 4, (i // 4) % 4): check every placement against that truth
    placed = dict(warehouse.execute("SELECT location, area_code FROM stg_crimes").fetchall())
    assert all(placed[f"On or near Road {i}"] == f"E0100{i % 4}{(i // 4) % 4}" for i in range(40))
