"""The Airflow plugin that serves daily reports: lists them, serves them, refuses paths outside the folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi.testclient import TestClient

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "hotspots_reports.py"


def _plugin():
    spec = importlib.util.spec_from_file_location("hotspots_reports", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plugin_refuses_a_request_without_credentials():
    """Outside the api-server too: no Airflow credentials, no report (tests/report/test_reports_auth.py goes
    through the real api-server and its auth manager)."""
    client = TestClient(_plugin().reports_app)
    assert [client.get(page).status_code for page in ("/", "/x/y.html", "/docs", "/openapi.json")] == [401] * 4


def test_reports_are_listed_and_served(settings):
    folder = settings.reports_dir / "synthetic"
    folder.mkdir(parents=True)
    (folder / "2024-05-07.html").write_text("<html><body>report of 7 May</body></html>")
    (settings.reports_dir / "secret.txt").write_text("not a report")
    plugin = _plugin()
    # The listing and the path checks, without an auth manager: access is granted here, checked in test_reports_auth.
    plugin.reports_app.dependency_overrides[plugin.require_reports_access] = lambda: None
    client = TestClient(plugin.reports_app)
    index = client.get("/")
    assert index.status_code == 200 and 'href="synthetic/2024-05-07.html"' in index.text
    assert "report of 7 May" in client.get("/synthetic/2024-05-07.html").text
    assert client.get("/synthetic/..%2Fsecret.txt").status_code == 404
    assert client.get("/synthetic/missing.html").status_code == 404
    (folder / "today.html").write_text("<html><body>As of the 21:00 checkpoint</body></html>")
    index = client.get("/")
    assert 'href="synthetic/today.html">synthetic today so far' in index.text
    assert index.text.index("today so far") < index.text.index("2024-05-07")  # the live page first
    assert "As of the 21:00 checkpoint" in client.get("/synthetic/today.html").text
    assert plugin.HotspotsReportsPlugin.fastapi_apps[0]["url_prefix"] == "/hotspots-reports"
