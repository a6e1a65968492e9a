"""PoliceApiClient against a real local HTTP server answering in data.police.uk's format."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from shapely.geometry import Point, Polygon
from sources_fixtures import X0, Y0, insert_squares, lonlat_in

from hotspots.sources.police_api import ApiError, PoliceApiClient, category_name, write_street_csv

SLUGS = ["violent-crime", "robbery", "possession-of-weapons", "anti-social-behaviour", "burglary"]


def api_record(i: int, lon: float, lat: float, slug: str) -> dict:
    return {
        "category": slug,
        "location_type": "Force",
        "location": {
            "latitude": f"{lat:.6f}",
            "longitude": f"{lon:.6f}",
            "street": {"id": 1000 + i, "name": f"On or near Road {i}"},
        },
        "context": "",
        "outcome_status": None
        if slug == "anti-social-behaviour"
        else {"category": "Under investigation", "date": "2024-02"},
        "persistent_id": "" if slug == "anti-social-behaviour" else f"pid{i:04d}",
        "id": 900000 + i,
        "location_subtype": "",
        "month": "2024-02",
    }


# 40 crimes spread over the 4 x 4 km squares, one on the vertical mid-line (counted twice by a naive split).
CRIMES = [
    api_record(i, *lonlat_in(i % 4, (i // 4) % 4, 0.2 + 0.015 * i, 0.35), SLUGS[i % len(SLUGS)]) for i in range(40)
]


class FakeApi(BaseHTTPRequestHandler):
    max_results = 12
    rate_limited_first = 2  # the first two requests get HTTP 429
    calls: list[int] = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        FakeApi.calls.append(1)
        if len(FakeApi.calls) <= FakeApi.rate_limited_first:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        assert self.path == "/api/crimes-street/all-crime" and body["date"] == ["2024-02"]
        ring = [tuple(float(v) for v in pair.split(",")) for pair in body["poly"][0].split(":")]
        polygon = Polygon([(lng, lat) for lat, lng in ring])
        inside = [
            c
            for c in CRIMES
            if polygon.covers(Point(float(c["location"]["longitude"]), float(c["location"]["latitude"])))
        ]
        if len(inside) > FakeApi.max_results:
            self.send_response(503)
            self.end_headers()
            return
        payload = json.dumps(inside).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    FakeApi.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def county_polygon():
    from sources_fixtures import TO_WGS84

    corners = [(X0 - 100, Y0 - 100), (X0 + 4100, Y0 - 100), (X0 + 4100, Y0 + 4100), (X0 - 100, Y0 + 4100)]
    return [TO_WGS84.transform(x, y) for x, y in corners]


def test_fetch_month_splits_on_503_retries_429_and_dedupes(api):
    client = PoliceApiClient(api, min_interval_s=0)
    records = client.fetch_month(county_polygon(), "2024-02")
    assert sorted(r["id"] for r in records) == sorted(c["id"] for c in CRIMES)  # every crime once
    assert client.requests_made > 1 + FakeApi.rate_limited_first  # split at least once and retried the 429s


def test_gives_up_when_polygon_cannot_be_split_enough(api):
    FakeApi.max_results = 0
    try:
        with pytest.raises(ApiError, match="too large"):
            PoliceApiClient(api, min_interval_s=0, max_depth=1).fetch_month(county_polygon(), "2024-02")
    finally:
        FakeApi.max_results = 12


def test_gives_up_after_max_attempts_of_429(api):
    FakeApi.rate_limited_first = 100
    try:
        with pytest.raises(ApiError, match="gave up after 3 attempts"):
            PoliceApiClient(api, min_interval_s=0, max_attempts=3).fetch_month(county_polygon(), "2024-02")
    finally:
        FakeApi.rate_limited_first = 2


def test_categories_convert_to_csv_names():
    assert category_name("violent-crime") == "Violence and sexual offences"
    assert category_name("anti-social-behaviour") == "Anti-social behaviour"
    assert category_name("possession-of-weapons") == "Possession of weapons"
    assert category_name("criminal-damage-arson") == "Criminal damage and arson"


def test_api_results_flow_through_the_csv_ingest(api, warehouse, settings, tmp_path):
    from hotspots.sources.police_uk import ingest_crime_file

    insert_squares(warehouse)
    records = PoliceApiClient(api, min_interval_s=0).fetch_month(county_polygon(), "2024-02")
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
