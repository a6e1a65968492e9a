"""data.police.uk HTTP API client: street crimes by month and polygon, written as a street CSV.

The API (https://data.police.uk/docs/method/crime-street/) answers POST /crimes-street/all-crime with
``poly=lat,lng:lat,lng:...`` and ``date=YYYY-MM``. It refuses a polygon holding more than 10,000 crimes with
HTTP 503, so the client splits the polygon into four quadrants (recursively, up to ``max_depth``) and merges
the parts, dropping crimes counted twice on a cut line by their id. Rate limiting (HTTP 429; the API allows 15
requests a second) and transient errors are retried with exponential back-off (tenacity), honouring Retry-After.
Results go through ``write_street_csv`` so they flow through the same validated CSV ingest as archive files.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import requests
from shapely.geometry import MultiPolygon, Polygon, box
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from hotspots.validation.crime import POLICE_UK_COLUMNS

log = logging.getLogger(__name__)

# API category slugs -> street CSV "Crime type" (https://data.police.uk/api/crime-categories).
CATEGORY_NAMES = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}


class ApiError(RuntimeError):
    """The API failed for good (after retries, or a polygon that cannot be split small enough)."""


class TooManyCrimes(Exception):
    """HTTP 503: the polygon holds more crimes than the API returns in one answer."""


class Retryable(Exception):
    """HTTP 429 or a transient 5xx; carries the server's Retry-After seconds when given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def category_name(slug: str) -> str:
    """'violent-crime' -> 'Violence and sexual offences'; an unknown slug is kept (validation flags it)."""
    return CATEGORY_NAMES.get(slug, slug)


class PoliceApiClient:
    """Street-level crimes from data.police.uk (or any server answering in its format)."""

    def __init__(
        self,
        base_url: str = "https://data.police.uk/api",
        *,
        session: requests.Session | None = None,
        timeout_s: float = 60.0,
        max_attempts: int = 6,
        max_wait_s: float = 60.0,
        max_depth: int = 8,
        min_interval_s: float = 1 / 15,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self.max_depth = max_depth
        self.min_interval_s = min_interval_s
        self.requests_made = 0
        self._last_request = 0.0

    def _wait(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception()
        backoff = wait_exponential(multiplier=0.5, max=self.max_wait_s)(retry_state)
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.max_wait_s)
        return backoff

    def _call(self, method: str, path: str, data: dict | None, what: str) -> Any:
        """One request, paced to the API's rate; 503 -> TooManyCrimes, 429 and other 5xx -> Retryable."""
        pause = self.min_interval_s - (time.monotonic() - self._last_request)
        if pause > 0:
            time.sleep(pause)
        self._last_request = time.monotonic()
        self.requests_made += 1
        try:
            response = self.session.request(method, f"{self.base_url}/{path}", data=data, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Retryable(f"network error: {exc}") from exc
        if response.status_code == 503 and data is not None:
            raise TooManyCrimes(data.get("poly"))
        if response.status_code == 429 or response.status_code >= 500:
            header = response.headers.get("Retry-After")
            retry_after = float(header) if header and header.replace(".", "", 1).isdigit() else None
            raise Retryable(f"HTTP {response.status_code}", retry_after)
        if response.status_code != 200:
            raise ApiError(f"{self.base_url}: HTTP {response.status_code} for {what}: {response.text[:200]}")
        return response.json()

    def _request(self, method: str, path: str, data: dict | None, what: str) -> Any:
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, Retryable)),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            return retrying(self._call, method, path, data, what)
        except Retryable as exc:
            raise ApiError(f"{self.base_url}: gave up after {self.max_attempts} attempts ({exc}) for {what}") from exc

    def last_updated(self) -> str:
        """The latest month (YYYY-MM) of crime the API has published (GET crime-last-updated,
        https://data.police.uk/docs/method/crime-last-updated/): every month up to it can be fetched."""
        answer = self._request("GET", "crime-last-updated", None, "crime-last-updated")
        return str(answer["date"])[:7]

    def fetch_month(self, polygon_lonlat: Sequence[tuple[float, float]] | Polygon, month: str) -> list[dict]:
        """Every street-level crime of ``month`` (YYYY-MM) inside the polygon (lon, lat pairs, WGS84)."""
        polygon = polygon_lonlat if isinstance(polygon_lonlat, Polygon) else Polygon(polygon_lonlat)
        found: dict[Any, dict] = {}
        self._fetch(polygon, month, 0, found)
        log.info("API %s: %d crimes in %d requests", month, len(found), self.requests_made)
        return list(found.values())

    def _fetch(self, polygon: Polygon, month: str, depth: int, found: dict[Any, dict]) -> None:
        ring = list(polygon.exterior.coords)[:-1]
        poly = ":".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring)
        try:
            records = self._request("POST", "crimes-street/all-crime", {"poly": poly, "date": month}, f"month {month}")
        except TooManyCrimes:
            if depth >= self.max_depth:
                raise ApiError(f"polygon still too large for the API after {depth} splits (month {month})") from None
            for part in split_polygon(polygon):
                self._fetch(part, month, depth + 1, found)
            return
        for record in records:
            found[record.get("id") or (record.get("persistent_id"), len(found))] = record


def split_polygon(polygon: Polygon) -> list[Polygon]:
    """The polygon cut into the four quadrants of its bounding box (non-empty polygonal parts)."""
    xmin, ymin, xmax, ymax = polygon.bounds
    xmid, ymid = (xmin + xmax) / 2, (ymin + ymax) / 2
    parts: list[Polygon] = []
    for quadrant in (
        box(xmin, ymin, xmid, ymid),
        box(xmid, ymin, xmax, ymid),
        box(xmin, ymid, xmid, ymax),
        box(xmid, ymid, xmax, ymax),
    ):
        piece = polygon.intersection(quadrant)
        pieces = piece.geoms if isinstance(piece, MultiPolygon) else [piece]
        parts.extend(p for p in pieces if isinstance(p, Polygon) and not p.is_empty and p.area > 0)
    return parts


def street_row(record: dict, reported_by: str) -> dict[str, str]:
    """One API record as a street CSV row (LSOA columns empty: placement uses the location)."""
    location = record.get("location") or {}
    street = location.get("street") or {}
    outcome = record.get("outcome_status") or {}
    return {
        "Crime ID": record.get("persistent_id") or "",
        "Month": record.get("month") or "",
        "Reported by": reported_by,
        "Falls within": reported_by,
        "Longitude": str(location.get("longitude") or ""),
        "Latitude": str(location.get("latitude") or ""),
        "Location": street.get("name") or "",
        "LSOA code": "",
        "LSOA name": "",
        "Crime type": category_name(record.get("category") or ""),
        "Last outcome category": outcome.get("category") or "",
        "Context": record.get("context") or "",
    }


def write_street_csv(records: Iterable[dict], path: Path, *, reported_by: str = "") -> Path:
    """Write API records in the data.police.uk archive CSV format (name it YYYY-MM-<force>-street.csv)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=POLICE_UK_COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow(street_row(record, reported_by))
    tmp.replace(path)
    return path
