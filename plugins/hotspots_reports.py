"""Airflow UI extension: the daily hot-spot reports, served by the api-server under /hotspots-reports/."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

reports_app = FastAPI(title="Hot-spot reports")


def _reports_dir():
    from hotspots.settings import get_settings

    return get_settings().reports_dir


@reports_app.get("/", response_class=HTMLResponse)
def list_reports() -> str:
    """Newest first: one link per force and day."""
    root = _reports_dir()
    files = sorted(root.glob("*/*.html"), key=lambda p: (p.stem, p.parent.name), reverse=True) if root.exists() else []
    items = "".join(f'<li><a href="{p.parent.name}/{p.name}">{p.parent.name} {p.stem}</a></li>' for p in files)
    listing = items or "<li>none yet</li>"
    return f"<!doctype html><title>Hot-spot reports</title><h1>Hot-spot reports</h1><ul>{listing}</ul>"


@reports_app.get("/{force}/{name}")
def report(force: str, name: str) -> FileResponse:
    root = _reports_dir().resolve()
    path = (root / force / name).resolve()
    if not path.is_relative_to(root) or path.suffix not in {".html", ".png"} or not path.is_file():
        raise HTTPException(status_code=404, detail="No such report")
    return FileResponse(path)


class HotspotsReportsPlugin(AirflowPlugin):
    name = "hotspots_reports"
    fastapi_apps = [{"app": reports_app, "url_prefix": "/hotspots-reports", "name": "Hot-spot reports"}]
    external_views = [
        {"name": "Hot-spot reports", "href": "/hotspots-reports/", "destination": "nav", "category": "browse"}
    ]
