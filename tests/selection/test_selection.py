"""Hot-spot selection on hand-built tables with known answers, and on the generated sample."""

from __future__ import annotations

import csv
import math
from datetime import date

import numpy as np
import pytest
from settings_env import settings_of
from warehouse_rows import insert_crimes

from hotspots.selection import concentration, month_start, plot_concentration, select_hotspots

FORCE = "testforce"
V, R, W, B = "Violence and sexual offences", "Robbery", "Possession of weapons", "Burglary"
CCHI = {V: 200.0, R: 365.0, W: 273.75, B: 220.0}


def add_areas(con, codes, force=FORCE):
    """Unit-ish squares side by side (geometry is irrelevant to ranking)."""
    for i, code in enumerate(codes):
        con.execute(
            "INSERT INTO stg_areas (force, area_code, area_name, geom, area_m2) "
            "VALUES (?, ?, ?, ST_MakeEnvelope(?, 0, ?, 100), 10000)",
            [force, code, f"Area {code}", i * 100.0, i * 100.0 + 100],
        )


def add_crimes(con, rows, force=FORCE):
    """rows: (area_code, 'YYYY-MM', crime_type[, offence_code])."""
    start = con.execute("SELECT count(*) FROM stg_crimes").fetchone()[0]
    for n, row in enumerate(rows, start=start + 1):
        area, month, crime_type, *code = row
        insert_crimes(
            con,
            "INSERT INTO stg_crimes (force, source, crime_key, month, crime_type, offence_code, area_code, "
            "source_file, source_row) "
            "VALUES (?, 'police_uk', ?, ?, ?, ?, ?, 'test.csv', ?)",
            [force, f"k{n}", month_start(month), crime_type, code[0] if code else None, area, n],
        )


def with_(settings, **changes):
    return settings.model_copy(update=changes)


def ranking(con, selection_id):
    rows = con.execute(
        "SELECT area_code, events, harm, harm_share, cumulative_share, rank, selected FROM hotspot_ranking "
        "WHERE selection_id = ? ORDER BY rank",
        [selection_id],
    ).fetchall()
    return {
        r[0]: dict(zip(("events", "harm", "harm_share", "cumulative_share", "rank", "selected"), r[1:])) for r in rows
    }


@pytest.fixture
def county(warehouse):
    """Five areas; harm A = 2 robberies 730, B = 3 violence 600, C = 2 weapons 547.5, D = 1 robbery 365, E none.

    Also burglary (filtered out) and one violence outside every area.
    """
    add_areas(warehouse, ["A", "B", "C", "D", "E"])
    add_crimes(
        warehouse,
        [
            ("A", "2024-03", R),
            ("A", "2024-04", R),
            ("B", "2024-02", V),
            ("B", "2024-03", V),
            ("B", "2024-04", V),
            ("C", "2024-04", W),
            ("C", "2024-04", W),
            ("D", "2024-04", R),
            ("E", "2024-04", B),
            ("E", "2024-04", B),
            ("E", "2024-04", B),
            (None, "2024-04", V),
        ],
    )
    return warehouse


def test_cchi_ranking_shares_and_min_events(county, settings):
    result = select_hotspots(county, force=FORCE, settings=with_(settings, hotspot_count=4))
    rows = ranking(county, result["selection_id"])
    total = 730 + 600 + 547.5 + 365
    assert [code for code in rows] == ["A", "B", "C", "D", "E"]
    assert rows["A"]["harm"] == 730 and rows["A"]["events"] == 2
    assert rows["E"]["harm"] == 0 and rows["E"]["events"] == 0  # burglary is not a default crime type
    assert rows["B"]["harm_share"] == pytest.approx(600 / total)
    assert rows["C"]["cumulative_share"] == pytest.approx((730 + 600 + 547.5) / total)
    assert rows["E"]["cumulative_share"] == pytest.approx(1.0)
    # D has one severe event only: ranked but not selectable with min_events=2; E has no harm.
    assert result["hotspots"] == ["A", "B", "C"]
    assert [rows[c]["selected"] for c in "ABCDE"] == [True, True, True, False, False]
    assert result["effective_from"] == "2024-05-01"
    assert result["changed"] is True and result["added"] == ["A", "B", "C"] and result["removed"] == []


def test_min_events_zero_lets_single_event_in(county, settings):
    result = select_hotspots(county, force=FORCE, settings=with_(settings, hotspot_count=4, min_events=0))
    assert result["hotspots"] == ["A", "B", "C", "D"]


def test_ties_broken_by_events_then_area_code(warehouse, settings):
    add_areas(warehouse, ["Z", "Y", "X", "W"])
    add_crimes(
        warehouse,
        [
            ("Z", "2024-01", V),
            ("Z", "2024-01", V),
            ("Y", "2024-01", V),
            ("Y", "2024-01", V),
            ("X", "2024-01", R),
            ("X", "2024-01", "Public order"),
            ("W", "2024-01", V),
            ("W", "2024-01", V),
        ],
    )
    types = [V, R, "Public order"]
    result = select_hotspots(warehouse, force=FORCE, settings=with_(settings, crime_types=types, hotspot_count=2))
    rows = ranking(warehouse, result["selection_id"])
    # X = 365 + 7.5 = 372.5 (2 events); W, Y, Z = 400 (2 events): code order W, Y, Z.
    assert list(rows) == ["W", "Y", "Z", "X"]
    assert result["hotspots"] == ["W", "Y"]


def test_ties_on_harm_broken_by_events(warehouse, settings):
    add_areas(warehouse, ["P", "Q"])
    # P: 2 x Public order 7.5 = 15 (2 events); Q: Shoplifting 1 + 7 x Other theft 2 = 15 (8 events).
    add_crimes(
        warehouse,
        [("P", "2024-01", "Public order"), ("P", "2024-01", "Public order")]
        + [("Q", "2024-01", "Shoplifting")]
        + [("Q", "2024-01", "Other theft")] * 7,
    )
    types = ["Public order", "Shoplifting", "Other theft"]
    result = select_hotspots(warehouse, force=FORCE, settings=with_(settings, crime_types=types, hotspot_count=1))
    rows = ranking(warehouse, result["selection_id"])
    assert rows["P"]["harm"] == rows["Q"]["harm"] == 15
    assert list(rows) == ["Q", "P"] and result["hotspots"] == ["Q"]


@pytest.mark.parametrize(
    ("weights", "order"),
    [("cchi", ["A", "B", "C", "D"]), ("count", ["B", "A", "C", "D"]), ("sqrt", ["B", "A", "C", "D"])],
)
def test_weight_modes(county, settings, weights, order):
    result = select_hotspots(county, force=FORCE, settings=with_(settings, harm_weights=weights, hotspot_count=4))
    rows = ranking(county, result["selection_id"])
    assert list(rows)[:4] == order
    expected = {"cchi": 730, "count": 2, "sqrt": 2 * math.sqrt(365)}[weights]
    assert rows["A"]["harm"] == pytest.approx(expected)


def test_exclude_proactive_drops_weapons_possession(county, settings):
    result = select_hotspots(county, force=FORCE, settings=with_(settings, exclude_proactive=True, hotspot_count=4))
    rows = ranking(county, result["selection_id"])
    assert rows["C"]["events"] == 0 and rows["C"]["harm"] == 0
    assert result["hotspots"] == ["A", "B"]


def test_lookback_window_and_as_of_month(county, settings):
    # Look back 2 months ending 2024-04: B loses its February violence (400 over 2 events).
    result = select_hotspots(county, force=FORCE, settings=with_(settings, lookback_months=2, hotspot_count=4))
    rows = ranking(county, result["selection_id"])
    assert rows["B"]["events"] == 2 and rows["B"]["harm"] == 400
    assert result["params"]["first_month"] == "2024-03" and result["params"]["last_month"] == "2024-04"
    # Ending 2024-03 (as_of_month) counts Feb and Mar only: A 365 (1 event), B 400 (2 events).
    earlier = select_hotspots(
        county, force=FORCE, settings=with_(settings, lookback_months=2, hotspot_count=4), as_of_month="2024-03"
    )
    assert earlier["effective_from"] == result["effective_from"]  # not published: a newer list exists
    assert earlier["changed"] is False


def test_consistency_k_of_n_years(warehouse, settings):
    add_areas(warehouse, ["OLD", "NEW", "STEADY"])
    add_crimes(
        warehouse,
        [
            ("NEW", "2024-06", R),
            ("NEW", "2024-05", R),
            ("NEW", "2024-04", R),  # only in the last year
            ("STEADY", "2024-06", V),
            ("STEADY", "2024-01", V),
            ("STEADY", "2023-03", V),  # last year and the one before
            ("OLD", "2022-01", R),
            ("OLD", "2022-02", R),  # 3rd year back only
        ],
    )
    off = select_hotspots(warehouse, force=FORCE, settings=with_(settings, hotspot_count=5))
    assert off["hotspots"] == ["NEW", "STEADY"]
    on = select_hotspots(
        warehouse, force=FORCE, settings=with_(settings, hotspot_count=5, consistency_years_k=2, consistency_years_n=3)
    )
    assert on["hotspots"] == ["STEADY"]
    # Same month, new parameters: the list published for July is replaced (compared with no earlier list).
    assert on["added"] == ["STEADY"] and on["removed"] == []
    assert warehouse.execute("SELECT list(selection_id) FROM selections").fetchone()[0] == [on["selection_id"]]
    rows = ranking(warehouse, on["selection_id"])
    assert rows["NEW"]["rank"] == 1 and not rows["NEW"]["selected"]  # still ranked by its harm
    assert rows["OLD"]["events"] == 0  # outside the 12-month look-back, only used for consistency


@pytest.fixture
def ten_areas(warehouse):
    """Areas A0..A9 with harm 10, 9, ..., 1 violence events each (harm = 200 x events)."""
    codes = [f"A{i}" for i in range(10)]
    add_areas(warehouse, codes)
    add_crimes(warehouse, [(code, "2024-04", V) for i, code in enumerate(codes) for _ in range(10 - i)])
    return warehouse


def test_budget_top(ten_areas, settings):
    assert select_hotspots(ten_areas, force=FORCE, settings=with_(settings, hotspot_count=3))["hotspots"] == [
        "A0",
        "A1",
        "A2",
    ]


@pytest.mark.parametrize(("share", "expected"), [(0.2, 2), (0.29, 2), (0.3, 3), (0.01, 1)])
def test_budget_area_share(ten_areas, settings, share, expected):
    result = select_hotspots(
        ten_areas, force=FORCE, settings=with_(settings, budget_mode="area_share", area_share=share)
    )
    assert result["hotspots"] == [f"A{i}" for i in range(expected)]
    assert result["params"]["budget_mode"] == "area_share" and result["params"]["budget"] == share


@pytest.mark.parametrize(("share", "expected"), [(0.5, 4), (10 / 55, 1), (0.19, 2), (1.0, 9)])
def test_budget_harm_share(ten_areas, settings, share, expected):
    # Total 55 events: cumulative 10, 19, 27, 34, ... -> 50% needs 4 areas (34/55 >= 0.5 > 27/55).
    # 100% needs all 10, but A9 has 1 event (< min_events 2), so 9 is the most that can be selected.
    result = select_hotspots(
        ten_areas, force=FORCE, settings=with_(settings, budget_mode="harm_share", harm_share=share)
    )
    assert result["hotspots"] == [f"A{i}" for i in range(expected)]


def test_budget_harm_share_skips_unselectable_areas(county, settings):
    # D (365, 1 event) is not selectable; reaching 90% of 2242.5 needs A, B, C (1877.5 = 83.7%) and more,
    # so every selectable area is taken and D stays out.
    result = select_hotspots(county, force=FORCE, settings=with_(settings, budget_mode="harm_share", harm_share=0.9))
    assert result["hotspots"] == ["A", "B", "C"]


def test_versioning_publish_republish_change(county, settings):
    s = with_(settings, hotspot_count=2)
    first = select_hotspots(county, force=FORCE, settings=s)
    again = select_hotspots(county, force=FORCE, settings=s)
    assert again["selection_id"] == first["selection_id"] and again["changed"] is False
    assert county.execute("SELECT count(*) FROM selections").fetchone()[0] == 1
    assert county.execute("SELECT count(*) FROM hotspot_ranking").fetchone()[0] == 5

    # May: D gets three more robberies and overtakes everything; the list changes from June.
    add_crimes(county, [("D", "2024-05", R)] * 3)
    changed = select_hotspots(county, force=FORCE, settings=s)
    assert changed["changed"] is True and changed["selection_id"] != first["selection_id"]
    assert changed["hotspots"] == ["D", "A"] and changed["added"] == ["D"] and changed["removed"] == ["B"]
    assert changed["effective_from"] == "2024-06-01"
    rows = dict(county.execute("SELECT selection_id, effective_to FROM selections").fetchall())
    assert rows == {first["selection_id"]: date(2024, 5, 31), changed["selection_id"]: None}
    current = county.execute("SELECT list(area_code ORDER BY rank) FROM current_hotspots").fetchone()[0]
    assert current == ["D", "A"]

    # June adds nothing that changes the list: no new row, same id, dates untouched.
    add_crimes(county, [("E", "2024-06", V)])
    june = select_hotspots(county, force=FORCE, settings=s)
    assert june["selection_id"] == changed["selection_id"] and june["changed"] is False
    assert june["effective_from"] == "2024-06-01"
    assert county.execute("SELECT count(*) FROM selections").fetchone()[0] == 2


def test_same_month_recomputed_on_corrected_data_replaces_list(county, settings):
    s = with_(settings, hotspot_count=2)
    first = select_hotspots(county, force=FORCE, settings=s)
    add_crimes(county, [("D", "2024-05", R)] * 3)
    may = select_hotspots(county, force=FORCE, settings=s)
    # The May file is reloaded with corrections: D's robberies were in C.
    county.execute("DELETE FROM stg_crime_records WHERE month = DATE '2024-05-01'")
    add_crimes(county, [("C", "2024-05", R)] * 3)
    fixed = select_hotspots(county, force=FORCE, settings=s)
    assert fixed["selection_id"] != may["selection_id"] and fixed["effective_from"] == "2024-06-01"
    assert fixed["hotspots"] == ["C", "A"] and fixed["added"] == ["C"] and fixed["removed"] == ["B"]
    rows = dict(county.execute("SELECT selection_id, effective_to FROM selections").fetchall())
    assert rows == {first["selection_id"]: date(2024, 5, 31), fixed["selection_id"]: None}
    assert county.execute("SELECT count(DISTINCT selection_id) FROM hotspot_ranking").fetchone()[0] == 2


def test_offence_code_weight_overrides_category(warehouse, settings):
    from hotspots import harm

    if not harm.OFFENCE_CODE_FILE.exists():
        pytest.skip(f"{harm.OFFENCE_CODE_FILE} not written yet (force-records path)")
    with open(harm.OFFENCE_CODE_FILE, newline="") as handle:
        codes = [r for r in csv.DictReader(handle) if r["crime_type"] == V]
    code = max(codes, key=lambda r: float(r["cchi_weight"]))
    add_areas(warehouse, ["K", "L"])
    add_crimes(warehouse, [("K", "2024-01", V, code["offence_code"])] * 2 + [("L", "2024-01", V)] * 2)
    result = select_hotspots(warehouse, force=FORCE, settings=settings)
    rows = ranking(warehouse, result["selection_id"])
    assert rows["K"]["harm"] == pytest.approx(2 * float(code["cchi_weight"]))
    assert rows["L"]["harm"] == pytest.approx(2 * CCHI[V])


def numpy_gini(values):
    x = np.asarray(values, dtype=float)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())


def test_concentration_gini_lorenz_and_plot(ten_areas, settings, tmp_path):
    # Add five empty areas so the curve has a flat tail.
    add_areas(ten_areas, [f"Z{i}" for i in range(5)])
    result = select_hotspots(ten_areas, force=FORCE, settings=with_(settings, hotspot_count=3))
    harm_values = [200.0 * (10 - i) for i in range(10)] + [0.0] * 5
    assert result["gini"] == pytest.approx(numpy_gini(harm_values))
    figures = concentration(ten_areas, force=FORCE)
    assert figures["selection_id"] == result["selection_id"]
    assert figures["areas"] == 15 and figures["selected"] == 3
    assert figures["selected_harm_share"] == pytest.approx(27 / 55)
    xs, ys = zip(*figures["lorenz"])
    assert xs[0] == ys[0] == 0 and xs[-1] == pytest.approx(1) and ys[-1] == pytest.approx(1)
    assert xs[1] == pytest.approx(1 / 15) and ys[1] == pytest.approx(10 / 55)
    png = plot_concentration(ten_areas, force=FORCE, path=tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_gini_of_random_harm_matches_numpy(warehouse, settings):
    rng = np.random.default_rng(3)
    counts = rng.poisson(3, size=40)
    codes = [f"G{i:02d}" for i in range(40)]
    add_areas(warehouse, codes)
    add_crimes(
        warehouse, [(code, "2024-04", R if i % 3 else V) for i, code in enumerate(codes) for _ in range(counts[i])]
    )
    result = select_hotspots(warehouse, force=FORCE, settings=settings)
    harm_values = [counts[i] * (CCHI[V] if i % 3 == 0 else CCHI[R]) for i in range(40)]
    assert result["gini"] == pytest.approx(numpy_gini(harm_values))


def test_clear_errors(warehouse, settings):
    with pytest.raises(ValueError, match="No areas for force"):
        select_hotspots(warehouse, force=FORCE, settings=settings)
    add_areas(warehouse, ["A"])
    with pytest.raises(ValueError, match="No crimes for force"):
        select_hotspots(warehouse, force=FORCE, settings=settings)
    with pytest.raises(ValueError, match="Robery"):
        select_hotspots(warehouse, force=FORCE, settings=with_(settings, crime_types=["Robery"]), as_of_month="2024-01")
    with pytest.raises(ValueError, match="No selection published"):
        concentration(warehouse, force=FORCE)


# --- the generated sample -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_selection(request, tmp_path_factory):
    """The generated sample loaded with the real loaders into its own warehouse."""
    from hotspots.sources.areas import load_areas
    from hotspots.sources.police_uk import crime_files, ingest_crime_file
    from hotspots.warehouse import apply_schema, connect

    sample = request.getfixturevalue("sample")
    env = {
        k: v for k, v in sample.settings_env.items() if k not in ("HOTSPOTS_WAREHOUSE_PATH", "HOTSPOTS_SNAPSHOT_PATH")
    }
    sample_settings = settings_of(env, data_dir=str(tmp_path_factory.mktemp("sample_wh")))
    con = connect(settings=sample_settings)
    apply_schema(con, sample_settings)
    load_areas(con, force=sample.force, path=sample.landing_dir / sample.force / "areas", settings=sample_settings)
    for path in crime_files(sample.landing_dir / sample.force / "crime"):
        ingest_crime_file(con, force=sample.force, path=path, settings=sample_settings)
    yield sample, sample_settings, con
    con.close()


def test_sample_default_selection_matches_truth(sample_selection):
    sample, s, con = sample_selection
    with open(sample.truth_dir / "hotspots.csv", newline="") as handle:
        truth = [r["area_code"] for r in sorted(csv.DictReader(handle), key=lambda r: int(r["rank"]))]
    result = select_hotspots(con, force=sample.force, settings=s)
    assert result["hotspots"] == truth == sample.manifest["selection"]["default"]
    assert result["effective_from"] == sample.manifest["effective_from"]
    per_area = sample.manifest["selection"]["per_area"]
    rows = ranking(con, result["selection_id"])
    assert {code: r["events"] for code, r in rows.items()} == {code: v["events"] for code, v in per_area.items()}
    assert {code: r["harm"] for code, r in rows.items()} == pytest.approx(
        {code: v["harm"] for code, v in per_area.items()}
    )
    assert result["changed"] is False or result["added"] == truth


@pytest.mark.parametrize(("mode", "share"), [("area_share", 0.1), ("harm_share", 0.5)])
def test_sample_share_budgets_match_manifest(sample_selection, mode, share):
    sample, s, con = sample_selection
    expected = sample.manifest["selection"][f"{mode}_{share}"]
    result = select_hotspots(con, force=sample.force, settings=s.model_copy(update={"budget_mode": mode, mode: share}))
    assert result["hotspots"] == expected
