"""`hotspots patrol-minutes` on files with the force's own column names, and a tiny `bench patrol-minutes`."""

from __future__ import annotations

import json

import pandas as pd
from avl_helpers import DAY, code, ping_rows
from sources_fixtures import write_areas
from typer.testing import CliRunner

from hotspots.cli import app


def test_patrol_minutes_command_with_column_mapping(settings, tmp_path):
    areas = write_areas(tmp_path / "areas")
    rows = ping_rows("AVL-1", f"{DAY}T13:00:00", 21, 60, col=1, row=2) + ping_rows(
        "RAD-2", f"{DAY}T13:10:00", 21, 60, col=1, row=2
    )
    rows += ping_rows("AVL-3", f"{DAY}T13:00:00", 11, 60, col=3, row=3, speed="40")  # transit: not patrol
    frame = pd.DataFrame(rows).rename(
        columns={"device_id": "vehicle_id", "lon": "longitude", "lat": "latitude", "speed_kmh": "speed"}
    )
    frame.loc[len(frame)] = ["AVL-1", "not-a-time", "-0.4", "52.1", "", "vehicle"]
    pings = tmp_path / "pings.csv"
    frame.to_csv(pings, index=False)
    out = tmp_path / "out" / "patrol.csv"
    result = CliRunner().invoke(
        app,
        [
            "patrol-minutes",
            "--pings",
            str(pings),
            "--areas",
            str(areas),
            "--columns",
            "device=vehicle_id,time=timestamp,lon=longitude,lat=latitude",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["pings_used"], summary["pings_skipped"], summary["rows"]) == (53, 1, 1)
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "area_code",
        "date",
        "patrol_minutes",
        "officer_minutes",
        "visits",
        "koper_visits",
        "devices",
        "window_minutes",
        "longest_visit_minutes",
    ]
    assert table.iloc[0].tolist() == [code(1, 2), DAY, 30.0, 40.0, 1, 1, 2, 30.0, 30.0]
    # no transit filter: AVL-3's ten minutes count; a 0 m buffer changes nothing for centre points
    CliRunner().invoke(
        app,
        [
            "patrol-minutes",
            "--pings",
            str(pings),
            "--areas",
            str(areas),
            "--columns",
            "device=vehicle_id,lon=longitude,lat=latitude",
            "--max-speed-kmh",
            "none",
            "--buffer-m",
            "0",
            "--out",
            str(out),
        ],
    )
    table = pd.read_csv(out).set_index("area_code")
    assert table.loc[code(3, 3), "patrol_minutes"] == 10.0 and table.loc[code(1, 2), "patrol_minutes"] == 30.0


def test_patrol_minutes_command_reports_bad_arguments(settings, tmp_path):
    areas = write_areas(tmp_path / "areas")
    pings = tmp_path / "pings.csv"
    pd.DataFrame(ping_rows("AVL-1", f"{DAY}T13:00:00", 3, 60)).to_csv(pings, index=False)
    result = CliRunner().invoke(
        app,
        [
            "patrol-minutes",
            "--pings",
            str(pings),
            "--areas",
            str(areas),
            "--columns",
            "vehicle=id",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code != 0 and "unknown names" in result.output


def test_bench_command_small(settings):
    result = CliRunner().invoke(
        app, ["bench", "patrol-minutes", "--pings", "30000", "--devices", "30", "--subsample", "6000"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["agree"] is True and figures["pings"] == 30000
    assert figures["pings_per_s"] > 0 and figures["speedup_vs_spatial_join"] > 0
    assert "agreement on the subsample" in result.output and "exact" in result.output


def test_patrol_minutes_on_a_file_of_several_row_groups(settings, tmp_path):
    """322,560 pings (896 devices, 20 s apart for two hours from 14:00 local) in one file; three GPS spikes past
    the first row group are quarantined as impossible jumps and change no minute (ground truth by construction)."""
    import numpy as np
    from avl_helpers import centre
    from sources_fixtures import TO_WGS84

    n_dev, n = 896, 360
    dev = np.repeat(np.arange(n_dev), n)
    col, row = dev % 4, (dev // 4) % 4
    x, y = centre(0, 0)
    lon, lat = TO_WGS84.transform(x + col * 1000.0, y + row * 1000.0)
    t = pd.Timestamp(f"{DAY}T13:00:00Z") + pd.to_timedelta(np.tile(np.arange(n) * 20, n_dev), unit="s")
    frame = pd.DataFrame(
        {
            "device_id": [f"AVL-{d}" for d in dev],
            "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lon": np.round(lon, 7),
            "lat": np.round(lat, 7),
        }
    )
    spikes = [150_000 + 7, 200_000 + 101, 300_000 + 55]  # inside a device's run, never its first or last ping
    frame.loc[spikes, "lon"] += 0.05
    pings = tmp_path / "pings.csv"
    frame.to_csv(pings, index=False)
    out = tmp_path / "patrol.csv"
    areas = write_areas(tmp_path / "a")
    result = CliRunner().invoke(
        app, ["patrol-minutes", "--pings", str(pings), "--areas", str(areas), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["rows_read"], summary["rows_loaded"]) == (n_dev * n, n_dev * n - 3)
    assert summary["quarantined_by_reason"] == {"impossible_jump": 3}
    table = pd.read_csv(out).set_index("area_code")
    minutes = (n - 1) * 20 / 60
    assert len(table) == 16 and (table["devices"] == n_dev // 16).all()
    assert np.allclose(table["patrol_minutes"], minutes) and np.allclose(table["window_minutes"], minutes)
    assert np.allclose(table["officer_minutes"], minutes * (n_dev // 16))
    assert (table["visits"] == 1).all() and (table["koper_visits"] == 1).all()


def test_patrol_minutes_refuses_bad_parameter_values(settings, tmp_path):
    areas = write_areas(tmp_path / "areas")
    pings = tmp_path / "pings.csv"
    pd.DataFrame(ping_rows("AVL-1", f"{DAY}T13:00:00", 3, 60)).to_csv(pings, index=False)
    base = ["patrol-minutes", "--pings", str(pings), "--areas", str(areas), "--out", str(tmp_path / "o.csv")]
    for extra, said in (
        (["--tz", "Mars/Olympus"], "Mars/Olympus"),
        (["--max-gap-s", "999999"], "max_gap_s"),
        (["--max-speed-kmh", "fast"], "'fast'"),
        (["--buffer-m", "-1"], "HOTSPOTS_BUFFER_M"),
    ):
        result = CliRunner().invoke(app, base + extra)
        assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output, result.output
