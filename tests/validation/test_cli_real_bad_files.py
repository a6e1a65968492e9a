"""Bad files made from the real Bedfordshire samples, through `hotspots select`: each is refused with one message
naming the file, the rule and the fix (exit 2, no traceback), or loads with its bad rows counted by reason."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app

MONTH = "2024-02-bedfordshire-street.csv"


@dataclass
class Bad:
    id: str
    crime: Callable[[Path, Path], Path] | None = None  # (real data, tmp) -> crime path; None = the real month
    areas: Callable[[Path, Path], Path] | None = None  # (real data, tmp) -> areas path; None = the real LSOAs
    error: str | None = None  # regex the one error line must match
    extra_duplicates: int = 0  # loads, with this many more duplicate_crime_id rows than the real file


def text(real: Path) -> str:
    return (real / "police-uk" / MONTH).read_text(encoding="utf-8")


def write(tmp: Path, content: str | bytes, name: str = MONTH, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def frame(real: Path) -> pd.DataFrame:
    return pd.read_csv(real / "police-uk" / MONTH, dtype=str, keep_default_na=False)


def with_frame(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path, Path], Path]:
    def build(real: Path, tmp: Path) -> Path:
        path = tmp / MONTH
        change(frame(real)).to_csv(path, index=False)
        return path

    return build


def duplicated(k: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(f: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([f, f[f["Crime ID"] != ""].head(k)], ignore_index=True)

    return change


def lsoa(real: Path) -> Path:
    return sorted((real / "lsoa-2011").glob("*.json"))[0]


def geojson(change: Callable[[dict], dict], name: str = "areas.geojson") -> Callable[[Path, Path], Path]:
    def build(real: Path, tmp: Path) -> Path:
        path = tmp / name
        path.write_text(json.dumps(change(json.loads(lsoa(real).read_text()))))
        return path

    return build


def metres_without_crs(real: Path, tmp: Path) -> Path:
    import geopandas as gpd

    path = tmp / "bng.geojson"
    gpd.read_file(lsoa(real)).to_crs(27700).to_file(path, driver="GeoJSON")
    content = json.loads(path.read_text())
    content.pop("crs", None)
    path.write_text(json.dumps(content))
    return path


def folder_with_a_copy(real: Path, tmp: Path) -> Path:
    folder = tmp / "areas"
    shutil.copytree(real / "lsoa-2011", folder)
    shutil.copy(lsoa(real), folder / "copy-of-first.json")
    return folder


def empty_folder(real: Path, tmp: Path) -> Path:
    (tmp / "nothing").mkdir()
    return tmp / "nothing"


CASES = [
    Bad("missing_column", with_frame(lambda f: f.drop(columns="Crime type")), error=r"'Crime type' is missing"),
    Bad(
        "renamed_header",
        lambda r, t: write(t, text(r).replace("Latitude", "Lat", 1)),
        error=r"'Latitude' is missing.*'Lat'",
    ),
    Bad("semicolons", lambda r, t: write(t, text(r).replace(",", ";")), error="separated by semicolons"),
    Bad("tabs", lambda r, t: write(t, text(r).replace(",", "\t")), error="separated by tabs"),
    Bad("empty_file", lambda r, t: write(t, ""), error="the file is empty"),
    Bad("header_only", lambda r, t: write(t, text(r).split("\n", 1)[0] + "\n"), error="header but no data rows"),
    Bad("cut_mid_line", lambda r, t: write(t, text(r)[: len(text(r)) // 2]), error="cannot be parsed as CSV"),
    Bad("gzip_named_csv", lambda r, t: write(t, gzip.compress(text(r).encode())), error="compressed"),
    Bad(
        "lat_lon_swapped",
        with_frame(lambda f: f.assign(Longitude=f["Latitude"], Latitude=f["Longitude"])),
        error=r"lat_lon_swapped.*beyond its tolerance",
    ),
    Bad("excel_dates_in_month", with_frame(lambda f: f.assign(Month="01/02/2024")), error=r"malformed_month.*beyond"),
    Bad(
        "another_county",
        with_frame(
            lambda f: f.assign(
                Longitude=(f["Longitude"].replace("", None).astype(float) - 2).map(
                    lambda v: "" if pd.isna(v) else f"{v:.6f}"
                )
            )
        ),
        error=r"outside_force_area.*beyond",
    ),
    Bad(
        "every_row_twice",
        with_frame(lambda f: pd.concat([f, f], ignore_index=True)),
        error=r"duplicate_crime_id.*beyond",
    ),
    Bad("latin1_encoding", lambda r, t: write(t, text(r), encoding="latin-1")),
    Bad("bom_and_crlf", lambda r, t: write(t, "\ufeff" + text(r).replace("\n", "\r\n"))),
    Bad("a_few_repeated_rows", with_frame(duplicated(7)), extra_duplicates=7),
    Bad(
        "truncated_geojson",
        areas=lambda r, t: write(t, lsoa(r).read_text()[:50_000], "cut.json"),
        error="cannot be read",
    ),
    Bad("empty_geojson", areas=lambda r, t: write(t, "", "empty.geojson"), error="cannot be read"),
    Bad(
        "geojson_without_properties",
        areas=geojson(lambda g: g | {"features": [f | {"properties": None} for f in g["features"]]}),
        error="no area code field",
    ),
    Bad("geojson_without_features", areas=geojson(lambda g: g | {"features": []}), error="has no features"),
    Bad("metres_without_crs", areas=metres_without_crs, error=r"look like metres.*HOTSPOTS_SOURCE_CRS=EPSG:27700"),
    Bad("crime_csv_as_areas", areas=lambda r, t: r / "police-uk" / MONTH, error="no geometry"),
    Bad("folder_without_boundaries", areas=empty_folder, error="no boundary file"),
    Bad("area_file_copied_in_folder", areas=folder_with_a_copy, error=r"copy-of-first\.json"),
]


def run_select(real: Path, tmp: Path, case: Bad):
    crime = case.crime(real, tmp) if case.crime else real / "police-uk" / MONTH
    areas = case.areas(real, tmp) if case.areas else real / "lsoa-2011"
    result = CliRunner().invoke(
        app,
        [
            "select",
            "--crime",
            str(crime),
            "--areas",
            str(areas),
            "--months",
            "1",
            "--out",
            str(tmp / "ranked.csv"),
            "--json",
        ],
    )
    return result, (crime if case.crime or not case.areas else areas)


@pytest.fixture(scope="module")
def baseline(shared_data, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTSPOTS_DATA_DIR", str(tmp_path_factory.mktemp("baseline")))
        from hotspots.settings import reload_settings

        reload_settings()
        result, _ = run_select(shared_data, tmp_path_factory.mktemp("b"), Bad("real"))
        reload_settings()
    assert result.exit_code == 0, result.output[-3000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_real_bad_file_through_select(case, shared_data, baseline, settings, tmp_path):
    result, path = run_select(shared_data, tmp_path, case)
    if case.error:
        assert result.exit_code == 2, result.output[-3000:]
        assert "Traceback" not in result.output
        lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(lines) == 1, result.output[-3000:]
        assert path.name in lines[0] and re.search(case.error, lines[0]), lines[0]
        return
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["rows_read"] == baseline["rows_read"] + case.extra_duplicates
    assert summary["rows_loaded"] == baseline["rows_loaded"]

    def duplicates(counts: dict) -> int:  # a copy may break another rule as well ('duplicate_crime_id; ...')
        return sum(n for reason, n in counts.items() if "duplicate_crime_id" in reason)

    added = duplicates(summary["quarantined_by_reason"]) - duplicates(baseline["quarantined_by_reason"])
    assert added == case.extra_duplicates
    assert summary["rows_quarantined"] == baseline["rows_quarantined"] + case.extra_duplicates
    assert summary["hotspots"] == baseline["hotspots"]
