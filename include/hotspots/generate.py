"""A deterministic synthetic county with crime, GPS pings and the ground truth a correct pipeline must reproduce.

``generate_sample(out_dir, seed=7)`` writes, under ``out_dir`` (used as the pipeline's data_dir):

- ``landing/<force>/areas/areas.geojson``: ~100 irregular LSOA-like polygons near Bedford, EPSG:4326,
  properties LSOA11CD/LSOA11NM, tiling the county without gaps or overlaps;
- ``landing/<force>/crime/YYYY-MM/YYYY-MM-<force>-street.csv``: data.police.uk street CSVs (same header,
  CRLF line ends, no quoting, 6-decimal coordinates, 64-hex Crime IDs, empty for anti-social behaviour),
  with documented dirt: rows without coordinates and points 5-20 km outside the county;
- ``landing/<force>/avl/YYYY-MM-DD/pings-HH.csv``: GPS pings per UTC hour (device_id, timestamp, lon, lat,
  speed_kmh, unit_type), with exact duplicates, out-of-order rows and a few invalid rows;
- ``truth/<force>/``: hotspots.csv, ranking.csv, patrol.csv, compliance.csv, alerts.csv, visits.csv and
  manifest.json, computed from the generated clean crimes and the intended visit schedule (never by re-running
  the pipeline).

GPS model: a device's shift is a chain of transits (straight drives at 40-60 km/h, speed reported by every
unit, foot officers' radios included since they ride in a vehicle) and visits (pings every 10-30 s within
15 m of a centre plus ~4 m jitter; vehicles report 0-6 km/h, foot radios leave speed empty so it is derived).
A visit's presence is exactly [first ping, departure ping], the departure ping being one interval after its
last ping. Devices are silent between an arrival and the next visit and between shifts; every ping before a
silence reports transit speed, so silences never count as patrol. Some visits cross local midnight.

Every random draw comes from one ``numpy.random.default_rng(seed)``: the same seed gives byte-identical files.
Points are kept well inside their areas (crime >= 10 m, patrol visits >= buffer + 40 m from every other area),
and every status lies clear of its threshold, so the truth does not depend on ping-interval rounding.

Scale (``scale=N``, ``hotspots generate --scale N``): each step above 1 adds SCALE_ROWS (14,400) rows to every
monthly crime file and to every hourly ping file of the AVL days' local hours, so from N = 10 every such file
holds more than 122,880 rows (one DuckDB row group); N = 29 gives about 400,000 pings an hour, a real force's
volume (DOMAIN.md). The added rows come from a second random stream
(``SeedSequence(seed).spawn(1)``), so the scale-1 files stay byte-identical and the sample at any scale holds
the scale-1 rows, in their order, with the added ones merged in between by time. They leave the truth unchanged:

- crime: non-violent categories with a Crime ID (no anti-social behaviour), outside the hot spots, at the areas'
  map points, 2.5% without coordinates. Selection counts only violent crime, so no harm, event count or rank
  moves; the rows without coordinates are counted in the manifest's rows_without_coordinates.
- pings: a fleet of 40 vehicles per step (``AVL-B00000``...) driving without a stop from the first local midnight
  to the last, every 10 s, straight legs between waypoints across the county at 40-60 km/h, each ping
  reporting that speed (35-70 km/h): every interval is transit, so no patrol minute, visit or device count
  changes; 2% are sent twice (counted in the manifest's duplicates), none is invalid.

The truth files (hotspots, ranking, patrol, compliance, alerts, visits) are then identical to the scale-1 sample's
with the same other parameters; the manifest adds params.scale and avl.background_devices above scale 1.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, Polygon, shape
from shapely.geometry.polygon import orient

from hotspots.settings import Settings
from hotspots.validation.crime import POLICE_UK_COLUMNS

CRIME_HEADER = list(POLICE_UK_COLUMNS)  # the data.police.uk street file header, as the readers expect it
PING_HEADER = ["device_id", "timestamp", "lon", "lat", "speed_kmh", "unit_type"]
SAMPLE_PSEUDONYM_KEY = "synthetic-sample-pseudonym-key-not-a-secret"
VIOLENT_TYPES = ("Violence and sexual offences", "Robbery", "Possession of weapons")
CENTRE = (505000.0, 250000.0)  # EPSG:27700, near Bedford
SPACING_M = 500.0
POINT_MARGIN_M = 10.0  # crime points at least this far inside their area
# The truth is written for the default settings: the rules' numbers come from their one owner, Settings.
_DEFAULT = {name: field.default for name, field in Settings.model_fields.items()}
BUFFER_M = float(_DEFAULT["buffer_m"])
VISIT_MARGIN_M = BUFFER_M + 40.0  # visit centres: buffer + wander (15 m) + jitter (<= 12 m) + margin
WANDER_M = 15.0
JITTER_M = 4.0
MAX_GAP_S = int(_DEFAULT["max_gap_s"])
TARGET_MINUTES = float(_DEFAULT["target_minutes"])
ALARM_DAYS = int(_DEFAULT["alarm_days"])
ROWAN_CONTAMINATION = 0.15  # plan mode: chance that a hot spot not drawn today is patrolled anyway
LONDON = ZoneInfo(_DEFAULT["timezone"])
WINDOW_START = _DEFAULT["patrol_window_start"]
DEVICE_GAP_S = 20 * 60  # free time a device needs between two visits (transit takes at most ~13 min)
SCALE_ROWS = 14_400  # rows each scale step above 1 adds to every hourly ping file and every monthly crime file
BACKGROUND_STEP_S = 10  # ping interval of the background fleet: SCALE_ROWS / 360 = 40 vehicles per step
BACKGROUND_MISSING = 0.025  # share of background crimes without coordinates (as in the base files)
BACKGROUND_DUPLICATES = 0.02  # share of background pings sent twice (as in the base files)

# data.police.uk category mix of the non-violent rows (shares of a Bedfordshire month, rounded)
OTHER_TYPES = {
    "Anti-social behaviour": 0.27,
    "Vehicle crime": 0.13,
    "Public order": 0.12,
    "Shoplifting": 0.115,
    "Criminal damage and arson": 0.105,
    "Other theft": 0.10,
    "Burglary": 0.07,
    "Drugs": 0.045,
    "Other crime": 0.03,
    "Theft from the person": 0.012,
    "Bicycle theft": 0.011,
}
OUTCOMES = [
    ("Investigation complete; no suspect identified", 0.33),
    ("Unable to prosecute suspect", 0.31),
    ("Under investigation", 0.19),
    ("Awaiting court outcome", 0.07),
    ("Action to be taken by another organisation", 0.04),
    ("Local resolution", 0.025),
    ("Offender given a caution", 0.015),
    ("Formal action is not in the public interest", 0.01),
    ("Further action is not in the public interest", 0.005),
    ("Further investigation is not in the public interest", 0.005),
]
STREETS = [
    "Mill",
    "Church",
    "High",
    "Station",
    "Park",
    "Victoria",
    "Queens",
    "Kings",
    "Castle",
    "Bridge",
    "Manor",
    "Ashburnham",
    "Kimbolton",
    "Goldington",
    "Bromham",
    "Elstow",
    "Tavistock",
    "Harpur",
    "Midland",
    "Ampthill",
    "Clapham",
    "Kempston",
    "Cauldwell",
    "Newnham",
    "Russell",
    "Howard",
    "Bunyan",
    "Brickhill",
    "Putnoe",
    "Denmark",
]
SUFFIXES = ["Road", "Street", "Lane", "Close", "Way", "Avenue", "Drive", "Crescent", "Gardens", "Place"]
PLACES = [
    "Supermarket",
    "Parking Area",
    "Petrol Station",
    "Shopping Area",
    "Nightclub",
    "Sports/Recreation Area",
    "Further/Higher Educational Building",
    "Hospital",
    "Bus/Coach Station",
    "Pedestrian Subway",
]


@dataclass(frozen=True)
class Sample:
    """Where a generated sample lives, its dates, and the environment to run the pipeline on it."""

    out_dir: Path
    landing_dir: Path
    truth_dir: Path
    force: str
    crime_months: list[str]
    avl_dates: list[date]
    settings_env: dict[str, str]
    manifest: dict = field(repr=False)
    scale: int = 1

    def truth(self, name: str) -> pd.DataFrame:
        """A ground-truth table (hotspots, patrol, compliance, alerts, visits) as read from truth_dir/<name>.csv."""
        return pd.read_csv(self.truth_dir / f"{name}.csv", dtype={"area_code": str})


# ----------------------------------------------------------------------------------------------- areas


def _bridge_offsets(rng: np.random.Generator, m: int) -> np.ndarray:
    """A Brownian bridge at m interior points, scaled to a maximum absolute value of 1."""
    walk = np.cumsum(rng.normal(size=m + 1))
    s = np.arange(1, m + 1) / (m + 1)
    bridge = walk[:-1] - s * walk[-1]
    return bridge / max(float(np.abs(bridge).max()), 1e-9)


def _wiggle(cells: list[Polygon], rng: np.random.Generator, amplitude: float) -> list[Polygon]:
    """Replace straight edges by shared random boundaries (same vertices on both sides of an edge)."""
    cache: dict[tuple, np.ndarray] = {}
    out = []
    for cell in cells:
        ring = np.round(np.asarray(cell.exterior.coords), 3)
        coords = [ring[0]]
        for p, q in zip(ring[:-1], ring[1:]):
            a, b = tuple(p), tuple(q)
            key = (a, b) if a <= b else (b, a)
            if key not in cache:
                start, end = np.array(key[0]), np.array(key[1])
                length = float(np.hypot(*(end - start)))
                m = int(length // 45.0)
                if m < 1:
                    cache[key] = np.empty((0, 2))
                else:
                    s = np.arange(1, m + 1)[:, None] / (m + 1)
                    normal = np.array([-(end - start)[1], (end - start)[0]]) / length
                    offset = _bridge_offsets(rng, m)[:, None] * amplitude * length * rng.uniform(0.4, 1.0)
                    cache[key] = np.round(start + s * (end - start) + offset * normal, 3)
            mids = cache[key] if key[0] == a else cache[key][::-1]
            coords.extend(mids)
            coords.append(q)
        out.append(Polygon(coords))
    return out


def _build_areas(rng: np.random.Generator, n_areas: int) -> list[Polygon]:
    """Irregular polygons tiling a county: a jittered grid of seeds, Voronoi cells, wiggled shared edges."""
    nx = math.ceil(math.sqrt(n_areas))
    ny = math.ceil(n_areas / nx)
    k = np.arange(n_areas)
    col, row = k % nx, k // nx
    x = CENTRE[0] + (col - (nx - 1) / 2) * SPACING_M + rng.uniform(-0.22, 0.22, n_areas) * SPACING_M
    y = CENTRE[1] + ((ny - 1) / 2 - row) * SPACING_M + rng.uniform(-0.22, 0.22, n_areas) * SPACING_M
    seeds = MultiPoint(np.column_stack([x, y]))
    county = seeds.convex_hull.buffer(SPACING_M * 0.5, quad_segs=4)
    voronoi = shapely.voronoi_polygons(seeds, extend_to=county.envelope.buffer(SPACING_M), ordered=True)
    cells = [cell.intersection(county) for cell in voronoi.geoms]
    for amplitude in (0.07, 0.035, 0.0):
        polygons = _wiggle(cells, rng, amplitude)
        union = shapely.union_all(polygons)
        if all(p.is_valid for p in polygons) and abs(sum(p.area for p in polygons) - union.area) < 1.0:
            return polygons
    raise RuntimeError("could not build a valid tiling of areas")  # unreachable: amplitude 0 is the Voronoi tiling


def _write_areas(path: Path, polygons: list[Polygon], codes: list[str], names: list[str], to_wgs: Transformer) -> None:
    features = []
    for poly, code, name in zip(polygons, codes, names):
        ring = np.asarray(orient(poly, 1.0).exterior.coords)
        lon, lat = to_wgs.transform(ring[:, 0], ring[:, 1])
        coords = [[round(float(a), 9), round(float(b), 9)] for a, b in zip(lon, lat)]
        features.append(
            {
                "type": "Feature",
                "properties": {"LSOA11CD": code, "LSOA11NM": name},
                "geometry": {"type": "Polygon", "coordinates": [coords]},
            }
        )
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(collection) + "\n")


def read_areas(path: Path) -> tuple[list[str], list[Polygon]]:
    """Area codes and polygons in EPSG:27700, as a pipeline would read the written GeoJSON."""
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    data = json.loads(Path(path).read_text())
    codes, polygons = [], []
    for feature in data["features"]:
        ring = np.asarray(shape(feature["geometry"]).exterior.coords)
        x, y = to_bng.transform(ring[:, 0], ring[:, 1])
        codes.append(feature["properties"]["LSOA11CD"])
        polygons.append(Polygon(np.column_stack([x, y])))
    return codes, polygons


class _Projector:
    """EPSG:27700 <-> EPSG:4326 (x = easting / longitude), with the 6-decimal rounding of the CSV files."""

    def __init__(self) -> None:
        self.to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
        self.to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = self.to_wgs.transform(np.asarray(x, float), np.asarray(y, float))
        return np.round(lon, 6), np.round(lat, 6)


def _points_inside(rng, proj: _Projector, poly: Polygon, n: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """n random points whose 6-decimal lon/lat lie at least `margin` metres inside poly; returns (lon, lat)."""
    inner = poly.buffer(-margin)
    shapely.prepare(inner)
    minx, miny, maxx, maxy = poly.bounds
    lons, lats = [], []
    got = 0
    while got < n:
        x = rng.uniform(minx, maxx, 4 * n + 8)
        y = rng.uniform(miny, maxy, 4 * n + 8)
        keep = shapely.contains_xy(inner, x, y)
        lon, lat = proj.lonlat(x[keep], y[keep])
        bx, by = proj.to_bng.transform(lon, lat)
        ok = shapely.contains_xy(inner, bx, by)
        lons.append(lon[ok])
        lats.append(lat[ok])
        got += int(ok.sum())
    return np.concatenate(lons)[:n], np.concatenate(lats)[:n]


# ----------------------------------------------------------------------------------------------- crime


def harm_weights() -> dict[str, float]:
    """CCHI category weights shipped with the package (include/hotspots/data/cchi_categories.csv)."""
    table = pd.read_csv(Path(__file__).parent / "data" / "cchi_categories.csv")
    return dict(zip(table["crime_type"], table["weight"].astype(float)))


def _outcomes(rng, crime_types: np.ndarray) -> np.ndarray:
    labels = [label for label, _ in OUTCOMES]
    probs = np.array([p for _, p in OUTCOMES])
    out = rng.choice(labels, size=len(crime_types), p=probs / probs.sum()).astype(object)
    out[crime_types == "Anti-social behaviour"] = ""
    return out


def _crime_ids(rng, n: int) -> list[str]:
    return [bytes(row).hex() for row in rng.integers(0, 256, size=(n, 32), dtype=np.uint8)]


def _street_names(rng, n: int) -> list[str]:
    out = []
    for _ in range(n):
        if rng.random() < 0.3:
            out.append(f"On or near {PLACES[rng.integers(len(PLACES))]}")
        else:
            out.append(f"On or near {STREETS[rng.integers(len(STREETS))]} {SUFFIXES[rng.integers(len(SUFFIXES))]}")
    return out


def _design_violence(rng, n_areas: int, hot: np.ndarray, n_months: int) -> np.ndarray:
    """Expected violent crimes per area per month: a few hot areas hold much of the harm."""
    rate = np.clip(rng.lognormal(np.log(5.0), 0.55, n_areas), 1.2, 11.0)
    rate[hot] = rng.uniform(30.0, 48.0, len(hot))
    return np.repeat(rate[:, None], n_months, axis=1)


def _top_areas(events: pd.Series, harm: pd.Series, min_events: int) -> pd.DataFrame:
    """All areas ranked by the default rule: harm desc, events desc, area_code asc; selectable flag."""
    table = pd.DataFrame({"events": events, "harm": harm}).rename_axis("area_code").reset_index()
    table = table.sort_values(["harm", "events", "area_code"], ascending=[False, False, True], kind="mergesort")
    table["selectable"] = table["events"] >= min_events
    total = table["harm"].sum()
    table["harm_share"] = table["harm"] / total if total else 0.0
    table["cumulative_share"] = table["harm_share"].cumsum()
    return table.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- patrol


@dataclass
class _Visit:
    area: int
    start: int  # epoch seconds UTC, first ping
    end: int  # epoch seconds UTC, departure ping (presence = [start, end])
    dt: int  # ping interval, seconds
    device: int = -1
    cx: float = 0.0
    cy: float = 0.0


def _epoch(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime.combine(day, time(hour, minute), LONDON).timestamp())


def _local_day_bounds(day: date) -> tuple[int, int, int]:
    """(local midnight, window start 14:00, next local midnight) in epoch seconds."""
    start = int(datetime.combine(day, time(0), LONDON).timestamp())
    window = int(datetime.combine(day, WINDOW_START, LONDON).timestamp())
    end = int(datetime.combine(day + timedelta(days=1), time(0), LONDON).timestamp())
    return start, window, end


def _plan_statuses(rng, n_hot: int, n_days: int) -> list[list[str]]:
    """Intended status per hot spot (by rank) per day, with the scenarios every status and alert needs."""
    kinds = ["met", "met2", "under", "under_split", "under_morning", "none"]
    probs = np.array([0.45, 0.12, 0.16, 0.1, 0.05, 0.12])
    plan = [[str(k) for k in rng.choice(kinds, size=n_days, p=probs)] for _ in range(n_hot)]

    def put(h: int, d: int, kind: str) -> None:
        if h < n_hot and d < n_days:
            plan[h][d] = kind

    for d in range(n_days):
        put(0, d, "met")  # always patrolled
    for d, kind in enumerate(["under", "under_split", "met", "met", "under", "met", "met"]):
        put(1, d, kind)  # recovers after an under day
    for d, kind in enumerate(["under", "none", "none", "none", "none", "met", "under"]):
        put(2, d, kind)  # a four-day streak: no_patrol exactly once (on its third day)
    for d, kind in enumerate(["none", "none", "met", "met", "under_morning", "met", "met"]):
        put(3, d, kind)  # a two-day streak from the selection start: no alarm
    for d, kind in enumerate(["met", "under_morning", "met2", "none", "met", "under", "met"]):
        put(4, d, kind)
    return plan


def rowan_draw(hot_codes: list[str], k: int, plan_seed: int, force: str, day: date) -> list[str]:
    """The day's drawn hot spots as docs/alerts.md (Randomised daily plan) specifies the draw, derived here from the
    spec and not from hotspots.plan: day seed = first 63 bits of sha256("plan_seed|force|YYYY-MM-DD"), then
    Python's random.Random(day seed).sample of the codes sorted, k of them, in draw order."""
    digest = hashlib.sha256(f"{plan_seed}|{force}|{day.isoformat()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big") >> 1).sample(sorted(hot_codes), min(k, len(hot_codes)))


def _rowan_statuses(rng, drawn: list[list[bool]], contamination: float) -> list[list[str]]:
    """Intended status per hot spot (by rank) per day in plan mode: a drawn hot spot gets a status as in
    _plan_statuses; one not drawn gets no patrol, except with probability `contamination` a patrol anyway
    (met or under: the contamination a trial measures)."""
    kinds = ["met", "met2", "under", "under_split", "under_morning", "none"]
    probs = np.array([0.45, 0.12, 0.16, 0.1, 0.05, 0.12])
    plan = []
    for row in drawn:
        planned_kinds = rng.choice(kinds, size=len(row), p=probs)
        stray = rng.random(len(row)) < contamination
        stray_kinds = rng.choice(["met", "under"], size=len(row))
        plan.append(
            [str(k) if d else (str(o) if x else "none") for d, k, x, o in zip(row, planned_kinds, stray, stray_kinds)]
        )
    return plan


def _visit_requests(rng, plan, hot: np.ndarray, others: np.ndarray, days: list[date], per_day_other: int):
    """Visit requests (area, start, end, dt, must_place, overlap_group) per day from the status plan."""
    requests = []

    def minutes_between(lo, hi):
        return int(rng.integers(lo * 60, hi * 60 + 1))

    def window_start(day, duration_s):
        lo, hi = _epoch(day, 14, 30), _epoch(day, 22, 30) - duration_s
        return int(rng.integers(lo, hi)) // 10 * 10

    def morning_start(day, duration_s):
        lo, hi = _epoch(day, 7, 45), _epoch(day, 12, 30) - duration_s
        return int(rng.integers(lo, hi)) // 10 * 10

    def visit(area, start, duration_s, must):
        dt = int(rng.choice([10, 15, 20, 30]))
        n = max(2, round(duration_s / dt))
        return {"area": int(area), "start": start, "end": start + n * dt, "dt": dt, "must": must}

    for d, day in enumerate(days):
        for h, area in enumerate(hot):
            kind = plan[h][d]
            if kind == "none":
                continue
            if kind == "met":
                dur = minutes_between(18, 25)
                first = visit(area, window_start(day, dur + 600), dur, True)
                requests.append(first)
                if rng.random() < 0.25:  # a second officer overlapping the first: officer_minutes > patrol_minutes
                    offset = int(rng.integers(180, max(181, first["end"] - first["start"] - 240))) // 10 * 10
                    requests.append(visit(area, first["start"] + offset, minutes_between(6, 14), True))
                if rng.random() < 0.25:  # a morning visit outside the window
                    requests.append(visit(area, morning_start(day, 1800), minutes_between(5, 20), True))
            elif kind == "met2":  # two Koper visits in the window, at least 40 minutes apart
                a = visit(area, window_start(day, 3 * 3600), minutes_between(11, 13), True)
                b_start = a["end"] + int(rng.integers(2400, 4800)) // 10 * 10
                requests += [a, visit(area, b_start, minutes_between(11, 13), True)]
            elif kind == "under":
                dur = minutes_between(5, 8) if rng.random() < 0.5 else minutes_between(11, 12)
                requests.append(visit(area, window_start(day, dur), dur, True))
            elif kind == "under_split":
                a = visit(area, window_start(day, 3 * 3600), minutes_between(4, 6), True)
                b_start = a["end"] + int(rng.integers(1800, 4800)) // 10 * 10
                requests += [a, visit(area, b_start, minutes_between(4, 6), True)]
            elif kind == "under_morning":
                requests.append(visit(area, morning_start(day, 1800), minutes_between(15, 25), True))
        if d % 3 == 1 and d + 1 < len(days):  # a visit across local midnight: presence is split between two days
            start = _epoch(day, 23, 38) + int(rng.integers(0, 60)) * 10
            requests.append(visit(rng.choice(others), start, minutes_between(30, 36), True))
        for area in rng.choice(others, size=per_day_other, replace=True):
            dur = minutes_between(3, 8) if rng.random() < 0.4 else minutes_between(12, 30)
            lo, hi = _epoch(day, 7, 30), _epoch(day, 22, 15) - dur
            requests.append(visit(area, int(rng.integers(lo, hi)) // 10 * 10, dur, False))
    return requests


def _schedule(rng, requests, n_devices: int) -> list[_Visit]:
    """Give each visit a free device (one device is never in two places; 20 min between its visits)."""
    busy: list[list[tuple[int, int]]] = [[] for _ in range(n_devices)]
    placed = []
    by_area_time: dict[int, list[tuple[int, int]]] = {}
    for req in sorted(requests, key=lambda r: (not r["must"], r["start"], r["area"])):
        start, end = req["start"], req["end"]
        if not req["must"]:  # other-area visits never touch another visit in the same area
            if any(s - 900 < end and start < e + 900 for s, e in by_area_time.get(req["area"], [])):
                continue
        free = [
            dev
            for dev in range(n_devices)
            if all(start >= e + DEVICE_GAP_S or end + DEVICE_GAP_S <= s for s, e in busy[dev])
        ]
        if not free:
            if req["must"]:
                raise RuntimeError("not enough devices for the planned hot-spot visits; raise n_devices")
            continue
        dev = int(rng.choice(free))
        busy[dev].append((start, end))
        by_area_time.setdefault(req["area"], []).append((start, end))
        placed.append(_Visit(req["area"], start, end, req["dt"], dev))
    return sorted(placed, key=lambda v: (v.device, v.start))


def _route(rng, p: np.ndarray, q: np.ndarray, waypoints: np.ndarray) -> np.ndarray:
    """A drive from p to q, via a waypoint when they are closer than 1 km (so transit is clearly transit)."""
    if np.hypot(*(q - p)) >= 1000.0:
        return np.array([p, q])
    for _ in range(100):
        w = waypoints[rng.integers(len(waypoints))]
        if np.hypot(*(w - p)) + np.hypot(*(q - w)) >= 1000.0:
            return np.array([p, w, q])
    raise RuntimeError("no waypoint found for a transit route")


def _drive(rng, path: np.ndarray, t0: int, step_s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pings along a path at 40-60 km/h from time t0; returns (t, x, y, reported speed)."""
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    speed = rng.uniform(40.0, 60.0)
    duration = cum[-1] / (speed / 3.6)
    n = max(2, math.ceil(duration / step_s))
    t = t0 + np.round(np.linspace(0.0, duration, n + 1)).astype(np.int64)
    dist = np.linspace(0.0, cum[-1], n + 1)
    x = np.interp(dist, cum, path[:, 0]) + rng.normal(0, JITTER_M, n + 1)
    y = np.interp(dist, cum, path[:, 1]) + rng.normal(0, JITTER_M, n + 1)
    reported = np.round(np.clip(speed + rng.normal(0, 2.0, n + 1), 35.0, 70.0), 1)
    return t, x, y, reported


def _patrol_pings(rng, v: _Visit, vehicle: bool):
    """Pings of one visit: every dt seconds from start to end - dt, wandering around the centre with jitter."""
    n = (v.end - v.start) // v.dt
    t = v.start + v.dt * np.arange(n, dtype=np.int64)
    angle = np.cumsum(rng.normal(0, 0.6, n))
    radius = WANDER_M * np.abs(np.sin(np.cumsum(rng.normal(0, 0.3, n))))
    jitter = np.clip(rng.normal(0, JITTER_M, (n, 2)), -3 * JITTER_M, 3 * JITTER_M)
    x = v.cx + radius * np.cos(angle) + jitter[:, 0]
    y = v.cy + radius * np.sin(angle) + jitter[:, 1]
    speed = np.round(rng.uniform(0.0, 6.0, n), 1) if vehicle else np.full(n, np.nan)
    return t, x, y, speed


# ----------------------------------------------------------------------------------------------- truth


def _union(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _split_days(start: int, end: int) -> list[tuple[date, int, int]]:
    """An interval cut at local midnights: (local date, start, end) pieces."""
    pieces = []
    day = datetime.fromtimestamp(start, LONDON).date()
    while start < end:
        midnight = _local_day_bounds(day)[2]
        pieces.append((day, start, min(end, midnight)))
        start, day = midnight, day + timedelta(days=1)
    return pieces


def _patrol_truth(visits: list[_Visit], codes: list[str], devices: list[str]) -> pd.DataFrame:
    """Daily patrol per (area, local date) from the intended visit schedule, split at local midnight."""
    groups: dict[tuple[int, date], list[tuple[int, int, _Visit]]] = {}
    for v in visits:
        for day, start, end in _split_days(v.start, v.end):
            groups.setdefault((v.area, day), []).append((start, end, v))
    rows = []
    for (area, day), group in groups.items():
        _, window, midnight = _local_day_bounds(day)
        union = _union([(s, e) for s, e, _ in group])
        rows.append(
            {
                "area_code": codes[area],
                "date": day.isoformat(),
                "patrol_minutes": sum(e - s for s, e in union) / 60,
                "officer_minutes": sum(e - s for s, e, _ in group) / 60,
                "visits": len(union),
                "koper_visits": sum(1 for s, e in union if e - s >= 600),
                "devices": len({devices[v.device] for _, _, v in group}),
                "window_minutes": sum(max(0, min(e, midnight) - max(s, window)) for s, e in union) / 60,
                "longest_visit_minutes": max(max(0, min(e, midnight) - max(s, window)) for s, e in union) / 60,
                "tolerance_minutes": sum(v.dt for _, _, v in group) / 60,
            }
        )
    table = pd.DataFrame(rows).sort_values(["date", "area_code"]).reset_index(drop=True)
    for column in ("patrol_minutes", "officer_minutes", "window_minutes", "longest_visit_minutes", "tolerance_minutes"):
        table[column] = table[column].round(6)
    return table


def _compliance_truth(
    patrol: pd.DataFrame,
    hotspots: list[str],
    days: list[date],
    effective_from: date,
    drawn: dict[str, set[str]] | None = None,
) -> pd.DataFrame:
    """Status and days without patrol per hot spot per day (rules.md, issue 5). In plan mode (`drawn`: date ->
    codes drawn) a hot spot not drawn that day is not_planned with target 0; its minutes are still counted."""
    by_key = {(r.area_code, r.date): r for r in patrol.itertuples()}
    rows = []
    for code in hotspots:
        streak = (days[0] - effective_from).days if days[0] > effective_from else 0  # days before the pings
        for day in days:
            if day < effective_from:
                continue
            row = by_key.get((code, day.isoformat()))
            patrol_minutes = row.patrol_minutes if row is not None else 0.0
            delivered = row.window_minutes if row is not None else 0.0
            planned = drawn is None or code in drawn[day.isoformat()]
            status = "met" if delivered >= TARGET_MINUTES else ("none" if patrol_minutes == 0 else "under")
            streak = streak + 1 if patrol_minutes == 0 else 0
            rows.append(
                {
                    "area_code": code,
                    "date": day.isoformat(),
                    "planned": planned,
                    "target_minutes": TARGET_MINUTES if planned else 0.0,
                    "delivered_minutes": delivered,
                    "patrol_minutes": patrol_minutes,
                    "status": status if planned else "not_planned",
                    "days_without_patrol": streak,
                }
            )
    return pd.DataFrame(rows)


def _alerts_truth(compliance: pd.DataFrame, plan_mode: bool = False, weekly: list[tuple] | None = None) -> pd.DataFrame:
    """under_target, no_patrol (once per streak) and recovered alerts (rules.md, alert rules); in plan mode also
    the morning 'planned' notice per drawn hot spot and the evening no_visit_yet for a drawn hot spot not visited
    or under its dose (every ping of the day has landed by the intraday check), and contamination for a hot spot
    not drawn with minutes in the window."""
    rules = {
        "under_target": ("warning", "supervisors"),
        "no_patrol": ("critical", "escalation"),
        "recovered": ("info", "supervisors"),
        "no_visit_yet": ("warning", "supervisors"),
        "planned": ("info", "supervisors"),
        "contamination": ("info", "supervisors"),
    }
    rows = []
    for code, group in compliance.groupby("area_code", sort=True):
        under_days = set(group.loc[group["planned"] & group["status"].isin(["under", "none"]), "date"])
        for r in group.itertuples():
            previous = (date.fromisoformat(r.date) - timedelta(days=1)).isoformat()
            fired = [
                ("under_target", r.planned and r.status in ("under", "none")),
                ("no_patrol", r.days_without_patrol == ALARM_DAYS),
                ("recovered", r.planned and r.status == "met" and previous in under_days),
                ("planned", plan_mode and r.planned),
                ("no_visit_yet", plan_mode and r.planned and r.status in ("under", "none")),
                ("contamination", plan_mode and not r.planned and r.delivered_minutes > 0),
            ]
            rows += [(rule, code, r.date, *rules[rule]) for rule, hit in fired if hit]
    rows += weekly or []
    columns = ["rule", "area_code", "date", "severity", "audience"]
    return pd.DataFrame(rows, columns=columns).sort_values(["date", "rule", "area_code"]).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- writing


def _write_crime_csv(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(CRIME_HEADER)
        writer.writerows(rows)


def _fmt_ts(t: int) -> str:
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_ts_many(t: np.ndarray) -> np.ndarray:
    """UTC ISO 8601 strings with Z for many epoch seconds."""
    return np.char.add(np.datetime_as_string(np.asarray(t, dtype="int64").astype("datetime64[s]"), unit="s"), "Z")


@dataclass
class _County:
    """The written areas as the pipeline reads them back, and where patrol visits may go."""

    codes: list[str]
    polygons: list[Polygon]
    county: Polygon
    inner: list  # each area shrunk by VISIT_MARGIN_M: visit centres lie inside
    eligible: np.ndarray  # areas large enough for visits
    hot: np.ndarray  # the designed hot spots (area indices, ascending)


@dataclass
class _Selection:
    """The hot-spot truth: default selection in rank order and the figures of the other budgets."""

    hot_codes: list[str]
    hot_rank: np.ndarray  # area indices of hot_codes, rank order
    ranking: pd.DataFrame
    selectable: pd.DataFrame
    margin: float
    area_share_n: int
    harm_share_n: int
    harm_share_margin: float
    effective_from: date


def _generate_areas(rng, proj: _Projector, landing: Path, n_areas: int, hotspot_count: int) -> _County:
    """Write the area GeoJSON, read it back as the pipeline does, and draw the designed hot spots."""
    cells = _build_areas(rng, n_areas)
    codes = [f"E0190{i + 1:04d}" for i in range(n_areas)]
    names = [f"Synthtown {i // 4 + 1:03d}{'ABCD'[i % 4]}" for i in range(n_areas)]
    areas_file = landing / "areas" / "areas.geojson"
    _write_areas(areas_file, cells, codes, names, proj.to_wgs)
    _, polygons = read_areas(areas_file)  # exactly what the pipeline reads back
    inner = [p.buffer(-VISIT_MARGIN_M) for p in polygons]
    eligible = np.array([g.area > 3000.0 for g in inner])
    if eligible.sum() < hotspot_count + 5:
        raise ValueError("too few areas large enough for patrol visits; use more areas")
    hot = np.sort(rng.choice(np.flatnonzero(eligible), size=hotspot_count, replace=False))
    return _County(codes, polygons, shapely.union_all(polygons), inner, eligible, hot)


def _month_records(rng, violent_rate, zero, other_weight, m: int) -> list[tuple[int, str]]:
    """(area, crime type) of one month's placed crimes: violent counts by design, the rest by category share."""
    records = []
    counts = rng.poisson(violent_rate[:, m])
    if m == 0:
        counts[zero[0]] = 1
    for a in np.flatnonzero(counts):
        kinds = rng.choice(VIOLENT_TYPES, size=counts[a], p=np.array([0.92, 0.04, 0.04]))
        if m == 0 and a == zero[0]:
            kinds = np.array(["Robbery"])
        for kind in kinds:
            records.append((int(a), str(kind)))
    for kind, share in OTHER_TYPES.items():
        per_area = rng.multinomial(rng.poisson(share * 1800), other_weight / other_weight.sum())
        for a in np.flatnonzero(per_area):
            records.extend([(int(a), kind)] * int(per_area[a]))
    return records


def _outside_row(rng, proj: _Projector, county) -> tuple:
    """A crime 5-20 km from the county, in a random direction, with an LSOA of elsewhere."""
    while True:
        theta = rng.uniform(0, 2 * np.pi)
        xy = np.array(CENTRE) + rng.uniform(8000.0, 24000.0) * np.array([np.cos(theta), np.sin(theta)])
        if 5000.0 <= county.distance(shapely.Point(xy)) <= 20000.0:
            break
    lon, lat = proj.lonlat(xy[:1], xy[1:])
    kind = str(rng.choice(list(OTHER_TYPES) + list(VIOLENT_TYPES)))
    other = int(rng.integers(1, 400))
    return (
        -2,
        kind,
        float(lon[0]),
        float(lat[0]),
        _street_names(rng, 1)[0],
        f"E0199{other:04d}",
        f"Elsewhere {other // 4 + 1:03d}{'ABCD'[other % 4]}",
    )


def _background_crimes(brng, n: int, area: _County, map_points, weight, codes21, names21) -> list[tuple]:
    """n rows of non-violent crime with a Crime ID (no ASB) outside the hot spots, at the areas' map points,
    BACKGROUND_MISSING of them without coordinates: volume that changes no harm, event count or selection."""
    kinds = [k for k in OTHER_TYPES if k != "Anti-social behaviour"]
    shares = np.array([OTHER_TYPES[k] for k in kinds])
    weight = weight.copy()
    weight[area.hot] = 0.0
    where = brng.choice(len(weight), size=n, p=weight / weight.sum())
    kind = brng.choice(kinds, size=n, p=shares / shares.sum())
    missing = brng.random(n) < BACKGROUND_MISSING
    pick = brng.random(n)
    rows = []
    for a, k, miss, u in zip(where.tolist(), kind.tolist(), missing.tolist(), pick.tolist()):
        if miss:
            rows.append((-1, k, None, None, "No Location", "", ""))
        else:
            lons, lats, streets = map_points[a]
            j = int(u * len(lons))
            rows.append((a, k, float(lons[j]), float(lats[j]), streets[j], codes21[a], names21[a]))
    return rows


def _generate_crime(
    rng, brng, scale: int, proj: _Projector, landing: Path, force: str, months: list[str], area: _County
):
    """Write one street CSV per month; return the placed crimes (month, area, type, lon, lat) and the manifest.
    Above scale 1 each month gets (scale - 1) * SCALE_ROWS background rows drawn from brng."""
    codes, polygons, hot = area.codes, area.polygons, area.hot
    n_areas = len(codes)
    force_name = f"{force.replace('-', ' ').title()} Police"
    codes21 = [f"E0195{i + 1:04d}" for i in rng.permutation(n_areas)]
    names21 = [f"Synthtown {int(c[-4:]) // 4 + 1:03d}{'EFGH'[int(c[-4:]) % 4]}" for c in codes21]
    map_points = []
    for i, poly in enumerate(polygons):
        n_points = int(rng.integers(6, 14)) + (10 if i in hot else 0)
        lon, lat = _points_inside(rng, proj, poly, n_points, POINT_MARGIN_M)
        map_points.append((lon, lat, _street_names(rng, n_points)))
    violent_rate = _design_violence(rng, n_areas, hot, len(months))
    zero = rng.choice(np.setdiff1d(np.arange(n_areas), hot), size=3, replace=False)
    violent_rate[zero] = 0.0  # areas without violence; one gets a single robbery (below min_events)
    other_weight = rng.lognormal(0.0, 0.7, n_areas)
    other_weight[hot] *= 2.0
    clean_rows = []  # (month, area, crime_type, lon, lat) of placed crimes, for the truth
    manifest_crime: dict[str, dict] = {}
    for m, month in enumerate(months):
        records = _month_records(rng, violent_rate, zero, other_weight, m)
        rows = []  # (area or -1/-2, crime_type, lon, lat, location, lsoa code, lsoa name)
        asb_areas = np.array([a for a, kind in records if kind == "Anti-social behaviour"], dtype=int)
        asb_points = {}  # ASB has no Crime ID: a point of its own keeps every row unique
        for a in np.unique(asb_areas):
            n = int((asb_areas == a).sum())
            lon, lat = _points_inside(rng, proj, polygons[a], n, POINT_MARGIN_M)
            asb_points[int(a)] = list(zip(lon.tolist(), lat.tolist(), _street_names(rng, n)))
        for a, kind in records:
            if kind == "Anti-social behaviour":
                lon, lat, where = asb_points[a].pop()
            else:
                lons, lats, streets = map_points[a]
                j = int(rng.integers(len(lons)))
                lon, lat, where = float(lons[j]), float(lats[j]), streets[j]
            rows.append((a, kind, lon, lat, where, codes21[a], names21[a]))
            clean_rows.append((month, codes[a], kind, lon, lat))
        n_missing = int(round(len(rows) * rng.uniform(0.02, 0.03)))
        missing_types = [t for t in OTHER_TYPES if t != "Anti-social behaviour"] + list(VIOLENT_TYPES)
        for kind in rng.choice(missing_types, size=n_missing):
            rows.append((-1, str(kind), None, None, "No Location", "", ""))
        n_outside = int(rng.integers(3, 7))
        rows += [_outside_row(rng, proj, area.county) for _ in range(n_outside)]
        kinds = np.array([r[1] for r in rows], dtype=object)
        outcomes = _outcomes(rng, kinds)
        ids = _crime_ids(rng, len(rows))
        if scale > 1:
            extra = _background_crimes(brng, (scale - 1) * SCALE_ROWS, area, map_points, other_weight, codes21, names21)
            n_missing += sum(1 for r in extra if r[0] == -1)
            clean_rows += [(month, codes[r[0]], r[1], r[2], r[3]) for r in extra if r[0] >= 0]
            rows += extra
            outcomes = np.concatenate([outcomes, _outcomes(brng, np.array([r[1] for r in extra], dtype=object))])
            ids += _crime_ids(brng, len(extra))
        order = sorted(range(len(rows)), key=lambda i: (rows[i][6] == "", rows[i][6], ids[i]))
        lines = []
        for i in order:
            a, kind, lon, lat, where, code21, name21 = rows[i]
            lines.append(
                [
                    "" if kind == "Anti-social behaviour" else ids[i],
                    month,
                    force_name,
                    force_name,
                    "" if lon is None else f"{lon:.6f}",
                    "" if lat is None else f"{lat:.6f}",
                    where,
                    code21,
                    name21,
                    kind,
                    outcomes[i],
                    "",
                ]
            )
        if len({tuple(line) for line in lines}) != len(lines):
            raise RuntimeError(f"duplicate crime rows generated for {month}")  # would be dirt not in the manifest
        rel = f"crime/{month}/{month}-{force}-street.csv"
        _write_crime_csv(landing / rel, lines)
        manifest_crime[rel] = {
            "rows": len(lines),
            "rows_without_coordinates": n_missing,
            "outside_points": n_outside,
            "outside_violent": sum(1 for r in rows if r[0] == -2 and r[1] in VIOLENT_TYPES),
            "placed_rows": len(lines) - n_missing - n_outside,
        }
    return clean_rows, manifest_crime


def _hotspot_truth(clean_rows, area: _County, hotspot_count: int, months: list[str], truth_dir: Path) -> _Selection:
    """Rank areas from the clean, placed violent crimes; write hotspots.csv and ranking.csv."""
    codes = area.codes
    n_areas = len(codes)
    weights = harm_weights()
    crimes = pd.DataFrame(clean_rows, columns=["month", "area_code", "crime_type", "lon", "lat"])
    violent = crimes[crimes["crime_type"].isin(VIOLENT_TYPES)]
    events = violent.groupby("area_code").size().reindex(codes, fill_value=0)
    harm = violent["crime_type"].map(weights).groupby(violent["area_code"]).sum().reindex(codes, fill_value=0.0)
    ranking = _top_areas(events, harm, min_events=2)
    selectable = ranking[ranking["selectable"]].reset_index(drop=True)
    top = selectable.head(hotspot_count)
    if set(top["area_code"]) != {codes[i] for i in area.hot}:
        raise RuntimeError("the designed hot spots are not the top areas; change the seed")
    margin = float(top["harm"].iloc[-1] / selectable["harm"].iloc[hotspot_count])
    if margin < 1.5:
        raise RuntimeError(f"hot-spot harm margin too small ({margin:.2f}); change the seed")
    hot_codes = list(top["area_code"])  # rank order
    pd.DataFrame(
        {
            "area_code": hot_codes,
            "rank": range(1, hotspot_count + 1),
            "events": top["events"].to_numpy(),
            "harm": top["harm"].to_numpy(),
        }
    ).to_csv(truth_dir / "hotspots.csv", index=False)
    cumulative = selectable["cumulative_share"].to_numpy()
    harm_share_n = int(np.searchsorted(cumulative, 0.5 - 1e-12) + 1)
    below = cumulative[harm_share_n - 2] if harm_share_n > 1 else 0.0
    ranking.assign(rank=range(1, n_areas + 1))[
        ["area_code", "rank", "events", "harm", "harm_share", "cumulative_share", "selectable"]
    ].to_csv(truth_dir / "ranking.csv", index=False)
    last_month = date.fromisoformat(months[-1] + "-01")
    return _Selection(
        hot_codes=hot_codes,
        hot_rank=np.array([codes.index(c) for c in hot_codes]),
        ranking=ranking,
        selectable=selectable,
        margin=margin,
        area_share_n=math.ceil(0.1 * n_areas),
        harm_share_n=harm_share_n,
        harm_share_margin=float(min(cumulative[harm_share_n - 1] - 0.5, 0.5 - below)),
        effective_from=(last_month + timedelta(days=32)).replace(day=1),
    )


def _generate_visits(
    rng, area: _County, hot_rank: np.ndarray, days: list[date], n_devices: int, drawn: list[list[bool]] | None = None
):
    """Devices, the status plan per hot spot (rank order) and day, and the scheduled visits with their centres.
    With `drawn` (plan mode: drawn[h][d] = hot spot h drawn on day d) statuses follow the draw (_rowan_statuses)."""
    n_foot = max(1, n_devices // 3)
    n_vehicles = n_devices - n_foot
    devices = [f"AVL-{1001 + i}" for i in range(n_vehicles)] + [f"RAD-{2001 + i}" for i in range(n_foot)]
    vehicle = [d.startswith("AVL") for d in devices]
    if drawn is None:
        plan = _plan_statuses(rng, len(hot_rank), len(days))
    else:
        plan = _rowan_statuses(rng, drawn, ROWAN_CONTAMINATION)
    others = np.setdiff1d(np.flatnonzero(area.eligible), hot_rank)
    requests = _visit_requests(rng, plan, hot_rank, others, days, per_day_other=max(8, 3 * n_devices))
    visits = _schedule(rng, requests, n_devices)
    for v in visits:
        cx, cy = _points_inside_xy(rng, area.inner[v.area], 1)
        v.cx, v.cy = float(cx[0]), float(cy[0])
    return devices, vehicle, plan, visits


def _waypoints(area: _County) -> np.ndarray:
    """Transit waypoints: a point well inside each area large enough for visits."""
    return np.array([area.inner[i].representative_point().coords[0] for i in np.flatnonzero(area.eligible)])


def _device_tracks(rng, proj: _Projector, area: _County, visits: list[_Visit], devices, vehicle):
    """Clean pings of every device's shifts (station -> visits -> station) and the silences between them."""
    waypoints = _waypoints(area)
    others = np.setdiff1d(np.flatnonzero(area.eligible), area.hot)
    station = np.array(area.inner[int(others[len(others) // 2])].representative_point().coords[0])
    t_all, x_all, y_all, s_all, dev_all = [], [], [], [], []
    silences = []  # (device, from, to): times when a device sends nothing (room for invalid rows)

    def emit(dev, t, x, y, s):
        t_all.append(t)
        x_all.append(x)
        y_all.append(y)
        s_all.append(s)
        dev_all.append(np.full(len(t), dev))

    for dev in range(len(devices)):
        mine = [v for v in visits if v.device == dev]
        by_day: dict[date, list[_Visit]] = {}
        for v in mine:
            by_day.setdefault(datetime.fromtimestamp(v.start, LONDON).date(), []).append(v)
        for day, day_visits in sorted(by_day.items()):
            position = station
            prev_end = None
            for v in day_visits:
                centre_xy = np.array([v.cx, v.cy])
                path = _route(rng, position, centre_xy, waypoints)
                step = int(rng.integers(10, 21))
                if prev_end is None:  # leave the station in time to arrive 2-6 minutes early
                    t, x, y, s = _drive(rng, path, 0, step)
                    t = t + (v.start - int(rng.integers(120, 360)) - t[-1])
                else:
                    t, x, y, s = _drive(rng, path, prev_end, step)
                if t[-1] >= v.start - 5:
                    raise RuntimeError("transit does not fit between two visits")  # guarded by DEVICE_GAP_S
                x[-1], y[-1] = centre_xy + rng.normal(0, JITTER_M, 2)
                if prev_end is not None:
                    x[0], y[0] = position + rng.normal(0, JITTER_M, 2)
                emit(dev, t, x, y, s)
                silences.append((dev, int(t[-1]), v.start))
                emit(dev, *_patrol_pings(rng, v, vehicle[dev]))
                position, prev_end = centre_xy, v.end
            path = _route(rng, position, station, waypoints)
            t, x, y, s = _drive(rng, path, prev_end, int(rng.integers(10, 21)))
            x[0], y[0] = position + rng.normal(0, JITTER_M, 2)
            emit(dev, t, x, y, s)
    t = np.concatenate(t_all)
    dev_idx = np.concatenate(dev_all)
    lon, lat = proj.lonlat(np.concatenate(x_all), np.concatenate(y_all))
    speed = np.concatenate(s_all)
    pings = pd.DataFrame(
        {
            "device_id": np.array(devices, dtype=object)[dev_idx],
            "t": t,
            "lon": [f"{v:.6f}" for v in lon],
            "lat": [f"{v:.6f}" for v in lat],
            "speed_kmh": ["" if np.isnan(v) else f"{v:.1f}" for v in speed],
            "unit_type": np.where(np.array(vehicle)[dev_idx], "vehicle", "foot"),
        }
    )
    if pings.duplicated(["device_id", "t"]).any():
        raise RuntimeError("two clean pings of one device share a timestamp")
    pings["timestamp"] = _fmt_ts_many(pings["t"].to_numpy())
    pings["invalid"] = ""
    return pings, silences


def _background_pings(brng, proj: _Projector, area: _County, days: list[date], n_devices: int) -> dict:
    """A fleet driving without a stop from the first local midnight to the last: each vehicle pings every
    BACKGROUND_STEP_S seconds from its own offset, drives straight legs between waypoints at 40-60 km/h and
    reports that speed (+ noise, 35-70 km/h). Reported speed above the patrol limit makes every interval transit.
    Returns numpy columns t, device (index), lon, lat, speed and copies (2 = sent twice), sorted by time."""
    waypoints = _waypoints(area)
    start, end = _local_day_bounds(days[0])[0], _local_day_bounds(days[-1])[2]
    n = (end - start) // BACKGROUND_STEP_S
    columns: dict[str, list] = {"t": [], "device": [], "x": [], "y": [], "speed": []}
    for dev in range(n_devices):
        t = start + int(brng.integers(0, BACKGROUND_STEP_S)) + BACKGROUND_STEP_S * np.arange(n, dtype=np.int64)
        legs = int((end - start) / 60) + 10  # legs take minutes on average: one a minute is ample
        hops = np.cumsum(brng.integers(1, len(waypoints), legs + 1)) % len(waypoints)  # never the same twice
        path = waypoints[hops]
        length = np.hypot(*np.diff(path, axis=0).T)
        kmh = brng.uniform(40.0, 60.0, legs)
        cum_t = np.concatenate([[0.0], np.cumsum(length / (kmh / 3.6))])
        cum_d = np.concatenate([[0.0], np.cumsum(length)])
        if cum_t[-1] < t[-1] - start:
            raise RuntimeError("background route shorter than the period; use a larger county")
        along = np.interp(t - start, cum_t, cum_d)
        jitter = np.clip(brng.normal(0, JITTER_M, (n, 2)), -3 * JITTER_M, 3 * JITTER_M)
        leg = np.searchsorted(cum_t, t - start, side="right") - 1
        columns["t"].append(t)
        columns["device"].append(np.full(n, dev, dtype=np.int32))
        columns["x"].append(np.interp(along, cum_d, path[:, 0]) + jitter[:, 0])
        columns["y"].append(np.interp(along, cum_d, path[:, 1]) + jitter[:, 1])
        columns["speed"].append(np.round(np.clip(kmh[leg] + brng.normal(0, 2.0, n), 35.0, 70.0), 1))
    out = {k: np.concatenate(v) for k, v in columns.items()}
    order = np.lexsort((out["device"], out["t"]))
    out = {k: v[order] for k, v in out.items()}
    out["lon"], out["lat"] = proj.lonlat(out.pop("x"), out.pop("y"))
    out["copies"] = 1 + (brng.random(len(order)) < BACKGROUND_DUPLICATES).astype(np.int8)
    return out


def _background_frame(background: dict, lo: int, hi: int) -> pd.DataFrame:
    """The background pings with lo <= t < hi as file rows, a copy right after its original; no invalid rows."""
    a, b = np.searchsorted(background["t"], [lo, hi])
    rows = np.repeat(np.arange(a, b), background["copies"][a:b])
    duplicate = np.zeros(len(rows), dtype=bool)
    duplicate[1:] = rows[1:] == rows[:-1]
    return pd.DataFrame(
        {
            "device_id": np.char.add("AVL-B", np.char.zfill(background["device"][rows].astype(str), 5)),
            "timestamp": _fmt_ts_many(background["t"][rows]),
            "lon": [f"{v:.6f}" for v in background["lon"][rows]],
            "lat": [f"{v:.6f}" for v in background["lat"][rows]],
            "speed_kmh": [f"{v:.1f}" for v in background["speed"][rows]],
            "unit_type": "vehicle",
            "t": background["t"][rows],
            "invalid": "",
            "duplicate": duplicate,
        }
    )


def _add_ping_dirt(rng, proj: _Projector, pings: pd.DataFrame, silences, devices, vehicle, county) -> pd.DataFrame:
    """Invalid rows in silent stretches of busy hours (harmless even if loaded) and ~2% exact duplicates."""
    invalid = []
    rows_per_hour = pings["t"].floordiv(3600).value_counts()  # invalid rows go to busy files only (GX mostly)
    quiet = [q for q in silences if q[2] - q[1] >= 300 and rows_per_hour.get((q[1] + q[2]) // 7200, 0) >= 150]
    picks = rng.choice(len(quiet), size=min(6, len(quiet)), replace=False)
    far = proj.lonlat(np.array([county.bounds[2] + 50000.0]), np.array([CENTRE[1]]))
    for n, pick in enumerate(sorted(picks)):
        dev, lo, hi = quiet[pick]
        when = (lo + hi) // 2
        reason = ["missing_coordinates", "bad_timestamp", "outside_force_area"][n % 3]
        row = {
            "device_id": devices[dev],
            "t": when,
            "lon": "",
            "lat": "",
            "speed_kmh": "",
            "unit_type": "vehicle" if vehicle[dev] else "foot",
            "timestamp": _fmt_ts(when),
            "invalid": reason,
        }
        if reason == "bad_timestamp":
            row["timestamp"] = [_fmt_ts(when)[:11] + "25:61:00Z", "not-a-time"][n // 3 % 2]
            row["lon"], row["lat"] = pings.iloc[0]["lon"], pings.iloc[0]["lat"]
        elif reason == "outside_force_area":
            row["lon"], row["lat"] = f"{far[0][0]:.6f}", f"{far[1][0]:.6f}"
        invalid.append(row)
    pings = pd.concat([pings, pd.DataFrame(invalid)], ignore_index=True)
    dup = rng.random(len(pings)) < 0.02
    dup &= pings["invalid"].eq("").to_numpy()
    dups = pings[dup].copy()
    dups["duplicate"] = True
    pings["duplicate"] = False
    pings = pd.concat([pings, dups], ignore_index=True)
    stamp = pd.Series(_fmt_ts_many(pings["t"].to_numpy()), index=pings.index)
    pings["utc_date"], pings["hour"] = stamp.str[:10], stamp.str[11:13]
    return pings.sort_values(["utc_date", "hour", "t", "device_id", "duplicate"], kind="mergesort")


def _write_ping_files(rng, landing: Path, pings: pd.DataFrame, background: dict | None):
    """One CSV per UTC hour with a few rows moved out of order; returns the per-file manifest and invalid rows.
    Background pings (if any) are merged in time order between the rows, which keep their order."""
    manifest_pings: dict[str, dict] = {}
    invalid_list = []
    groups = {int(frame["t"].iloc[0]) // 3600: frame for _, frame in pings.groupby(["utc_date", "hour"], sort=True)}
    hours = set(groups) | (set(np.unique(background["t"] // 3600).tolist()) if background else set())
    for hour_index in sorted(hours):
        frame = groups.get(hour_index, pings.iloc[:0]).reset_index(drop=True)
        order = np.arange(len(frame))
        moved = np.flatnonzero(rng.random(len(frame)) < 0.02) if len(frame) else []
        for i in moved:  # out-of-order rows: a few rows moved to a random place in the file
            order = np.delete(order, np.flatnonzero(order == i))
            order = np.insert(order, int(rng.integers(0, len(order) + 1)), i)
        frame = frame.iloc[order].reset_index(drop=True)
        if background:
            extra = _background_frame(background, hour_index * 3600, (hour_index + 1) * 3600)
            keys = np.concatenate([np.sort(frame["t"].to_numpy()), extra["t"].to_numpy()])
            frame = pd.concat([frame, extra], ignore_index=True).iloc[np.argsort(keys, kind="stable")]
            frame = frame.reset_index(drop=True)
        utc_date, hour = _fmt_ts(hour_index * 3600)[:10], _fmt_ts(hour_index * 3600)[11:13]
        rel = f"avl/{utc_date}/pings-{hour}.csv"
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        frame[PING_HEADER].to_csv(path, index=False, lineterminator="\n")
        for i in np.flatnonzero(frame["invalid"].ne("").to_numpy()):
            invalid_list.append(
                {
                    "file": rel,
                    "row": int(i) + 1,
                    "device_id": frame.loc[i, "device_id"],
                    "timestamp": frame.loc[i, "timestamp"],
                    "reason": frame.loc[i, "invalid"],
                }
            )
        manifest_pings[rel] = {
            "rows": len(frame),
            "duplicates": int(frame["duplicate"].sum()),
            "invalid": int(frame["invalid"].ne("").sum()),
            "out_of_order_moves": len(moved),
        }
    return manifest_pings, invalid_list


def _patrol_and_compliance_truth(
    truth_dir: Path,
    visits,
    devices,
    vehicle,
    codes,
    selection: _Selection,
    days: list[date],
    plan,
    drawn: dict[str, set[str]] | None = None,
    weekly: list[tuple] | None = None,
) -> dict[str, list[str]]:
    """Write patrol, compliance, alerts and visits truth; check every planned status was realised."""
    hot_codes = selection.hot_codes
    patrol = _patrol_truth(visits, codes, devices)
    patrol.to_csv(truth_dir / "patrol.csv", index=False)
    compliance = _compliance_truth(patrol, hot_codes, days, selection.effective_from, drawn)
    compliance.to_csv(truth_dir / "compliance.csv", index=False)
    _alerts_truth(compliance, plan_mode=drawn is not None, weekly=weekly).to_csv(truth_dir / "alerts.csv", index=False)
    visit_table = pd.DataFrame(
        [
            {
                "device_id": devices[v.device],
                "unit_type": "vehicle" if vehicle[v.device] else "foot",
                "area_code": codes[v.area],
                "local_date": datetime.fromtimestamp(v.start, LONDON).date().isoformat(),
                "start_utc": _fmt_ts(v.start),
                "end_utc": _fmt_ts(v.end),
                "ping_interval_s": v.dt,
                "minutes": round((v.end - v.start) / 60, 6),
                "hotspot": codes[v.area] in hot_codes,
            }
            for v in sorted(visits, key=lambda v: (v.start, v.device))
        ]
    )
    visit_table.to_csv(truth_dir / "visits.csv", index=False)
    planned = {hot_codes[h]: plan[h] for h in range(len(hot_codes))}
    measured = compliance.assign(
        status=np.where(
            compliance["delivered_minutes"] >= TARGET_MINUTES,
            "met",
            np.where(compliance["patrol_minutes"] == 0, "none", "under"),
        )
    )
    statuses = measured.pivot(index="area_code", columns="date", values="status")
    for code, kinds in planned.items():
        for day, kind in zip(days, kinds):
            expected = "met" if kind.startswith("met") else ("none" if kind == "none" else "under")
            if statuses.loc[code, day.isoformat()] != expected:
                raise RuntimeError(f"planned status {kind} for {code} on {day} was not realised")
    return planned


def _manifest(
    params: dict,
    area: _County,
    selection: _Selection,
    manifest_crime,
    manifest_pings,
    invalid_list,
    devices,
    visits,
    planned,
    days: list[date],
) -> dict:
    """manifest.json: parameters, dates, per-file dirt counts, the selection under every budget, the plan."""
    ranking, selectable = selection.ranking, selection.selectable
    polygons = area.polygons
    return {
        "seed": params["seed"],
        "force": params["force"],
        "force_name": f"{params['force'].replace('-', ' ').title()} Police",
        "params": {
            "n_areas": params["n_areas"],
            "hotspot_count": params["hotspot_count"],
            "crime_months": params["crime_months"],
            "avl_start": params["avl_start"],
            "avl_days": params["avl_days"],
            "n_devices": params["n_devices"],
            "min_events": 2,
            "buffer_m": BUFFER_M,
            "max_gap_s": MAX_GAP_S,
            "target_minutes": TARGET_MINUTES,
            "alarm_days": ALARM_DAYS,
        },
        "crime_months": params["crime_months"],
        "avl_dates": [d.isoformat() for d in days],
        "effective_from": selection.effective_from.isoformat(),
        "areas": {
            "file": "areas/areas.geojson",
            "count": len(area.codes),
            "code_field": "LSOA11CD",
            "name_field": "LSOA11NM",
            "vertices_min": min(len(p.exterior.coords) - 1 for p in polygons),
            "vertices_max": max(len(p.exterior.coords) - 1 for p in polygons),
        },
        "crime": {
            "files": manifest_crime,
            "rows": sum(f["rows"] for f in manifest_crime.values()),
            "rows_without_coordinates": sum(f["rows_without_coordinates"] for f in manifest_crime.values()),
            "outside_points": sum(f["outside_points"] for f in manifest_crime.values()),
            "quarantine_reason": "missing_coordinates",
            "duplicate_rows": 0,
        },
        "selection": {
            "default": selection.hot_codes,
            "harm_margin_ratio": round(selection.margin, 4),
            "area_share_0.1": list(selectable["area_code"].head(selection.area_share_n)),
            "area_share_rule": "ceil(0.1 x number of areas) top selectable areas",
            "harm_share_0.5": list(selectable["area_code"].head(selection.harm_share_n)),
            "harm_share_rule": "fewest top areas whose cumulative harm share of all areas >= 0.5",
            "harm_share_0.5_margin": round(selection.harm_share_margin, 6),
            "not_selectable": sorted(ranking.loc[~ranking["selectable"], "area_code"]),
            "total_harm": float(ranking["harm"].sum()),
            "per_area": {r.area_code: {"events": int(r.events), "harm": float(r.harm)} for r in ranking.itertuples()},
        },
        "avl": {
            "files": manifest_pings,
            "rows": int(sum(f["rows"] for f in manifest_pings.values())),
            "duplicates": int(sum(f["duplicates"] for f in manifest_pings.values())),
            "out_of_order_moves": int(sum(f["out_of_order_moves"] for f in manifest_pings.values())),
            "invalid": invalid_list,
            "devices": devices,
            "visits": len(visits),
        },
        "plan": planned,
    }


def generate_sample(
    out_dir: Path,
    *,
    seed: int = 7,
    force: str = "synthetic",
    n_areas: int = 100,
    hotspot_count: int = 10,
    crime_months: tuple[str, ...] = ("2024-02", "2024-03", "2024-04"),
    avl_start: date = date(2024, 5, 1),
    avl_days: int = 7,
    n_devices: int = 12,
    scale: int = 1,
    plan_k: int | None = None,
    plan_seed: int = 0,
) -> Sample:
    """Write the synthetic county, its crime and GPS files and the ground truth under out_dir.

    With plan_k (Operation Rowan: 7 of 21) each day draws plan_k hot spots (rowan_draw), patrols follow the draw
    with some contamination, and the truth adds plan.csv and plan-mode compliance and alerts."""
    if hotspot_count >= n_areas:
        raise ValueError(f"hotspot_count ({hotspot_count}) must be smaller than n_areas ({n_areas})")
    if scale < 1:
        raise ValueError(f"scale ({scale}) must be at least 1")
    out_dir = Path(out_dir).resolve()
    rng = np.random.default_rng(seed)
    brng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])  # background volume only
    proj = _Projector()
    landing = out_dir / "landing" / force
    truth_dir = out_dir / "truth" / force
    truth_dir.mkdir(parents=True, exist_ok=True)
    months = sorted(crime_months)
    days = [avl_start + timedelta(days=d) for d in range(avl_days)]

    area = _generate_areas(rng, proj, landing, n_areas, hotspot_count)
    clean_rows, manifest_crime = _generate_crime(rng, brng, scale, proj, landing, force, months, area)
    selection = _hotspot_truth(clean_rows, area, hotspot_count, months, truth_dir)
    drawn, weekly = None, None
    if plan_k is not None:  # every day of the weeks published ahead (Monday-Sunday) that has the hot-spot list
        first = max(days[0] - timedelta(days=days[0].weekday()), selection.effective_from)
        last = days[-1] + timedelta(days=6 - days[-1].weekday())
        plan_days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        drawn = {d.isoformat(): rowan_draw(selection.hot_codes, plan_k, plan_seed, force, d) for d in plan_days}
        _plan_truth(truth_dir, drawn, selection.hot_codes)
        weekly = _weekly_plan_truth(drawn)
    draw_matrix = None if drawn is None else [[c in drawn[d.isoformat()] for d in days] for c in selection.hot_codes]
    devices, vehicle, plan, visits = _generate_visits(rng, area, selection.hot_rank, days, n_devices, draw_matrix)
    pings, silences = _device_tracks(rng, proj, area, visits, devices, vehicle)
    pings = _add_ping_dirt(rng, proj, pings, silences, devices, vehicle, area.county)
    n_background = (scale - 1) * SCALE_ROWS // (3600 // BACKGROUND_STEP_S)
    background = _background_pings(brng, proj, area, days, n_background) if scale > 1 else None
    manifest_pings, invalid_list = _write_ping_files(rng, landing, pings, background)
    planned = _patrol_and_compliance_truth(
        truth_dir, visits, devices, vehicle, area.codes, selection, days, plan, _drawn_sets(drawn), weekly
    )

    params = {
        "seed": seed,
        "force": force,
        "n_areas": n_areas,
        "hotspot_count": hotspot_count,
        "crime_months": months,
        "avl_start": avl_start.isoformat(),
        "avl_days": avl_days,
        "n_devices": n_devices,
    }
    manifest = _manifest(
        params, area, selection, manifest_crime, manifest_pings, invalid_list, devices, visits, planned, days
    )
    if plan_k is not None:  # absent without a plan, so the default sample's manifest is unchanged
        manifest["params"].update(plan_k=plan_k, plan_seed=plan_seed, contamination=ROWAN_CONTAMINATION)
        manifest["drawn"] = drawn
    if scale > 1:  # absent at scale 1, so the default sample's manifest is unchanged
        manifest["params"]["scale"] = scale
        manifest["avl"]["background_devices"] = n_background
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return Sample(
        out_dir=out_dir,
        landing_dir=out_dir / "landing",
        truth_dir=truth_dir,
        force=force,
        crime_months=months,
        avl_dates=days,
        settings_env={
            "HOTSPOTS_DATA_DIR": str(out_dir),
            "HOTSPOTS_FORCES": force,
            "HOTSPOTS_HOTSPOT_COUNT": str(hotspot_count),
            "HOTSPOTS_PSEUDONYM_KEY": SAMPLE_PSEUDONYM_KEY,
            # The sample's few patrol cars leave natural gaps of up to 2.5 h in the window, and its fleet is too
            # small for the hourly device check: feed_missing stays quiet on the clean sample.
            "HOTSPOTS_FEED_GAP_MINUTES": "180",
            "HOTSPOTS_FEED_MIN_DEVICES": "20",
            # The synthetic county is not on data.police.uk: a missing month is never fetched from the real API.
            "HOTSPOTS_CRIME_API_URL": "",
            **({} if plan_k is None else {"HOTSPOTS_PLAN_K": str(plan_k), "HOTSPOTS_PLAN_SEED": str(plan_seed)}),
        },
        manifest=manifest,
        scale=scale,
    )


def _drawn_sets(drawn: dict[str, list[str]] | None) -> dict[str, set[str]] | None:
    return None if drawn is None else {day: set(codes) for day, codes in drawn.items()}


def _weekly_plan_truth(drawn: dict[str, list[str]]) -> list[tuple]:
    """The weekly_plan lines of the schedules published ahead: one per hot spot drawn at least once in a week,
    dated the week's Monday (docs/alerts.md, Weekly schedule)."""
    weeks: dict[str, set[str]] = {}
    for day, chosen in drawn.items():
        monday = date.fromisoformat(day) - timedelta(days=date.fromisoformat(day).weekday())
        weeks.setdefault(monday.isoformat(), set()).update(chosen)
    return [("weekly_plan", code, week, "info", "supervisors") for week, codes in weeks.items() for code in codes]


def _plan_truth(truth_dir: Path, drawn: dict[str, list[str]], hot_codes: list[str]) -> None:
    """plan.csv: date, area_code, planned, draw_order (1..k in draw order, empty when not drawn)."""
    rows = []
    for day, chosen in sorted(drawn.items()):
        order = {code: i + 1 for i, code in enumerate(chosen)}
        rows += [
            {"date": day, "area_code": code, "planned": code in order, "draw_order": order.get(code)}
            for code in sorted(hot_codes)
        ]
    pd.DataFrame(rows).astype({"draw_order": "Int64"}).to_csv(truth_dir / "plan.csv", index=False)


def _points_inside_xy(rng, region, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n uniform random points (EPSG:27700) inside region."""
    minx, miny, maxx, maxy = region.bounds
    xs, ys = [], []
    while sum(len(v) for v in xs) < n:
        x = rng.uniform(minx, maxx, 8 * n)
        y = rng.uniform(miny, maxy, 8 * n)
        keep = shapely.contains_xy(region, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]
