"""Crime Severity Score weights: read from the data file, a force's own file as a setting, and the comparison of
hot-spot lists under cchi, css, sqrt and count on hand-built crimes."""

from __future__ import annotations

import csv
import math
import statistics
from datetime import date

import pytest
from targeting_rows import FORCE, R, V, add_areas, add_crimes

from hotspots import harm
from hotspots.selection import select_hotspots
from hotspots.targeting.weights import compare_weights


def file_weights(path):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    key = "offence_code" if "offence_code" in rows[0] else "crime_type"
    return {r[key]: float(r["weight"]) for r in rows}


def test_css_rows_are_the_data_files(warehouse, settings):
    categories = file_weights(harm.CSS_CATEGORY_FILE)
    codes = file_weights(harm.CSS_OFFENCE_CODE_FILE)
    assert set(categories) >= set(settings.crime_types)  # every counted type has a CSS weight
    harm.load_harm_weights(warehouse, settings)
    loaded = dict(
        warehouse.execute("SELECT key, weight FROM harm_weights WHERE key_type = 'css_crime_type'").fetchall()
    )
    assert loaded == categories
    loaded = dict(
        warehouse.execute("SELECT key, weight FROM harm_weights WHERE key_type = 'css_offence_code'").fetchall()
    )
    assert loaded == codes
    # The CCHI rows are untouched.
    assert warehouse.execute(
        "SELECT weight FROM harm_weights WHERE key_type = 'crime_type' AND key = 'Robbery'"
    ).fetchone() == (365.0,)
    table = {
        r["crime_type"]: r["weight"] for r in harm.weight_table(settings.model_copy(update={"harm_weights": "css"}))
    }
    assert table == categories


def test_css_offence_code_weights_are_the_ons_list(warehouse, settings):
    """The file holds the ONS weights (transcription check on three offences); a crime with an offence code
    weighs its code's CSS weight, one without weighs its category's."""
    codes = file_weights(harm.CSS_OFFENCE_CODE_FILE)
    assert codes["8N"] == pytest.approx(189.15388706397988)  # assault with injury
    assert codes["105A"] == pytest.approx(13.510541522943404)  # assault without injury
    assert codes["1"] == codes["4/1"] == pytest.approx(7973.393423328133)  # homicide
    add_areas(warehouse, ["K", "L"])
    add_crimes(warehouse, [("K", "2024-01", V, 2, "8N"), ("L", "2024-01", V, 2)])
    result = select_hotspots(
        warehouse, force=FORCE, settings=settings.model_copy(update={"harm_weights": "css"}), as_of_month="2024-01"
    )
    got = ranked_harm(warehouse, result["selection_id"])
    assert got["K"] == pytest.approx(2 * codes["8N"])
    assert got["L"] == pytest.approx(2 * file_weights(harm.CSS_CATEGORY_FILE)[V])


def test_css_category_weight_is_the_median_of_its_offence_codes():
    """The documented rule (docs/targeting.md): a category's CSS weight is the median of its offence codes'."""
    by_type: dict[str, list[float]] = {}
    with open(harm.CSS_OFFENCE_CODE_FILE, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_type.setdefault(row["crime_type"], []).append(float(row["weight"]))
    categories = file_weights(harm.CSS_CATEGORY_FILE)
    assert set(categories) == set(by_type) | {"Anti-social behaviour"}
    assert categories["Anti-social behaviour"] == 0
    for crime_type, weights in by_type.items():
        assert categories[crime_type] == pytest.approx(statistics.median(weights)), crime_type


def ranked_harm(con, selection_id):
    return dict(
        con.execute("SELECT area_code, harm FROM hotspot_ranking WHERE selection_id = ?", [selection_id]).fetchall()
    )


def test_css_ranking_uses_the_file_weights(county, settings):
    w = file_weights(harm.CSS_CATEGORY_FILE)
    result = select_hotspots(
        county,
        force=FORCE,
        settings=settings.model_copy(update={"harm_weights": "css", "lookback_months": 2}),
        as_of_month="2024-02",
    )
    got = ranked_harm(county, result["selection_id"])
    assert got["A"] == pytest.approx(2 * w[R]) and got["B"] == pytest.approx(3 * w[V])
    assert got["C"] == pytest.approx(4 * w[V]) and got["E"] == 0


def test_force_own_weights_file_is_a_setting(county, settings, tmp_path):
    own = tmp_path / "force_css.csv"
    own.write_text(
        "crime_type,weight,proactive,source\nRobbery,1000,false,force file\nViolence and sexual offences,"
        "10,false,force file\nPossession of weapons,50,true,force file\n"
    )
    mine = settings.model_copy(update={"harm_weights": "css", "lookback_months": 2, "css_weights_path": own})
    result = select_hotspots(county, force=FORCE, settings=mine, as_of_month="2024-02")
    got = ranked_harm(county, result["selection_id"])
    assert got["A"] == 2000 and got["B"] == 30 and got["C"] == 40
    assert result["hotspots"][0] == "A"
    # The package's CSS offence codes stay (the force file has categories only).
    assert county.execute("SELECT count(*) FROM harm_weights WHERE key_type = 'css_offence_code'").fetchone()[0] == len(
        file_weights(harm.CSS_OFFENCE_CODE_FILE)
    )
    # A force's own CCHI file replaces the CCHI categories the same way.
    cchi = tmp_path / "force_cchi.csv"
    cchi.write_text(
        "crime_type,weight,proactive,source\nRobbery,1,false,f\nViolence and sexual offences,2,false,f\n"
        "Possession of weapons,3,true,f\n"
    )
    result = select_hotspots(
        county,
        force=FORCE,
        settings=settings.model_copy(update={"lookback_months": 2, "cchi_weights_path": cchi}),
        as_of_month="2024-02",
    )
    assert ranked_harm(county, result["selection_id"])["C"] == 8


def test_compare_weights_overlaps(county, settings):
    w = file_weights(harm.CSS_CATEGORY_FILE)
    mine = settings.model_copy(update={"hotspot_count": 2, "lookback_months": 2})
    harm.load_harm_weights(county, mine)
    result = compare_weights(county, force=FORCE, settings=mine, end_month=date(2024, 2, 1))
    # Training harm per mode: A 2 R, B 3 V, C 4 V, D 1 R (one event: not selectable).
    expected = {
        "cchi": {"A": 730, "B": 600, "C": 800},
        "css": {"A": 2 * w[R], "B": 3 * w[V], "C": 4 * w[V]},
        "sqrt": {"A": 2 * math.sqrt(365), "B": 3 * math.sqrt(200), "C": 4 * math.sqrt(200)},
        "count": {"A": 2, "B": 3, "C": 4},
    }
    for mode, per_area in expected.items():
        top = sorted(per_area, key=lambda code: (-per_area[code], code))[:2]
        assert result["lists"][mode] == top, mode
    assert result["lists"]["cchi"] == ["C", "A"] and result["lists"]["count"] == ["C", "B"]
    pair = next(p for p in result["pairs"] if (p["a"], p["b"]) == ("cchi", "count"))
    assert pair["in_both"] == 1 and pair["overlap"] == 0.5 and pair["jaccard"] == pytest.approx(1 / 3)
    # Harm of A..E under cchi (730, 600, 800, 365, 0) and count (2, 3, 4, 1, 0): ranks differ only in A and B.
    assert pair["spearman"] == pytest.approx(0.9)
    assert len(result["pairs"]) == 6
