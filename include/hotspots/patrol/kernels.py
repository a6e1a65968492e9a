"""Compiled loops (numba) behind the fast patrol method: ping intervals, grid build, area lookup, per-area sweep.

All times are int64 microseconds since the epoch (UTC); all coordinates are EPSG:27700 metres. An area's
shape is stored as flat rings: ``ring_xy`` (closed rings, x and y), ``ring_ptr`` (start of each ring) and
``area_ring_ptr`` (first ring of each area), so the even-odd rule over all rings of an area covers holes and
multipolygons.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

SPEED_FACTOR = 3_600_000.0  # metres per microsecond -> km/h


@njit(cache=True)
def presence_intervals(dev, n_dev, ts, x, y, speed, gap_us, max_speed):
    """End of each ping's presence interval and whether it counts as patrol (pings in time order).

    A ping's interval runs to the device's next ping, capped at gap_us. It is not patrol when it is empty
    (a device's last ping, or a repeated time) or when its speed, the reported speed of the starting ping or
    else distance / time to the next ping, exceeds max_speed. One pass: each ping closes its device's
    previous ping, which is still in cache.
    """
    n = ts.shape[0]
    end = ts.copy()
    ok = np.zeros(n, np.bool_)
    last = np.full(n_dev, -1, np.int64)
    for i in range(n):
        d = dev[i]
        j = last[d]
        last[d] = i
        if j < 0:
            continue
        dt = ts[i] - ts[j]
        if dt <= 0:
            continue
        s = speed[j]
        if np.isnan(s):
            dx = x[i] - x[j]
            dy = y[i] - y[j]
            s = np.sqrt(dx * dx + dy * dy) * SPEED_FACTOR / dt
        if s > max_speed:
            continue
        end[j] = ts[j] + min(dt, gap_us)
        ok[j] = True
    return end, ok


@njit(cache=True)
def is_sorted(ts):
    for i in range(1, ts.shape[0]):
        if ts[i] < ts[i - 1]:
            return False
    return True


@njit(cache=True, inline="always")
def _segment_d2(px, py, x1, y1, dx, dy, ll):
    """Squared distance from (px, py) to the segment from (x1, y1) along (dx, dy); ll = dx^2 + dy^2."""
    t = 0.0
    if ll > 0.0:
        t = ((px - x1) * dx + (py - y1) * dy) / ll
        t = min(1.0, max(0.0, t))
    ex = x1 + t * dx - px
    ey = y1 + t * dy - py
    return ex * ex + ey * ey


@njit(cache=True)
def _inside_and_dist2(px, py, a, ring_xy, ring_ptr, area_ring_ptr, stop_d2):
    """(inside by even-odd rule, squared distance to the nearest edge); the distance search stops early once
    it is <= stop_d2."""
    inside = False
    best = np.inf
    for r in range(area_ring_ptr[a], area_ring_ptr[a + 1]):
        for k in range(ring_ptr[r], ring_ptr[r + 1] - 1):
            x1 = ring_xy[k, 0]
            y1 = ring_xy[k, 1]
            x2 = ring_xy[k + 1, 0]
            y2 = ring_xy[k + 1, 1]
            if (y1 > py) != (y2 > py):
                if px < x1 + (py - y1) * (x2 - x1) / (y2 - y1):
                    inside = not inside
            if best > stop_d2:
                dx = x2 - x1
                dy = y2 - y1
                d2 = _segment_d2(px, py, x1, y1, dx, dy, dx * dx + dy * dy)
                if d2 < best:
                    best = d2
    return inside, best


@njit(cache=True)
def within_distance(px, py, a, ring_xy, ring_ptr, area_ring_ptr, dist):
    """True when the point is inside area a or at most dist from its boundary (ST_DWithin semantics)."""
    inside, d2 = _inside_and_dist2(px, py, a, ring_xy, ring_ptr, area_ring_ptr, dist * dist)
    return inside or d2 <= dist * dist


@njit(cache=True)
def _classify_area(a, bbox, gx0, gy0, cs, ncols, nrows, ring_xy, ring_ptr, area_ring_ptr, lo, hi, out_cell, out_flag, write):
    """Cells near area a: flag 1 = every point of the cell is in the buffered area, 0 = some may be.

    A cell is certain when the signed distance of its centre to the area is <= lo (buffer - half diagonal),
    possible when <= hi (buffer + half diagonal). Distances are splatted edge by edge onto the cells within
    hi of the edge; inside/outside comes from the even-odd rule along each row of cell centres (the same
    crossing test as within_distance). Returns the number of cells (written when write is True).
    """
    c0 = max(0, int(np.floor((bbox[a, 0] - hi - gx0) / cs)))
    c1 = min(ncols - 1, int(np.floor((bbox[a, 2] + hi - gx0) / cs)))
    r0 = max(0, int(np.floor((bbox[a, 1] - hi - gy0) / cs)))
    r1 = min(nrows - 1, int(np.floor((bbox[a, 3] + hi - gy0) / cs)))
    nc = c1 - c0 + 1
    nr = r1 - r0 + 1
    if nc <= 0 or nr <= 0:
        return 0
    dist2 = np.full((nr, nc), np.inf)
    mark = np.zeros((nr, nc + 1), np.bool_)
    for rg in range(area_ring_ptr[a], area_ring_ptr[a + 1]):
        for k in range(ring_ptr[rg], ring_ptr[rg + 1] - 1):
            x1 = ring_xy[k, 0]
            y1 = ring_xy[k, 1]
            x2 = ring_xy[k + 1, 0]
            y2 = ring_xy[k + 1, 1]
            dx = x2 - x1
            dy = y2 - y1
            ll = dx * dx + dy * dy
            ea = max(0, int(np.floor((min(x1, x2) - hi - gx0) / cs)) - c0)
            eb = min(nc - 1, int(np.floor((max(x1, x2) + hi - gx0) / cs)) - c0)
            fa = max(0, int(np.floor((min(y1, y2) - hi - gy0) / cs)) - r0)
            fb = min(nr - 1, int(np.floor((max(y1, y2) + hi - gy0) / cs)) - r0)
            for r in range(fa, fb + 1):
                cy = gy0 + (r + r0 + 0.5) * cs
                if (y1 > cy) != (y2 > cy):
                    xc = x1 + (cy - y1) * dx / dy
                    kk = int(np.ceil((xc - gx0) / cs - 0.5)) - c0
                    kk = min(max(kk, 0), nc)
                    mark[r, kk] = not mark[r, kk]
                for c in range(ea, eb + 1):
                    cx = gx0 + (c + c0 + 0.5) * cs
                    d2 = _segment_d2(cx, cy, x1, y1, dx, dy, ll)
                    if d2 < dist2[r, c]:
                        dist2[r, c] = d2
    count = 0
    for r in range(nr):
        inside = False
        # parity of cell c = XOR of marks at positions > c
        par = np.zeros(nc, np.bool_)
        for c in range(nc - 1, -1, -1):
            if mark[r, c + 1]:
                inside = not inside
            par[c] = inside
        for c in range(nc):
            d = np.sqrt(dist2[r, c])
            sd = -d if par[c] else d
            if sd <= lo:
                flag = 1
            elif sd <= hi:
                flag = 0
            else:
                continue
            if write:
                out_cell[count] = (r + r0) * ncols + (c + c0)
                out_flag[count] = flag
            count += 1
    return count


@njit(cache=True, parallel=True)
def build_grid(bbox, gx0, gy0, cs, ncols, nrows, ring_xy, ring_ptr, area_ring_ptr, lo, hi):
    """Cell -> areas table (CSR): cell_ptr[n_cells + 1], entries = area * 2 + certain."""
    n_areas = bbox.shape[0]
    dummy_i = np.empty(0, np.int64)
    dummy_f = np.empty(0, np.int8)
    counts = np.zeros(n_areas, np.int64)
    for a in prange(n_areas):
        counts[a] = _classify_area(a, bbox, gx0, gy0, cs, ncols, nrows, ring_xy, ring_ptr, area_ring_ptr, lo, hi, dummy_i, dummy_f, False)
    offs = np.zeros(n_areas + 1, np.int64)
    for a in range(n_areas):
        offs[a + 1] = offs[a] + counts[a]
    cells = np.empty(offs[n_areas], np.int64)
    flags = np.empty(offs[n_areas], np.int8)
    for a in prange(n_areas):
        _classify_area(a, bbox, gx0, gy0, cs, ncols, nrows, ring_xy, ring_ptr, area_ring_ptr, lo, hi,
                       cells[offs[a]:offs[a + 1]], flags[offs[a]:offs[a + 1]], True)
    n_cells = ncols * nrows
    cell_ptr = np.zeros(n_cells + 1, np.int32)
    for k in range(cells.shape[0]):
        cell_ptr[cells[k] + 1] += 1
    for c in range(n_cells):
        cell_ptr[c + 1] += cell_ptr[c]
    fill = cell_ptr[:-1].copy()
    entries = np.empty(cells.shape[0], np.int32)
    for a in range(n_areas):
        for k in range(offs[a], offs[a + 1]):
            c = cells[k]
            entries[fill[c]] = a * 2 + flags[k]
            fill[c] += 1
    return cell_ptr, entries


@njit(cache=True)
def _cell(px, py, gx0, gy0, inv, ncols, nrows):
    c = int(np.floor((px - gx0) * inv))
    r = int(np.floor((py - gy0) * inv))
    if c >= 0 and c < ncols and r >= 0 and r < nrows:
        return r * ncols + c
    return -1


@njit(cache=True, parallel=True)
def locate(idx, x, y, gx0, gy0, cs, ncols, nrows, cell_ptr, entries, ring_xy, ring_ptr, area_ring_ptr, dist):
    """(ping, area) pairs for the pings idx (in time order): grid lookup, exact test only in uncertain
    cells. Pairs that fail the exact test have area -1 (group_by_area skips them)."""
    m = idx.shape[0]
    count = np.zeros(m + 1, np.int64)
    inv = 1.0 / cs
    for k in prange(m):
        i = idx[k]
        cc = _cell(x[i], y[i], gx0, gy0, inv, ncols, nrows)
        if cc >= 0:
            count[k + 1] = cell_ptr[cc + 1] - cell_ptr[cc]
    for k in range(m):
        count[k + 1] += count[k]
    pair_ping = np.empty(count[m], np.int64)
    pair_area = np.empty(count[m], np.int32)
    for k in prange(m):
        out = count[k]
        if count[k + 1] == out:
            continue
        i = idx[k]
        cc = _cell(x[i], y[i], gx0, gy0, inv, ncols, nrows)
        for e in range(cell_ptr[cc], cell_ptr[cc + 1]):
            code = entries[e]
            a = code >> 1
            pair_ping[out] = i
            if (code & 1) == 1 or within_distance(x[i], y[i], a, ring_xy, ring_ptr, area_ring_ptr, dist):
                pair_area[out] = a
            else:
                pair_area[out] = -1
            out += 1
    return pair_ping, pair_area


@njit(cache=True)
def group_by_area(pair_ping, pair_area, n_areas, ts, end, dev):
    """Stable counting sort of the pairs by area into contiguous (start, end, device) records:
    (area_ptr[n_areas + 1], start, end, device), time order kept within each area."""
    ptr = np.zeros(n_areas + 1, np.int64)
    for k in range(pair_area.shape[0]):
        ptr[pair_area[k] + 1] += 1  # area -1 (failed exact test) lands in ptr[0], dropped below
    ptr[0] = 0
    for a in range(n_areas):
        ptr[a + 1] += ptr[a]
    fill = ptr[:-1].copy()
    m = ptr[n_areas]
    start = np.empty(m, np.int64)
    stop = np.empty(m, np.int64)
    device = np.empty(m, np.int32)
    for k in range(pair_area.shape[0]):
        a = pair_area[k]
        if a < 0:
            continue
        i = pair_ping[k]
        j = fill[a]
        start[j] = ts[i]
        stop[j] = end[i]
        device[j] = dev[i]
        fill[a] = j + 1
    return ptr, start, stop, device


@njit(cache=True)
def _emit_visit(a, s, e, midnights, win, koper_us, patrol, visits, koper, window):
    d = np.searchsorted(midnights, s, side="right") - 1
    while s < e:
        pe = min(e, midnights[d + 1])
        length = pe - s
        patrol[a, d] += length
        visits[a, d] += 1
        if length >= koper_us:
            koper[a, d] += 1
        for w in range(2):
            ov = min(pe, win[d, w, 1]) - max(s, win[d, w, 0])
            if ov > 0:
                window[a, d] += ov
        s = pe
        d += 1


@njit(cache=True, parallel=True)
def sweep_areas(area_ptr, start, stop, device, n_dev, midnights, win, koper_us):
    """Per area and local day: patrol (union), officer (sum), visits, Koper visits, devices, window time (us).
    Records of an area are in time order, so one pass keeps the union's open segment and the day."""
    n_areas = area_ptr.shape[0] - 1
    n_days = midnights.shape[0] - 1
    patrol = np.zeros((n_areas, n_days), np.int64)
    officer = np.zeros((n_areas, n_days), np.int64)
    visits = np.zeros((n_areas, n_days), np.int64)
    koper = np.zeros((n_areas, n_days), np.int64)
    devices = np.zeros((n_areas, n_days), np.int64)
    window = np.zeros((n_areas, n_days), np.int64)
    for a in prange(n_areas):
        if area_ptr[a + 1] == area_ptr[a]:
            continue
        seen = np.full(n_dev, -1, np.int64)
        seg_s = -1
        seg_e = -1
        day = 0
        for k in range(area_ptr[a], area_ptr[a + 1]):
            s = start[k]
            e = stop[k]
            while midnights[day + 1] <= s:
                day += 1
            d = day
            ss = s
            while ss < e:
                pe = min(e, midnights[d + 1])
                officer[a, d] += pe - ss
                if seen[device[k]] < d:
                    seen[device[k]] = d
                    devices[a, d] += 1
                ss = pe
                d += 1
            if seg_e < 0:
                seg_s = s
                seg_e = e
            elif s > seg_e:
                _emit_visit(a, seg_s, seg_e, midnights, win, koper_us, patrol, visits, koper, window)
                seg_s = s
                seg_e = e
            elif e > seg_e:
                seg_e = e
        _emit_visit(a, seg_s, seg_e, midnights, win, koper_us, patrol, visits, koper, window)
    return patrol, officer, visits, koper, devices, window
