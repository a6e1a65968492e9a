"""A local HTTP server answering in data.police.uk's format: POST /api/crimes-street/all-crime (poly, date) with the
crimes of that month inside the polygon, HTTP 503 beyond ``max_results`` (the real limit is 10,000) and HTTP 429 for
the first ``rate_limited_first`` requests; GET /api/crime-last-updated with the latest month published.

    with police_api_server({"2024-02": [api_record(...)]}, last_updated="2024-02") as api:
        PoliceApiClient(api.url, min_interval_s=0).fetch_month(polygon, "2024-02")
        api.publish("2024-03", records)  # a month published late (or republished: new records for a month)
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from shapely.geometry import Point, Polygon


def api_record(i: int, lon: float, lat: float, slug: str, month: str = "2024-02") -> dict:
    """One street-level crime as the API returns it (anti-social behaviour has no persistent_id or outcome)."""
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
        else {"category": "Under investigation", "date": month},
        "persistent_id": "" if slug == "anti-social-behaviour" else f"pid{month}-{i:04d}",
        "id": 900000 + i,
        "location_subtype": "",
        "month": month,
    }


@dataclass
class FakePoliceApi:
    """The server's state: crimes per month (YYYY-MM), the latest month published, faults, requests seen."""

    months: dict[str, list[dict]] = field(default_factory=dict)
    last_updated: str | None = None
    max_results: int = 12
    rate_limited_first: int = 0
    calls: list[dict] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, month: str, records: list[dict]) -> None:
        """Publish (or republish) a month; the latest month published moves forward to it."""
        with self.lock:
            self.months[month] = records
            if self.last_updated is None or month > self.last_updated:
                self.last_updated = month

    def crime_calls(self, month: str | None = None) -> int:
        return sum(1 for c in self.calls if c["path"].endswith("all-crime") and month in (None, c.get("date")))


def _handler(state: FakePoliceApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload=None, headers: dict | None = None) -> None:
            body = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _rate_limited(self) -> bool:
            if len(state.calls) <= state.rate_limited_first:
                self._send(429, None, {"Retry-After": "0"})
                return True
            return False

        def do_GET(self):  # noqa: N802 - http.server API
            with state.lock:
                state.calls.append({"path": self.path})
            if self._rate_limited():
                return
            if self.path != "/api/crime-last-updated":
                self._send(404, {"error": "not found"})
                return
            self._send(200, {"date": f"{state.last_updated or '1970-01'}-01"})

        def do_POST(self):  # noqa: N802 - http.server API
            body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            month = body["date"][0]
            with state.lock:
                state.calls.append({"path": self.path, "date": month})
                crimes = list(state.months.get(month, []))
            if self._rate_limited():
                return
            if self.path != "/api/crimes-street/all-crime":
                self._send(404, {"error": "not found"})
                return
            ring = [tuple(float(v) for v in pair.split(",")) for pair in body["poly"][0].split(":")]
            polygon = Polygon([(lng, lat) for lat, lng in ring])
            inside = [
                c
                for c in crimes
                if polygon.covers(Point(float(c["location"]["longitude"]), float(c["location"]["latitude"])))
            ]
            if len(inside) > state.max_results:
                self._send(503)
                return
            self._send(200, inside)

        def log_message(self, *args):
            pass

    return Handler


@contextlib.contextmanager
def police_api_server(
    months: dict[str, list[dict]] | None = None, *, last_updated: str | None = None, **options
) -> Iterator[FakePoliceApi]:
    """Serve a FakePoliceApi on 127.0.0.1 (a free port) for the block; ``url`` is the API's base URL."""
    state = FakePoliceApi(months=dict(months or {}), **options)
    state.last_updated = last_updated or max(state.months, default=None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
