"""Hand-made ping files over the 4 x 4 grid of 1 km squares of sources_fixtures (ground truth by construction)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from sources_fixtures import SIZE, TO_WGS84, X0, Y0, code, insert_squares

DAY = "2024-05-01"
HEADER = ["device_id", "timestamp", "lon", "lat", "speed_kmh", "unit_type"]


FORCE = "test"


def load_square_areas(con, force: str = FORCE) -> None:
    insert_squares(con, force)


def centre(col: int, row: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    return X0 + (col + 0.5) * SIZE + dx, Y0 + (row + 0.5) * SIZE + dy


def ping_rows(
    device: str, start: str, count: int, step_s: int, col: int = 1, row: int = 1, speed: str = "", unit: str = "vehicle"
) -> list[dict]:
    """count pings every step_s seconds at the centre of square (col, row), as text like a real drop."""
    t0 = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
    lon, lat = TO_WGS84.transform(*centre(col, row))
    return [
        {
            "device_id": device,
            "timestamp": (t0 + timedelta(seconds=k * step_s)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
            "speed_kmh": speed,
            "unit_type": unit,
        }
        for k in range(count)
    ]


def write_pings(folder: Path, rows: list[dict], name: str = "pings-10.csv", day: str = DAY) -> Path:
    path = folder / "avl" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(rows[0]) if rows else HEADER).to_csv(path, index=False)
    return path


__all__ = ["DAY", "FORCE", "centre", "code", "load_square_areas", "ping_rows", "write_pings"]


# Ping files broken in their structure: (file name, text, the message the rejection must match).
STRUCTURAL_FAULTS = [
    (
        "no-device.csv",
        "timestamp,lon,lat\n2024-05-01T10:00:00Z,-0.4,52.1\n",
        "required column 'device_id' is missing",
    ),
    ("empty.csv", "", "empty"),
    ("header-only.csv", "device_id,timestamp,lon,lat\n", "no data rows"),
    ("semicolons.csv", "device_id;timestamp;lon;lat\nA;2024-05-01T10:00:00Z;-0.4;52.1\n", "semicolons"),
    ("no-coordinates.csv", "device_id,timestamp,x,y\nA,2024-05-01T10:00:00Z,-0.4,52.1\n", "no coordinate columns"),
    ("pings.txt", "device_id,timestamp,lon,lat\n", "unknown file type"),
]
