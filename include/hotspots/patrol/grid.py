"""A grid index over the areas: each cell lists the areas it may touch, and whether it lies wholly inside.

A cell whose centre is within ``buffer - half diagonal`` of an area (signed distance) is certain: every point
of the cell is within ``buffer`` of the area, so its pings need no geometry test. A cell within
``buffer + half diagonal`` is uncertain: its pings get the exact test (inside the polygon or within ``buffer``
of its boundary; only the distance when the cell lies wholly outside the polygon, as every uncertain cell does
when the buffer exceeds half a cell diagonal). Cells farther away cannot hold a ping of the area. A ping can
belong to several areas (buffers overlap): the cell lists every one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import shapely

from hotspots.patrol import kernels

# Slack for rounding in the cell classification (metres): a cell this close to a threshold is uncertain.
CLASSIFY_EPS_M = 0.01
MAX_CELLS = 16_000_000


@dataclass(frozen=True)
class AreaIndex:
    """Areas as flat rings plus the cell table; build with AreaIndex.build(areas, buffer_m)."""

    codes: list[str]
    geoms: np.ndarray
    buffer_m: float
    ring_xy: np.ndarray
    ring_ptr: np.ndarray
    area_ring_ptr: np.ndarray
    gx0: float
    gy0: float
    cell_m: float
    ncols: int
    nrows: int
    cell_ptr: np.ndarray
    entries: np.ndarray
    cell_code: np.ndarray
    max_per_cell: int

    @classmethod
    def build(cls, areas: Sequence[tuple[str, object]], buffer_m: float, cell_m: float | None = None) -> "AreaIndex":
        """Index (area_code, shapely polygon in EPSG:27700) pairs for pings within buffer_m of an area."""
        if not areas:
            raise ValueError("No areas given: load the force's areas (stg_areas) before computing patrol minutes.")
        codes = [str(code) for code, _ in areas]
        if len(set(codes)) != len(codes):
            repeated = sorted({c for c in codes if codes.count(c) > 1})
            raise ValueError("Area codes must be unique; duplicates: " + ", ".join(repeated))
        geoms = np.asarray([geom for _, geom in areas], dtype=object)
        ring_xy, ring_ptr, area_ring_ptr = flat_rings(geoms)
        bounds = shapely.bounds(geoms)
        if cell_m is None:
            cell_m = default_cell_m(bounds, buffer_m)
        margin = buffer_m + cell_m
        gx0 = float(np.floor(bounds[:, 0].min() - margin))
        gy0 = float(np.floor(bounds[:, 1].min() - margin))
        ncols = int(np.ceil((bounds[:, 2].max() + margin - gx0) / cell_m))
        nrows = int(np.ceil((bounds[:, 3].max() + margin - gy0) / cell_m))
        half_diag = cell_m * np.sqrt(0.5)
        lo = buffer_m - half_diag - CLASSIFY_EPS_M
        hi = buffer_m + half_diag + CLASSIFY_EPS_M
        cell_ptr, entries = kernels.build_grid(
            bounds,
            gx0,
            gy0,
            float(cell_m),
            ncols,
            nrows,
            ring_xy,
            ring_ptr,
            area_ring_ptr,
            lo,
            hi,
            half_diag + CLASSIFY_EPS_M,
        )
        return cls(
            codes,
            geoms,
            float(buffer_m),
            ring_xy,
            ring_ptr,
            area_ring_ptr,
            gx0,
            gy0,
            float(cell_m),
            ncols,
            nrows,
            cell_ptr,
            entries,
            kernels.cell_codes(cell_ptr, entries),
            int(np.diff(cell_ptr).max(initial=1)),
        )

    def pairs(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, area index) of every point within buffer_m of an area, in point order."""
        return kernels.locate_pairs(
            np.asarray(x, np.float64), np.asarray(y, np.float64), self.grid, self.shape, self.buffer_m
        )

    @property
    def grid(self) -> tuple:
        """The cell table as the kernels take it."""
        return (self.gx0, self.gy0, self.cell_m, self.ncols, self.nrows, self.cell_code, self.cell_ptr, self.entries)

    @property
    def shape(self) -> tuple:
        """The area outlines (flat rings) as the kernels take them."""
        return (self.ring_xy, self.ring_ptr, self.area_ring_ptr)

    def stats(self) -> dict[str, float]:
        certain = int(np.count_nonzero((self.entries & 3) == kernels.CERTAIN))
        return {
            "cell_m": self.cell_m,
            "cells": self.ncols * self.nrows,
            "entries": int(self.entries.size),
            "certain_share": certain / max(1, self.entries.size),
        }


def default_cell_m(bounds: np.ndarray, buffer_m: float) -> float:
    """Cell size: a quarter of the buffer (at least 10 m), grown when the region would need too many cells."""
    width = bounds[:, 2].max() - bounds[:, 0].min() + 2 * buffer_m
    height = bounds[:, 3].max() - bounds[:, 1].min() + 2 * buffer_m
    cell = max(10.0, buffer_m / 4)
    return float(max(cell, np.sqrt(width * height / MAX_CELLS)))


def flat_rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All rings (exteriors and holes of every part) as one coordinate array with ring and area offsets."""
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds <= {3, 6}:
        raise ValueError(
            "Areas must be polygons or multipolygons (EPSG:27700); got geometry type ids " + str(sorted(kinds))
        )
    parts, part_area = shapely.get_parts(geoms, return_index=True)
    rings_ext = shapely.get_exterior_ring(parts)
    n_holes = shapely.get_num_interior_rings(parts)
    ring_list, ring_area = [rings_ext], [part_area]
    if n_holes.sum():
        holes, hole_part = shapely.get_rings(parts, return_index=True)
        is_hole = np.ones(len(holes), bool)
        first = np.r_[0, np.cumsum(n_holes + 1)[:-1]]
        is_hole[first] = False
        ring_list.append(holes[is_hole])
        ring_area.append(part_area[hole_part[is_hole]])
    rings = np.concatenate(ring_list)
    areas = np.concatenate(ring_area)
    order = np.argsort(areas, kind="stable")
    rings, areas = rings[order], areas[order]
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    ring_ptr = np.searchsorted(ring_of, np.arange(len(rings) + 1)).astype(np.int64)
    area_ring_ptr = np.searchsorted(areas, np.arange(len(geoms) + 1)).astype(np.int64)
    return np.ascontiguousarray(coords, dtype=np.float64), ring_ptr, area_ring_ptr
