"""Airflow UI extension: the daily hot-spot reports and each force's live "today so far" page
(<force>/today.html), served by the api-server under /hotspots-reports/.

Reports show where hot spots are and how much each was patrolled: police-sensitive. Airflow 3 mounts a plugin's
FastAPI app without any authentication of its own, so every route here, the API docs included, depends on
``require_reports_access``: the caller's Airflow credentials (the UI's session cookie or a bearer token from
/auth/token) are checked by the auth manager the deployment configures (Simple locally, FAB or another in
production). No or expired credentials: 401; the auth manager refusing the custom view "Hot-spot reports": 403.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

# The resource name an auth manager grants (FAB: a "can read on Hot-spot reports" permission on a role).
REPORTS_VIEW = "Hot-spot reports"


async def require_reports_access(request: Request) -> None:
    """Airflow's own check of the request's user (cookie or bearer token), then the auth manager's verdict."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    user = await get_user(request, None, await bearer_scheme(request))
    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name=REPORTS_VIEW, user=user):
        raise HTTPException(status_code=403, detail="Forbidden: no access to the hot-spot reports")


# FastAPI's built-in /docs and /openapi.json would bypass app dependencies: they are switched off and served below.
reports_app = FastAPI(
    title=REPORTS_VIEW,
    dependencies=[Depends(require_reports_access)],
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)


def _reports_dir():
    from hotspots.settings import get_settings

    return get_settings().reports_dir


@reports_app.get("/openapi.json", include_in_schema=False)
def openapi() -> JSONResponse:
    return JSONResponse(reports_app.openapi())


@reports_app.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=f"{request.scope.get('root_path', '')}/openapi.json", title=REPORTS_VIEW)


@reports_app.get("/", response_class=HTMLResponse)
def list_reports() -> str:
    """Each force's live "today so far" page (today.html, rewritten by every in-shift checkpoint), then the daily
    reports newest first: one link per force and day."""
    root = _reports_dir()
    pages = sorted(root.glob("*/*.html"), key=lambda p: (p.stem, p.parent.name), reverse=True) if root.exists() else []
    live = "".join(
        f'<li><a href="{p.parent.name}/{p.name}">{p.parent.name} today so far</a></li>'
        for p in pages
        if p.stem == "today"
    )
    items = "".join(
        f'<li><a href="{p.parent.name}/{p.name}">{p.parent.name} {p.stem}</a></li>' for p in pages if p.stem != "today"
    )
    return (
        "<!doctype html><title>Hot-spot reports</title><h1>Hot-spot reports</h1>"
        f"<h2>Today so far</h2><ul>{live or '<li>no checkpoint yet</li>'}</ul>"
        f"<h2>Daily reports</h2><ul>{items or '<li>none yet</li>'}</ul>"
    )


@reports_app.get("/{force}/{name}")
def report(force: str, name: str) -> FileResponse:
    root = _reports_dir().resolve()
    path = (root / force / name).resolve()
    if not path.is_relative_to(root) or path.suffix not in {".html", ".png"} or not path.is_file():
        raise HTTPException(status_code=404, detail="No such report")
    return FileResponse(path)


class HotspotsReportsPlugin(AirflowPlugin):
    name = "hotspots_reports"
    fastapi_apps = [{"app": reports_app, "url_prefix": "/hotspots-reports", "name": REPORTS_VIEW}]
    external_views = [{"name": REPORTS_VIEW, "href": "/hotspots-reports/", "destination": "nav", "category": "browse"}]
