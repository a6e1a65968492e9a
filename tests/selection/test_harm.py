"""Harm weights: the versioned CSVs, the harm_weights table and the weighting modes."""

from __future__ import annotations

import csv
import math

import pytest

from hotspots import harm


def test_category_weights_match_domain_defaults():
    rows = {r["key"]: r for r in harm.weight_rows(offence_codes=False)}
    assert rows["Robbery"]["weight"] == 365
    assert rows["Possession of weapons"]["weight"] == 273.75
    assert rows["Possession of weapons"]["proactive"] is True
    assert rows["Drugs"]["proactive"] is True
    assert rows["Violence and sexual offences"]["proactive"] is False
    assert rows["Anti-social behaviour"]["weight"] == 0
    assert all(r["source"] for r in rows.values())


def test_load_harm_weights_is_idempotent(warehouse, settings):
    first = harm.load_harm_weights(warehouse, settings)
    second = harm.load_harm_weights(warehouse, settings)
    assert first == second == warehouse.execute("SELECT count(*) FROM harm_weights").fetchone()[0]
    with open(harm.CATEGORY_FILE, newline="") as handle:
        categories = list(csv.DictReader(handle))
    assert warehouse.execute("SELECT count(*) FROM harm_weights WHERE key_type = 'crime_type'").fetchone()[0] == len(
        categories
    )
    assert warehouse.execute(
        "SELECT weight, proactive FROM harm_weights WHERE key_type = 'crime_type' AND key = 'Robbery'"
    ).fetchone() == (365.0, False)


def test_offence_code_weights_loaded_when_file_present(warehouse, settings):
    if not harm.OFFENCE_CODE_FILE.exists():
        pytest.skip(f"{harm.OFFENCE_CODE_FILE} not written yet (force-records path)")
    with open(harm.OFFENCE_CODE_FILE, newline="") as handle:
        codes = list(csv.DictReader(handle))
    harm.load_harm_weights(warehouse, settings)
    loaded = dict(warehouse.execute("SELECT key, weight FROM harm_weights WHERE key_type = 'offence_code'").fetchall())
    assert loaded == {r["offence_code"].strip(): float(r["cchi_weight"]) for r in codes}


@pytest.mark.parametrize(("mode", "expected"), [("cchi", 365.0), ("count", 1.0), ("sqrt", math.sqrt(365.0))])
def test_weight_in_use(mode, expected):
    assert harm.weight_in_use(365.0, mode) == pytest.approx(expected)


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="cchi, count, sqrt"):
        harm.weight_in_use(1.0, "ons")


def test_weight_table_follows_mode(settings):
    table = {r["crime_type"]: r for r in harm.weight_table(settings.model_copy(update={"harm_weights": "sqrt"}))}
    assert table["Robbery"]["weight"] == pytest.approx(math.sqrt(365))
    assert "square root" in table["Robbery"]["source"]
    counts = harm.weight_table(settings.model_copy(update={"harm_weights": "count"}))
    assert {r["weight"] for r in counts} == {1.0}


def test_bad_weight_file_names_file_row_and_column(tmp_path):
    bad = tmp_path / "weights.csv"
    bad.write_text("crime_type,weight,proactive,source\nRobbery,lots,false,x\n")
    with pytest.raises(ValueError, match=r"weights.csv: row 1, column weight"):
        harm._read_weights(bad, "crime_type")
    bad.write_text("crime_type,weight,source\nRobbery,1,x\n")
    with pytest.raises(ValueError, match="missing column"):
        harm._read_weights(bad, "crime_type")
