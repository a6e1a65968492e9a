"""Compiled loops (numba) behind the fast patrol method: the grid build, pass 1 (close_and_locate: interval
ends and each ping's areas), passes 2-3 (daily_figures); and, for the reference methods, presence_intervals,
group_by_area and the plain per-area sweep (sweep_areas).

All times are int64 microseconds since the epoch (UTC); all coordinates are EPSG:27700 metres. An area's
shape is stored as flat rings: ``ring_xy`` (closed rings, x and y), ``ring_ptr`` (start of each ring) and
``area_ring_ptr`` (first ring of each area), so the even-odd rule over all rings of an area covers holes and
multipolygons.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

SPEED_FACTOR = 3_600_000.0  # metres per microsecond -> km/h


def chunk_count(n: int, width: int) -> int:
    """Time chunks for the parallel passes: a few per thread, none tiny, chunks x width counters bounded.
    Results do not depend on it."""
    return max(1, min(4 * numba.get_num_threads(), n // 65536, 20_000_000 // max(width, 1)))


@njit(cache=True, inline="always")
def _close(j, i, ts, x, y, speed, gap_us, max_speed, end):
    """Set the end of ping j's interval, i being the device's next ping (see presence_intervals)."""
    dt = ts[i] - ts[j]
    if dt <= 0:
        return
    s = speed[j]
    if np.isnan(s):
        dx = x[i] - x[j]
        dy = y[i] - y[j]
        s = np.sqrt(dx * dx + dy * dy) * SPEED_FACTOR / dt
    if s <= max_speed:
        end[j] = ts[j] + min(dt, gap_us)


@njit(cache=True, inline="always")
def _open(i, dev, ts, x, y, speed, gap_us, max_speed, lst, fst, end):
    """Ping i opens its interval (end = ts until it is closed) and closes its device's previous ping in the
    chunk (lst: the device's last ping so far, fst: its first)."""
    end[i] = ts[i]
    d = dev[i]
    j = lst[d]
    lst[d] = i
    if j < 0:
        fst[d] = i
    else:
        _close(j, i, ts, x, y, speed, gap_us, max_speed, end)


@njit(cache=True)
def _close_across_chunks(first, last, ts, x, y, speed, gap_us, max_speed, end):
    """Close each device's last ping of a chunk with its first ping in a later chunk."""
    nch, n_dev = first.shape
    following = np.full(n_dev, -1, np.int64)
    for c in range(nch - 1, -1, -1):
        for d in range(n_dev):
            if last[c, d] >= 0 and following[d] >= 0:
                _close(last[c, d], following[d], ts, x, y, speed, gap_us, max_speed, end)
            if first[c, d] >= 0:
                following[d] = first[c, d]


@njit(cache=True, parallel=True)
def presence_intervals(dev, n_dev, ts, x, y, speed, gap_us, max_speed, nch):
    """End of each ping's presence interval (pings in time order); end == ts means not patrol.

    A ping's interval runs to the device's next ping, capped at gap_us. It is not patrol when it is empty
    (a device's last ping, or a repeated time) or when its speed, the reported speed of the starting ping or
    else distance / time to the next ping, exceeds max_speed. Time chunks run in parallel, each closing its
    devices' previous pings; a device's last ping in a chunk is closed afterwards by its first ping in a
    later chunk.
    """
    n = ts.shape[0]
    end = np.empty(n, np.int64)
    first = np.full((nch, n_dev), -1, np.int64)
    last = np.full((nch, n_dev), -1, np.int64)
    for c in prange(nch):
        lst = last[c]
        fst = first[c]
        for i in range(c * n // nch, (c + 1) * n // nch):
            _open(i, dev, ts, x, y, speed, gap_us, max_speed, lst, fst, end)
    _close_across_chunks(first, last, ts, x, y, speed, gap_us, max_speed, end)
    return end


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


CERTAIN = 1  # every point of the cell is within the buffered area: no test
OUTSIDE = 2  # the cell lies wholly outside the polygon: test the distance to the boundary only
UNCERTAIN = 0  # full test: inside the polygon or within the buffer of its boundary


@njit(cache=True)
def _cell_range(a, bbox, gx0, gy0, cs, ncols, nrows, hi):
    """Columns c0..c1 and rows r0..r1 of the cells within hi of area a's bounding box."""
    c0 = max(0, int(np.floor((bbox[a, 0] - hi - gx0) / cs)))
    c1 = min(ncols - 1, int(np.floor((bbox[a, 2] + hi - gx0) / cs)))
    r0 = max(0, int(np.floor((bbox[a, 1] - hi - gy0) / cs)))
    r1 = min(nrows - 1, int(np.floor((bbox[a, 3] + hi - gy0) / cs)))
    return c0, c1, r0, r1


@njit(cache=True, inline="always")
def _edge_cells(x1, y1, x2, y2, gx0, gy0, cs, c0, r0, nc, nr, hi):
    """Local columns ea..eb and rows fa..fb of the cells within hi of an edge's bounding box."""
    ea = max(0, int(np.floor((min(x1, x2) - hi - gx0) / cs)) - c0)
    eb = min(nc - 1, int(np.floor((max(x1, x2) + hi - gx0) / cs)) - c0)
    fa = max(0, int(np.floor((min(y1, y2) - hi - gy0) / cs)) - r0)
    fb = min(nr - 1, int(np.floor((max(y1, y2) + hi - gy0) / cs)) - r0)
    return ea, eb, fa, fb


@njit(cache=True)
def _classify_area(
    a, bbox, gx0, gy0, cs, ncols, nrows, ring_xy, ring_ptr, area_ring_ptr, lo, hi, half_diag, out_cell, out_kind
):
    """Cells near area a and their kind (CERTAIN, OUTSIDE or UNCERTAIN).

    A cell is certain when the signed distance of its centre to the area is <= lo (buffer - half diagonal),
    possible when <= hi (buffer + half diagonal); a possible cell whose centre is more than half a diagonal
    outside the polygon lies wholly outside it. Distances are splatted edge by edge onto the cells within hi
    of the edge; inside/outside comes from the even-odd rule along each row of cell centres (the same
    crossing test as within_distance). Writes the cells to out_cell/out_kind and returns how many.
    """
    c0, c1, r0, r1 = _cell_range(a, bbox, gx0, gy0, cs, ncols, nrows, hi)
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
            ea, eb, fa, fb = _edge_cells(x1, y1, x2, y2, gx0, gy0, cs, c0, r0, nc, nr, hi)
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
                kind = CERTAIN
            elif sd <= hi:
                kind = OUTSIDE if sd > half_diag else UNCERTAIN
            else:
                continue
            out_cell[count] = (r + r0) * ncols + (c + c0)
            out_kind[count] = kind
            count += 1
    return count


@njit(cache=True)
def _counting_sort(keys, block_off, block_n, n_keys):
    """Stable counting sort of the items keys[block_off[b]:block_off[b] + block_n[b]], blocks in order:
    (ptr[n_keys + 1], dest) where item k goes to dest[k] and key a's items fill [ptr[a], ptr[a + 1])."""
    ptr = np.zeros(n_keys + 1, np.int64)
    for b in range(block_n.shape[0]):
        for k in range(block_off[b], block_off[b] + block_n[b]):
            ptr[keys[k] + 1] += 1
    for a in range(n_keys):
        ptr[a + 1] += ptr[a]
    cur = ptr[:-1].copy()
    dest = np.empty(keys.shape[0], np.int64)
    for b in range(block_n.shape[0]):
        for k in range(block_off[b], block_off[b] + block_n[b]):
            dest[k] = cur[keys[k]]
            cur[keys[k]] += 1
    return ptr, dest


@njit(cache=True, parallel=True)
def build_grid(bbox, gx0, gy0, cs, ncols, nrows, ring_xy, ring_ptr, area_ring_ptr, lo, hi, half_diag):
    """Cell -> areas table (CSR): cell_ptr[n_cells + 1], entries = area * 4 + kind. Each area is classified
    once, in parallel, into room sized by its bounding box."""
    n_areas = bbox.shape[0]
    offs = np.zeros(n_areas + 1, np.int64)
    for a in range(n_areas):
        c0, c1, r0, r1 = _cell_range(a, bbox, gx0, gy0, cs, ncols, nrows, hi)
        offs[a + 1] = offs[a] + max(0, c1 - c0 + 1) * max(0, r1 - r0 + 1)
    cells = np.empty(offs[n_areas], np.int64)
    kinds = np.empty(offs[n_areas], np.int8)
    counts = np.zeros(n_areas, np.int64)
    for a in prange(n_areas):
        counts[a] = _classify_area(
            a,
            bbox,
            gx0,
            gy0,
            cs,
            ncols,
            nrows,
            ring_xy,
            ring_ptr,
            area_ring_ptr,
            lo,
            hi,
            half_diag,
            cells[offs[a] : offs[a + 1]],
            kinds[offs[a] : offs[a + 1]],
        )
    cell_ptr, dest = _counting_sort(cells, offs, counts, ncols * nrows)
    entries = np.empty(cell_ptr[-1], np.int32)
    for a in range(n_areas):
        for k in range(offs[a], offs[a] + counts[a]):
            entries[dest[k]] = a * 4 + kinds[k]
    return cell_ptr, entries


@njit(cache=True, inline="always")
def _cell(px, py, gx0, gy0, inv, ncols, nrows):
    c = int(np.floor((px - gx0) * inv))
    r = int(np.floor((py - gy0) * inv))
    if c >= 0 and c < ncols and r >= 0 and r < nrows:
        return r * ncols + c
    return -1


@njit(cache=True)
def near_boundary(px, py, a, ring_xy, ring_ptr, area_ring_ptr, dist):
    """True when the point is at most dist from the boundary of area a (stops at the first such edge)."""
    d2max = dist * dist
    for r in range(area_ring_ptr[a], area_ring_ptr[a + 1]):
        for k in range(ring_ptr[r], ring_ptr[r + 1] - 1):
            x1 = ring_xy[k, 0]
            y1 = ring_xy[k, 1]
            x2 = ring_xy[k + 1, 0]
            y2 = ring_xy[k + 1, 1]
            if px < min(x1, x2) - dist or px > max(x1, x2) + dist or py < min(y1, y2) - dist or py > max(y1, y2) + dist:
                continue
            dx = x2 - x1
            dy = y2 - y1
            if _segment_d2(px, py, x1, y1, dx, dy, dx * dx + dy * dy) <= d2max:
                return True
    return False


@njit(cache=True, inline="always")
def _hit(code, px, py, shape, dist):
    """Does a ping in a cell with this entry (area * 4 + kind) belong to the entry's area? shape = (ring_xy,
    ring_ptr, area_ring_ptr)."""
    kind = code & 3
    if kind == CERTAIN:
        return True
    ring_xy, ring_ptr, area_ring_ptr = shape
    if kind == OUTSIDE:
        return near_boundary(px, py, code >> 2, ring_xy, ring_ptr, area_ring_ptr, dist)
    return within_distance(px, py, code >> 2, ring_xy, ring_ptr, area_ring_ptr, dist)


@njit(cache=True)
def cell_codes(cell_ptr, entries):
    """One int32 per cell, so most pings need one table read: -1 no area, >= 0 the cell's only entry
    (area * 4 + kind), -2 - cell when the cell lists several areas (see cell_ptr/entries)."""
    n_cells = cell_ptr.shape[0] - 1
    code = np.full(n_cells, -1, np.int32)
    for c in range(n_cells):
        k = cell_ptr[c + 1] - cell_ptr[c]
        if k == 1:
            code[c] = entries[cell_ptr[c]]
        elif k > 1:
            code[c] = -2 - c
    return code


@njit(cache=True, inline="always")
def _locate(px, py, grid, shape, dist):
    """A ping's areas as (found, mask, n): found -1 none, >= 0 the one area, <= -2 a cell listing several
    areas (-2 - cell) with the bit mask of those that hold the ping (entries past the 32nd are counted in n as
    possible and tested again by _areas_of). grid = (gx0, gy0, cell_m, ncols, nrows, cell_code, cell_ptr,
    entries)."""
    gx0, gy0, cs, ncols, nrows, cell_code, cell_ptr, entries = grid
    cc = _cell(px, py, gx0, gy0, 1.0 / cs, ncols, nrows)
    if cc < 0:
        return -1, np.uint32(0), 0
    code = cell_code[cc]
    if code == -1:
        return -1, np.uint32(0), 0
    if code >= 0:
        if _hit(code, px, py, shape, dist):
            return code >> 2, np.uint32(0), 1
        return -1, np.uint32(0), 0
    mask = np.uint32(0)
    n = 0
    for e in range(cell_ptr[cc], cell_ptr[cc + 1]):
        k = e - cell_ptr[cc]
        if k >= 32:
            n += 1
        elif _hit(entries[e], px, py, shape, dist):
            mask |= np.uint32(1) << np.uint32(k)
            n += 1
    if n == 0:
        return -1, np.uint32(0), 0
    return -2 - cc, mask, n


@njit(cache=True, inline="always")
def _areas_of(found, mask, x, y, i, grid, shape, dist, out):
    """Write the areas of located ping i into out; returns how many."""
    if found >= 0:
        out[0] = found
        return 1
    cell_ptr = grid[6]
    entries = grid[7]
    cc = -2 - found
    n = 0
    for e in range(cell_ptr[cc], cell_ptr[cc + 1]):
        k = e - cell_ptr[cc]
        if k < 32:
            if (mask >> np.uint32(k)) & np.uint32(1) == 0:
                continue
        elif not _hit(entries[e], x[i], y[i], shape, dist):
            continue
        out[n] = entries[e] >> 2
        n += 1
    return n


@njit(cache=True, parallel=True)
def locate_pairs(x, y, grid, shape, dist):
    """(ping, area) pairs of every point within dist of an area, ping order (for checks and tools)."""
    n = x.shape[0]
    found = np.empty(n, np.int32)
    hits = np.empty(n, np.uint32)
    count = np.zeros(n + 1, np.int64)
    for i in prange(n):
        f, m, k = _locate(x[i], y[i], grid, shape, dist)
        found[i] = f
        hits[i] = m
        count[i + 1] = k
    for i in range(n):
        count[i + 1] += count[i]
    pair_ping = np.empty(count[n], np.int64)
    pair_area = np.full(count[n], -1, np.int64)
    for i in prange(n):
        if found[i] != -1:
            k = _areas_of(found[i], hits[i], x, y, i, grid, shape, dist, pair_area[count[i] : count[i + 1]])
            pair_ping[count[i] : count[i] + k] = i
    keep = pair_area >= 0
    return pair_ping[keep], pair_area[keep]


@njit(cache=True, parallel=True)
def close_and_locate(dev, n_dev, ts, x, y, speed, gap_us, max_speed, grid, shape, dist, nch, end, found, hits):
    """Pass 1 of the fast method, one read of the pings: fills end (interval ends, as presence_intervals) and
    each ping's areas (found, hits: as _locate); returns an upper bound of the (ping, area) records per chunk.
    The outputs come from the caller: numpy maps large arrays with huge pages, which spares most page faults."""
    n = ts.shape[0]
    records = np.zeros(nch, np.int64)
    first = np.full((nch, n_dev), -1, np.int64)
    last = np.full((nch, n_dev), -1, np.int64)
    for c in prange(nch):
        lst = last[c]
        fst = first[c]
        total = 0
        for i in range(c * n // nch, (c + 1) * n // nch):
            _open(i, dev, ts, x, y, speed, gap_us, max_speed, lst, fst, end)
            f, m, k = _locate(x[i], y[i], grid, shape, dist)
            found[i] = f
            hits[i] = m
            total += k
        records[c] = total
    _close_across_chunks(first, last, ts, x, y, speed, gap_us, max_speed, end)
    return records


@njit(cache=True, inline="always")
def _push_segment(out, a, s, e, seg_area, seg_s, seg_e):
    """Write area a's closed segment [s, e) at out; returns the next place."""
    seg_area[out] = a
    seg_s[out] = s
    seg_e[out] = e
    return out + 1


@njit(cache=True, parallel=True)
def daily_figures(
    ts, end, dev, x, y, found, hits, records, n_areas, n_dev, max_per_cell, grid, shape, dist, midnights, win, koper_us
):
    """Passes 2-3 of the fast method: per area and local day, patrol (union), officer (sum), visits, Koper
    visits, devices, window time and the longest visit inside the window (us), as sweep_areas computes them.

    Pass 2 runs over the time chunks of close_and_locate in parallel: officer time and a device bit set per
    (chunk, area, day), and each area's union of presence as segments, written to the chunk's part of one
    buffer (a segment is closed when a later record of the area starts after its end). Pass 3 runs over the
    areas in parallel: the segments of all chunks in time order are merged once more (a segment can continue
    across a chunk boundary) and each merged segment is one visit, split at local midnight.
    """
    n = ts.shape[0]
    nch = records.shape[0]
    n_days = midnights.shape[0] - 1
    words = (n_dev + 63) // 64
    officer_c = np.zeros((nch, n_areas, n_days), np.int64)
    seen = np.zeros((nch, n_areas, n_days, words), np.uint64)
    seg_off = np.zeros(nch + 1, np.int64)
    for c in range(nch):
        seg_off[c + 1] = seg_off[c] + records[c]
    seg_area = np.empty(seg_off[nch], np.int32)
    seg_s = np.empty(seg_off[nch], np.int64)
    seg_e = np.empty(seg_off[nch], np.int64)
    seg_n = np.zeros(nch, np.int64)
    for c in prange(nch):
        open_s = np.full(n_areas, -1, np.int64)
        open_e = np.full(n_areas, -1, np.int64)
        areas = np.empty(max_per_cell, np.int64)
        out = seg_off[c]
        day = 0
        for i in range(c * n // nch, (c + 1) * n // nch):
            s = ts[i]
            e = end[i]
            if e <= s or found[i] == -1:
                continue
            while midnights[day + 1] <= s:
                day += 1
            word = dev[i] >> 6
            bit = np.uint64(1) << np.uint64(dev[i] & 63)
            k = _areas_of(found[i], hits[i], x, y, i, grid, shape, dist, areas)
            for q in range(k):
                a = areas[q]
                d = day
                ss = s
                while ss < e:
                    pe = min(e, midnights[d + 1])
                    officer_c[c, a, d] += pe - ss
                    seen[c, a, d, word] |= bit
                    ss = pe
                    d += 1
                if open_e[a] < 0:
                    open_s[a] = s
                    open_e[a] = e
                elif s > open_e[a]:
                    out = _push_segment(out, a, open_s[a], open_e[a], seg_area, seg_s, seg_e)
                    open_s[a] = s
                    open_e[a] = e
                elif e > open_e[a]:
                    open_e[a] = e
        for a in range(n_areas):
            if open_e[a] >= 0:
                out = _push_segment(out, a, open_s[a], open_e[a], seg_area, seg_s, seg_e)
        seg_n[c] = out - seg_off[c]
    # group the segments by area, chunk order kept (so each area's segments are in time order)
    area_ptr, dest = _counting_sort(seg_area, seg_off, seg_n, n_areas)
    by_s = np.empty(area_ptr[n_areas], np.int64)
    by_e = np.empty(area_ptr[n_areas], np.int64)
    for c in range(nch):
        for k in range(seg_off[c], seg_off[c] + seg_n[c]):
            by_s[dest[k]] = seg_s[k]
            by_e[dest[k]] = seg_e[k]
    patrol, officer, visits, koper, devices, window, longest = _figure_arrays(n_areas, n_days)
    for a in prange(n_areas):
        for d in range(n_days):
            for c in range(nch):
                officer[a, d] += officer_c[c, a, d]
            for w in range(words):
                acc = np.uint64(0)
                for c in range(nch):
                    acc |= seen[c, a, d, w]
                while acc:
                    acc &= acc - np.uint64(1)
                    devices[a, d] += 1
        if area_ptr[a + 1] == area_ptr[a]:
            continue
        cs_ = by_s[area_ptr[a]]
        ce = by_e[area_ptr[a]]
        for k in range(area_ptr[a] + 1, area_ptr[a + 1]):
            if by_s[k] > ce:
                _emit_visit(a, cs_, ce, midnights, win, koper_us, patrol, visits, koper, window, longest)
                cs_ = by_s[k]
                ce = by_e[k]
            elif by_e[k] > ce:
                ce = by_e[k]
        _emit_visit(a, cs_, ce, midnights, win, koper_us, patrol, visits, koper, window, longest)
    return patrol, officer, visits, koper, devices, window, longest


@njit(cache=True)
def group_by_area(pair_ping, pair_area, n_areas, ts, end, dev):
    """(ping, area) pairs in time order -> presence records grouped by area, time order kept: (area_ptr,
    start, stop, device), area a's records at [area_ptr[a], area_ptr[a + 1]) (for the reference methods)."""
    n = pair_area.shape[0]
    ptr, dest = _counting_sort(pair_area, np.zeros(1, np.int64), np.full(1, n, np.int64), n_areas)
    start = np.empty(n, np.int64)
    stop = np.empty(n, np.int64)
    device = np.empty(n, np.int32)
    for k in range(n):
        i = pair_ping[k]
        start[dest[k]] = ts[i]
        stop[dest[k]] = end[i]
        device[dest[k]] = dev[i]
    return ptr, start, stop, device


@njit(cache=True)
def _figure_arrays(n_areas, n_days):
    """Zeroed (patrol, officer, visits, koper, devices, window, longest) per (area, day)."""
    return (
        np.zeros((n_areas, n_days), np.int64),
        np.zeros((n_areas, n_days), np.int64),
        np.zeros((n_areas, n_days), np.int64),
        np.zeros((n_areas, n_days), np.int64),
        np.zeros((n_areas, n_days), np.int64),
        np.zeros((n_areas, n_days), np.int64),
        np.zeros((n_areas, n_days), np.int64),
    )


@njit(cache=True)
def _emit_visit(a, s, e, midnights, win, koper_us, patrol, visits, koper, window, longest):
    """Count one visit [s, e) of area a, split at local midnight: each day's piece is a visit of that day; its
    stretch inside one window range (win[d, w]) is a continuous visit inside the window (longest keeps the
    day's longest)."""
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
                if ov > longest[a, d]:
                    longest[a, d] = ov
        s = pe
        d += 1


@njit(cache=True, parallel=True)
def sweep_areas(area_ptr, start, stop, device, n_dev, midnights, win, koper_us):
    """Per area and local day: patrol (union), officer (sum), visits, Koper visits, devices, window time and the
    longest visit inside the window (us). Records of an area are in time order, so one pass keeps the union's
    open segment and the day."""
    n_areas = area_ptr.shape[0] - 1
    n_days = midnights.shape[0] - 1
    patrol, officer, visits, koper, devices, window, longest = _figure_arrays(n_areas, n_days)
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
            dv = device[k]
            while midnights[day + 1] <= s:
                day += 1
            d = day
            ss = s
            while ss < e:
                pe = min(e, midnights[d + 1])
                officer[a, d] += pe - ss
                if seen[dv] < d:
                    seen[dv] = d
                    devices[a, d] += 1
                ss = pe
                d += 1
            if seg_e < 0:
                seg_s = s
                seg_e = e
            elif s > seg_e:
                _emit_visit(a, seg_s, seg_e, midnights, win, koper_us, patrol, visits, koper, window, longest)
                seg_s = s
                seg_e = e
            elif e > seg_e:
                seg_e = e
        _emit_visit(a, seg_s, seg_e, midnights, win, koper_us, patrol, visits, koper, window, longest)
    return patrol, officer, visits, koper, devices, window, longest
