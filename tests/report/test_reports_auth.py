"""The reports plugin through the real api-server: Airflow's authentication and the configured auth manager
(Simple here) guard every page, the API docs included. No credentials: 401; a user the auth manager gives no
access (a Simple user without a role): 403; a viewer with a token or the UI's session cookie: the report."""

from __future__ import annotations

import httpx
import pytest
from api_server import airflow_api_server

pytestmark = pytest.mark.slow

REPORT = "synthetic/2024-05-07.html"
LIVE = "synthetic/today.html"  # the live "today so far" page, behind the same login
PAGES = (
    "/hotspots-reports/",
    f"/hotspots-reports/{REPORT}",
    f"/hotspots-reports/{LIVE}",
    "/hotspots-reports/docs",
    "/hotspots-reports/openapi.json",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports-auth")
    reports = tmp / "data" / "reports" / "synthetic"
    reports.mkdir(parents=True)
    (reports / "2024-05-07.html").write_text("<html><body>report of 7 May: T03 rank 1</body></html>")
    (reports / "today.html").write_text("<html><body>today so far: T03 no visit yet</body></html>")
    with airflow_api_server(tmp, users="viewer:viewer,nobody:", env={"HOTSPOTS_DATA_DIR": str(tmp / "data")}) as srv:
        yield srv


def _get(server, path, **kwargs):
    return httpx.get(f"{server.url}{path}", timeout=60, **kwargs)


@pytest.mark.parametrize("page", PAGES)
def test_no_credentials_get_401(server, page):
    response = _get(server, page)
    assert response.status_code == 401, response.text
    assert "T03" not in response.text


@pytest.mark.parametrize("page", PAGES)
def test_a_junk_token_is_refused_as_the_core_api_refuses_it(server, page):
    junk = {"Authorization": "Bearer not-a-jwt"}
    core = _get(server, "/api/v2/dags", headers=junk).status_code
    assert core in (401, 403)
    assert _get(server, page, headers=junk).status_code == core


@pytest.mark.parametrize("page", PAGES)
def test_a_user_without_access_gets_403(server, page):
    token = server.token("nobody")
    response = _get(server, page, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403, response.text
    assert "T03" not in response.text


def test_a_viewer_reads_the_reports_with_a_token_or_the_ui_cookie(server):
    headers = {"Authorization": f"Bearer {server.token('viewer')}"}
    index = _get(server, "/hotspots-reports/", headers=headers)
    assert index.status_code == 200 and f'href="{REPORT}"' in index.text
    page = _get(server, f"/hotspots-reports/{REPORT}", headers=headers)
    assert page.status_code == 200 and "T03 rank 1" in page.text
    live = _get(server, f"/hotspots-reports/{LIVE}", headers=headers)
    assert live.status_code == 200 and "T03 no visit yet" in live.text
    assert _get(server, "/hotspots-reports/openapi.json", headers=headers).json()["info"]["title"] == "Hot-spot reports"
    assert "/hotspots-reports/openapi.json" in _get(server, "/hotspots-reports/docs", headers=headers).text
    cookie = _get(server, f"/hotspots-reports/{REPORT}", cookies={"_token": server.token("viewer")})
    assert cookie.status_code == 200 and "T03 rank 1" in cookie.text
