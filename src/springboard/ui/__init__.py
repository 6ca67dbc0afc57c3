"""The web UI on `springboard serve`: server-rendered pages over the same services the CLI
calls (catalog, endpoints, jobs, training), at `/` and under `/ui/`.

Pages are Jinja2 templates (autoescaped); partial updates use the vendored htmx
(`static/htmx-2.0.4.min.js`, its license beside it); charts are SVG drawn on the server
(`charts`). Nothing is fetched from another origin and there is no build step. Each route
parses the form or query, calls a service and renders; the services raise the same typed
errors as for the CLI, shown beside the field they name.

This package does not change the API's guard (`springboard.http_guard`); with an API key
it adds one outer middleware (`auth.UiSession`) that lets the login page and the session
cookie through it, and it lists its multipart form's path (`UPLOAD_PATHS`) for the guard's
upload limit. It does not start anything on a GET; a self-consistency run, which waits for
its jobs, goes on a thread of the server (`self_consistency_runs`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
# multipart forms (a file upload): the API's guard lets them through, with its upload limit
UPLOAD_PATHS = ("/ui/jobs/new/transform",)


def mount(app: FastAPI, api_key: str | None) -> None:
    """Add the UI's routes and static files to the control plane `app`; with `api_key`,
    its session middleware (added last, so it runs before the guard)."""
    from springboard.ui import (
        auth,
        endpoint_pages,
        job_forms,
        job_pages,
        model_pages,
        self_consistency_pages,
    )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/models", status_code=303)

    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(auth.create_router(api_key))
    app.include_router(model_pages.router)
    app.include_router(endpoint_pages.router)
    app.include_router(job_forms.router)
    app.include_router(job_pages.router)
    app.include_router(self_consistency_pages.router)
    if api_key:
        app.add_middleware(auth.UiSession, api_key=api_key)
