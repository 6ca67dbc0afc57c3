"""Rendering for the UI: the Jinja2 environment (autoescape on for every template), the
CSRF token each form carries, and errors as the page shows them (per field, or general).

It does not call any service; the page modules do.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from springboard.errors import SpringboardError, ValidationError

CSRF_COOKIE = "springboard_csrf"
CSRF_FIELD = "csrf"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # every template, whatever its name: user strings are shown as text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: float | None) -> str:
    """A bound as a person writes it: 1, not 1.0; 1e-08 stays short."""
    return "" if value is None else f"{value:g}"


_env.filters["when"] = _ago
_env.filters["g"] = _number


def csrf_token(request: Request) -> str:
    """The request's CSRF token: its cookie's, or a new one (set on the response)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return token


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    """A form is ours when it carries the token of this browser's cookie (double submit:
    another site can neither read the cookie nor, SameSite=Strict, have it sent)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form.get(CSRF_FIELD, "")
    return bool(cookie) and secrets.compare_digest(cookie.encode(), given.encode())


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context`, the CSRF token and the request."""
    context.setdefault("errors", {})
    context.setdefault("general", [])
    html = _env.get_template(template).render(
        request=request, csrf=csrf_token(request), csrf_field=CSRF_FIELD, **context
    )
    response = HTMLResponse(html, status_code=status_code)
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", path="/", secure=False
        )
    return response


def field_errors(exc: SpringboardError) -> tuple[dict[str, list[str]], list[str]]:
    """An error as (messages per field, messages for no field), each as the CLI words it."""
    if isinstance(exc, ValidationError):
        by_field: dict[str, list[str]] = {}
        general = [exc.context] if exc.context else []
        for issue in exc.issues:
            if issue.field:
                by_field.setdefault(issue.field, []).append(issue.describe())
            else:
                general.append(issue.describe())
        return by_field, general
    if exc.field:
        return {exc.field: [str(exc)]}, []
    return {}, [str(exc)]


def error_page(request: Request, exc: SpringboardError) -> HTMLResponse:
    """A page saying what went wrong, with the error's HTTP status."""
    return page(request, "error.html", status_code=exc.http_status, message=str(exc))


def forbidden(request: Request) -> HTMLResponse:
    return page(
        request,
        "error.html",
        status_code=403,
        message="this form did not come from this server's page (CSRF token missing or "
        "wrong); reload the page and try again",
    )
