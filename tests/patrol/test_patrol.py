"""Patrol semantics (docs/patrol.md) on hand-built pings whose answer is known, and the fast method against
the DuckDB SPATIAL_JOIN and geopandas references."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots.patrol import PatrolParams, patrol_minutes
from hotspots.patrol.core import local_days
from hotspots.patrol.grid import AreaIndex

# The defaults are the settings' (the fixture clears HOTSPOTS_* so they are the documented ones).
pytestmark = pytest.mark.usefixtures("settings")

X0, Y0 = 500_000.0, 245_000.0
# A: [0, 1000] x [0, 1000], B: [1000, 2000] x [0, 1000] (metres from X0, Y0); C far away
AREAS = [
    ("A", shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)),
    ("B", shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)),
    (
        "C",
        shapely.box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000).difference(
            shapely.box(X0 + 5400, Y0 + 400, X0 + 5600, Y0 + 600)
        ),
    ),
]


def params_with(**overrides) -> PatrolParams:
    """The settings' patrol parameters with some replaced."""
    from hotspots.settings import get_settings

    return PatrolParams.from_settings(get_settings(), **overrides)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def track(
    device: str, start: str, seconds: list[float], x: float = 500, y: float = 500, speed: float | None = None
) -> list[dict]:
    """Pings of one device at start + each offset (seconds), at (x, y) metres from the origin."""
    t0 = utc(start)
    return [
        {
            "device_key": device,
            "ts": t0 + timedelta(seconds=s),
            "easting": X0 + x,
            "northing": Y0 + y,
            "speed_kmh": np.nan if speed is None else speed,
        }
        for s in seconds
    ]


def run(rows: list[dict], **params) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return patrol_minutes(frame, AREAS, params_with(**params))


def row(result: pd.DataFrame, area: str, day: str) -> dict:
    found = result[(result["area_code"] == area) & (result["date"] == date.fromisoformat(day))]
    assert len(found) == 1, f"expected one row for {area} {day}, got\n{result}"
    return found.iloc[0].to_dict()


def every(step: float, minutes: float) -> list[float]:
    return list(np.arange(0, minutes * 60 + 1e-9, step))


def test_one_visit_counts_from_first_to_last_ping():
    result = run(track("d1", "2024-01-15T14:00:00", every(60, 20)))
    r = row(result, "A", "2024-01-15")
    assert (
        r["patrol_minutes"],
        r["officer_minutes"],
        r["visits"],
        r["koper_visits"],
        r["devices"],
        r["window_minutes"],
    ) == (20, 20, 1, 1, 1, 20)
    assert set(result["area_code"]) == {"A"}  # 500 m from B: outside its 100 m buffer


def test_visit_across_midnight_is_split_and_counted_on_both_days():
    result = run(track("d1", "2024-01-15T23:50:00", every(60, 20)))
    first, second = row(result, "A", "2024-01-15"), row(result, "A", "2024-01-16")
    assert (first["patrol_minutes"], first["visits"], first["koper_visits"], first["window_minutes"]) == (10, 1, 1, 10)
    assert (second["patrol_minutes"], second["visits"], second["koper_visits"], second["window_minutes"]) == (
        10,
        1,
        1,
        0,
    )


def test_two_devices_overlapping_union_and_sum():
    rows = track("d1", "2024-01-15T15:00:00", every(60, 10)) + track("d2", "2024-01-15T15:05:00", every(60, 10), x=520)
    r = row(run(rows), "A", "2024-01-15")
    assert (r["patrol_minutes"], r["officer_minutes"], r["visits"], r["koper_visits"], r["devices"]) == (
        15,
        20,
        1,
        1,
        2,
    )


def test_gap_just_under_and_just_over_max_gap():
    # 0 -> 60 -> 179 (gap 119 s: counted whole) -> 300 (gap 121 s: capped at 120, a 1 s hole) -> 360
    r = row(run(track("d1", "2024-01-15T10:00:00", [0, 60, 179, 300, 360])), "A", "2024-01-15")
    assert r["patrol_minutes"] == pytest.approx((60 + 119 + 120 + 60) / 60, abs=1e-12)
    assert r["visits"] == 2
    assert r["window_minutes"] == 0


def test_gap_equal_to_max_gap_leaves_no_hole():
    r = row(run(track("d1", "2024-01-15T10:00:00", [0, 120, 240])), "A", "2024-01-15")
    assert (r["patrol_minutes"], r["visits"]) == (4, 1)


def test_ping_exactly_on_the_shared_boundary_counts_for_both_areas():
    result = run(track("d1", "2024-01-15T10:00:00", every(30, 5), x=1000), buffer_m=0.0)
    assert row(result, "A", "2024-01-15")["patrol_minutes"] == 5
    assert row(result, "B", "2024-01-15")["patrol_minutes"] == 5


def test_visit_inside_the_buffer_only():
    inside = run(track("d1", "2024-01-15T10:00:00", every(30, 5), x=-99.5))
    assert row(inside, "A", "2024-01-15")["patrol_minutes"] == 5
    outside = run(track("d1", "2024-01-15T10:00:00", every(30, 5), x=-100.5))
    assert outside.empty
    # 50 m into B is within 100 m of A: both areas
    both = run(track("d1", "2024-01-15T10:00:00", every(30, 5), x=1050))
    assert set(both["area_code"]) == {"A", "B"}


def test_hole_in_a_polygon_and_its_buffer():
    deep = run(track("d1", "2024-01-15T10:00:00", every(30, 5), x=5500, y=500), buffer_m=50.0)  # 100 m into the hole
    assert deep.empty
    edge = run(
        track("d1", "2024-01-15T10:00:00", every(30, 5), x=5500, y=580), buffer_m=50.0
    )  # 20 m from the hole's edge
    assert row(edge, "C", "2024-01-15")["patrol_minutes"] == 5


def test_duplicate_pings_do_not_double_count():
    rows = track("d1", "2024-01-15T10:00:00", every(60, 10))
    result = run(rows + rows[3:7])
    r = row(result, "A", "2024-01-15")
    assert (r["patrol_minutes"], r["officer_minutes"], r["devices"]) == (10, 10, 1)


def test_out_of_order_input_gives_the_same_result():
    rows = track("d1", "2024-01-15T10:00:00", every(45, 30)) + track("d2", "2024-01-15T10:07:00", every(20, 9), x=1050)
    shuffled = [rows[i] for i in np.random.default_rng(3).permutation(len(rows))]
    pd.testing.assert_frame_equal(run(rows), run(shuffled))


def test_spring_dst_day_has_23_hours_and_window_in_local_time():
    # Sunday 31 March 2024: local midnight is 00:00 UTC (GMT), 14:00 BST is 13:00 UTC
    rows = track("d1", "2024-03-30T23:50:00", every(60, 20)) + track("d2", "2024-03-31T12:50:00", every(60, 20))
    result = run(rows)
    assert row(result, "A", "2024-03-30")["patrol_minutes"] == 10
    r = row(result, "A", "2024-03-31")
    assert (r["patrol_minutes"], r["visits"], r["window_minutes"]) == (30, 2, 10)


def test_autumn_dst_day_split_at_local_midnight():
    # 26 -> 27 October 2024: local midnight is 23:00 UTC (BST)
    result = run(track("d1", "2024-10-26T22:50:00", every(60, 20)))
    assert row(result, "A", "2024-10-26")["patrol_minutes"] == 10
    assert row(result, "A", "2024-10-27")["patrol_minutes"] == 10
    days = local_days(date(2024, 10, 27), date(2024, 10, 27), params_with())
    assert days.midnights[1] - days.midnights[0] == 25 * 3600 * 10**6


def test_transit_filter_reported_and_derived_speed():
    fast_reported = track("d1", "2024-01-15T10:00:00", every(60, 10), speed=50.0)
    assert run(fast_reported).empty
    assert row(run(fast_reported, max_speed_kmh=None), "A", "2024-01-15")["patrol_minutes"] == 10
    # no reported speed: 30 m a minute (1.8 km/h) is patrol, 500 m a minute (30 km/h) is transit
    slow = [dict(p, easting=X0 + 100 + 30 * k) for k, p in enumerate(track("d1", "2024-01-15T10:00:00", every(60, 10)))]
    assert row(run(slow), "A", "2024-01-15")["patrol_minutes"] == 10
    fast = [
        dict(p, easting=X0 - 50 + 50 * k, northing=Y0 + 500)
        for k, p in enumerate(track("d1", "2024-01-15T10:00:00", every(6, 1)))
    ]
    assert run(fast).empty  # 50 m in 6 s = 30 km/h
    assert row(run(fast, max_speed_kmh=None), "A", "2024-01-15")["patrol_minutes"] == 1
    # a reported slow speed wins over the derived one
    reported_slow = [dict(p, speed_kmh=5.0) for p in fast]
    assert row(run(reported_slow), "A", "2024-01-15")["patrol_minutes"] == 1


def test_koper_visit_threshold():
    just_under = row(run(track("d1", "2024-01-15T10:00:00", [*every(60, 9), 599])), "A", "2024-01-15")
    assert (just_under["visits"], just_under["koper_visits"]) == (1, 0)
    exactly = row(run(track("d1", "2024-01-15T10:00:00", every(60, 10))), "A", "2024-01-15")
    assert (exactly["visits"], exactly["koper_visits"]) == (1, 1)


def test_longest_visit_inside_the_window():
    """January (UTC = local): window 14:00-24:00. Visits of 8 and 12 minutes in the window (a 5-minute hole between
    them), one of 20 minutes across 14:00 (10 inside), and one of 30 minutes in the morning."""
    rows = (  # one device each, so no track's last ping gives presence
        track("d1", "2024-01-15T09:00:00", every(60, 30))
        + track("d2", "2024-01-15T13:50:00", every(60, 20))
        + track("d3", "2024-01-15T16:00:00", every(60, 8))
        + track("d4", "2024-01-15T16:13:00", every(60, 12))
    )
    r = row(run(rows), "A", "2024-01-15")
    assert (r["visits"], r["window_minutes"], r["longest_visit_minutes"]) == (4, 30, 12)
    # the same two pieces joined by pings every minute: one visit of 25 minutes
    joined = track("d1", "2024-01-15T16:00:00", every(60, 25))
    assert row(run(joined), "A", "2024-01-15")["longest_visit_minutes"] == 25
    # a 20-minute visit across 14:00 only: 10 minutes of it inside the window
    assert row(run(track("d1", "2024-01-15T13:50:00", every(60, 20))), "A", "2024-01-15")["longest_visit_minutes"] == 10
    # a visit across midnight: each day's part is that day's visit
    late = run(track("d1", "2024-01-15T23:50:00", every(60, 20)))
    assert row(late, "A", "2024-01-15")["longest_visit_minutes"] == 10
    assert row(late, "A", "2024-01-16")["longest_visit_minutes"] == 0


def test_longest_visit_in_a_window_that_wraps_midnight_is_the_longest_stretch_in_one_range():
    # window 22:00-01:00: 00:00-01:00 and 22:00-23:59 of one all-day visit are two stretches, the longer 119 min
    rows = track("d1", "2024-01-15T00:00:00", every(60, 24 * 60 - 1))
    r = row(run(rows, window_start=time(22, 0), window_end=time(1, 0)), "A", "2024-01-15")
    assert (r["visits"], r["window_minutes"], r["longest_visit_minutes"]) == (1, 179, 119)


def test_days_without_presence_have_no_row_and_last_ping_counts_nothing():
    assert run(track("d1", "2024-01-15T10:00:00", [0])).empty
    result = run(track("d1", "2024-01-15T23:59:00", [0, 60]))
    assert list(result["date"]) == [date(2024, 1, 15)]


def test_window_that_wraps_midnight():
    rows = track("d1", "2024-01-15T00:30:00", every(60, 60)) + track("d1", "2024-01-15T21:00:00", every(60, 30))
    r = row(run(rows, window_start=time(22, 0), window_end=time(1, 0)), "A", "2024-01-15")
    assert r["window_minutes"] == 30  # 00:30-01:00; 21:00-21:30 is before 22:00


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="max_gap_s"):
        params_with(max_gap_s=86_400)
    with pytest.raises(ValueError, match="buffer_m"):
        params_with(buffer_m=-1)


def random_case(seed: int, n: int = 6000):
    rng = np.random.default_rng(seed)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(rng.uniform(0, 3000, (25, 2))), extend_to=shapely.box(0, 0, 3000, 3000)
        )
    )
    cells = shapely.intersection(cells, shapely.box(0, 0, 3000, 3000))
    areas = [
        (f"V{i:02d}", shapely.transform(shapely.segmentize(c, 90.0), lambda xy: xy + (X0, Y0)))
        for i, c in enumerate(cells)
    ]
    dev = rng.integers(0, 15, n)
    ts = np.datetime64("2024-03-30T20:00:00", "us") + np.sort(rng.integers(0, 40 * 3600, n)).astype("timedelta64[s]")
    x = X0 + rng.uniform(-300, 3300, n)
    y = Y0 + rng.uniform(-300, 3300, n)
    speed = np.where(rng.random(n) < 0.4, rng.uniform(0, 40, n), np.nan)
    pings = {"device_key": dev, "ts": ts, "easting": x, "northing": y, "speed_kmh": speed}
    return pings, areas


@pytest.mark.parametrize(
    "seed,overrides", [(11, dict(max_gap_s=1800)), (12, dict(max_gap_s=600, max_speed_kmh=None, buffer_m=0.0))]
)
def test_fast_method_equals_spatial_join_and_geopandas(seed, overrides):
    import duckdb

    from benchmarks.patrol_reference import compare, geopandas_patrol, spatial_join_patrol
    from hotspots.warehouse import load_spatial

    params = params_with(**overrides)
    pings, areas = random_case(seed)
    fast = patrol_minutes(pings, areas, params)
    con = duckdb.connect()
    load_spatial(con)
    reference = spatial_join_patrol(con, pings, areas, params)
    assert len(reference) > 40 and reference["visits"].sum() > 100  # a case with substance
    assert compare(reference, fast) == []
    assert compare(reference, geopandas_patrol(pings, areas, params)) == []


def _tiny_squares():
    """100 squares of 8 m on a 12 m lattice: with a 300 m buffer every cell lists all of them (> 32 candidates)."""
    corners = [(500_000 + 12 * (k % 10), 200_000 + 12 * (k // 10)) for k in range(100)]
    areas = [(f"T{k:03d}", shapely.box(x, y, x + 8, y + 8)) for k, (x, y) in enumerate(corners)]
    rng = np.random.default_rng(7)
    xy = rng.uniform((499_600, 199_600), (500_520, 200_520), (3000, 2))
    return {"easting": xy[:, 0], "northing": xy[:, 1]}, areas


@pytest.mark.parametrize(
    "buffer_m,cell_m,case",
    [
        (100.0, 40.0, "random"),  # every uncertain cell lies outside the polygon: distance test only
        (10.0, 40.0, "random"),  # uncertain cells straddle the boundary: full test
        (0.0, 25.0, "random"),
        (300.0, 40.0, "tiny"),  # more candidates per cell than the 32-bit hit mask holds
    ],
)
def test_grid_lists_every_area_a_ping_may_belong_to(buffer_m, cell_m, case):
    pings, areas = random_case(5, n=2000) if case == "random" else _tiny_squares()
    index = AreaIndex.build(areas, buffer_m, cell_m=cell_m)
    pair_ping, pair_area = index.pairs(pings["easting"], pings["northing"])
    got = set(zip(pair_ping.tolist(), pair_area.tolist()))
    assert np.all(np.diff(pair_ping) >= 0) and len(got) == len(pair_ping)  # point order, no repeats
    points = shapely.points(pings["easting"], pings["northing"])
    expected = {
        (int(i), a) for a, (_, g) in enumerate(areas) for i in np.flatnonzero(shapely.dwithin(g, points, buffer_m))
    }
    assert len(expected) > 1000 and got == expected


def test_parallel_chunks_give_the_same_result_as_one_pass():
    """Time chunks (used from 65,536 pings up) must not change a figure: force several on a small case, and
    check the chunked passes against the plain per-area sweep."""
    from benchmarks.patrol_reference import reference_figures
    from hotspots.patrol import kernels
    from hotspots.patrol.core import PingArrays, fast_figures, locate, ping_days

    pings, areas = random_case(13)
    params = params_with(max_gap_s=900)
    p = PingArrays.from_input(pings)
    index = AreaIndex.build(areas, params.buffer_m)
    days = ping_days(p, params)

    def figures(nch):
        end = locate(p, index, days, params, chunks=nch)[0]
        base = (p.dev, p.n_dev, p.ts, p.x, p.y, p.speed, params.gap_us, params.speed_limit)
        assert np.array_equal(end, kernels.presence_intervals(*base, nch))
        return end, fast_figures(p, index, days, params, chunks=nch)

    end, one = figures(1)
    assert (one[1] > 0).sum() > 40 and one[2].sum() > 100  # officer time in many area-days, many visits
    pair_ping, pair_area = index.pairs(p.x, p.y)
    patrol = end[pair_ping] > p.ts[pair_ping]
    plain = reference_figures(p, end, pair_ping[patrol], pair_area[patrol], days, len(areas), params)
    assert all(np.array_equal(a, b) for a, b in zip(one, plain))
    for nch in (2, 7):
        end_n, many = figures(nch)
        assert np.array_equal(end_n, end)
        assert all(np.array_equal(a, b) for a, b in zip(many, one))


def test_patrol_parameters_have_one_owner_the_settings(monkeypatch):
    """PatrolParams has no defaults of its own: every value is the setting's, overrides are checked by its rules."""
    from hotspots.patrol.core import SETTING_OF
    from hotspots.settings import reload_settings

    with pytest.raises(TypeError):
        PatrolParams()  # the defaults live in Settings only
    monkeypatch.setenv("HOTSPOTS_BUFFER_M", "40")
    monkeypatch.setenv("HOTSPOTS_PATROL_WINDOW_START", "18:30")
    settings = reload_settings()
    params = PatrolParams.from_settings(settings)
    assert (params.buffer_m, params.window_start) == (40.0, time(18, 30))
    assert {name: getattr(params, name) for name in SETTING_OF} == {
        name: getattr(settings, setting) for name, setting in SETTING_OF.items()
    }
    assert PatrolParams.from_settings(settings, max_speed_kmh=None, timezone="UTC").max_speed_kmh is None
    assert settings.max_speed_kmh == 25.0  # overrides leave the settings alone
    with pytest.raises(TypeError, match="not a patrol parameter"):
        PatrolParams.from_settings(settings, buffer=10)
