"""Signing in to the UI when `springboard serve` has an API key.

The login page takes the key once and sets a session cookie (HttpOnly, SameSite=Strict)
holding a value derived from the key (an HMAC, never the key itself). `UiSession`, an
ASGI middleware outside the API's guard, turns that cookie into the bearer header the
guard checks, so pages, htmx requests and the playground's `/v1/...` calls pass it;
cross-site requests still meet the guard's Origin / Sec-Fetch-Site check, and a
SameSite=Strict cookie is not sent with them. A page request without a session is sent
to the login page; the login page and the static files are let through the guard, as
they need no key. Without an API key none of this runs: on loopback the UI just opens.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from springboard.http_guard import ASGIApp, Receive, Send, key_matches
from springboard.ui.render import csrf_ok, forbidden, page

SESSION_COOKIE = "springboard_session"
LOGIN_PATH = "/ui/login"
OPEN_PREFIXES = ("/ui/static/",)


def session_value(api_key: str) -> str:
    """What the session cookie holds for `api_key` (changing the key ends every session)."""
    return hmac.new(api_key.encode(), b"springboard-ui-session", hashlib.sha256).hexdigest()


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class UiSession:
    """Turns a valid session cookie into the API key's bearer header; sends a browser
    without one to the login page (pages only: the APIs answer 401 as before)."""

    def __init__(self, app: ASGIApp, *, api_key: str) -> None:
        self.app, self.api_key = app, api_key
        self.session = session_value(api_key)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        path = scope["path"]
        signed_in = key_matches(headers, self.api_key)
        cookie = _cookie(headers, SESSION_COOKIE)
        has_session = cookie is not None and hmac.compare_digest(cookie, self.session)
        open_path = path == LOGIN_PATH or path.startswith(OPEN_PREFIXES)
        if not signed_in and (has_session or open_path):
            # the guard's key check then passes; the login route checks the typed key itself
            scope = dict(scope)
            scope["headers"] = [
                *scope.get("headers", []),
                (b"authorization", f"Bearer {self.api_key}".encode()),
            ]
        elif (
            not signed_in and scope["method"] == "GET" and (path == "/" or path.startswith("/ui/"))
        ):
            target = quote(
                path + ("?" + scope["query_string"].decode() if scope.get("query_string") else "")
            )
            await RedirectResponse(f"{LOGIN_PATH}?next={target}", status_code=303)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _next(target: str) -> str:
    """Only a path on this server (never `//host` or a full URL)."""
    return target if target.startswith("/") and not target.startswith("//") else "/ui/models"


def create_router(api_key: str | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(LOGIN_PATH)
    def login_form(request: Request, next: str = "/ui/models") -> HTMLResponse:
        return page(request, "login.html", next=_next(next), needed=bool(api_key))

    @router.post(LOGIN_PATH)
    async def login(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not csrf_ok(request, form):
            return forbidden(request)
        target = _next(form.get("next", ""))
        if not api_key:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(form.get("api_key", "").encode(), api_key.encode()):
            return page(
                request,
                "login.html",
                status_code=401,
                next=target,
                needed=True,
                errors={"api_key": ["this is not the server's API key"]},
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session_value(api_key), httponly=True, samesite="strict", path="/"
        )
        return response

    @router.post("/ui/logout")
    async def logout(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not csrf_ok(request, form):
            return forbidden(request)
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
