"""What every Springboard HTTP server shares: the control plane (`springboard serve`) and
each endpoint server (`serving.server`) are built from these pieces, so they cannot drift.

- **The API key**: one setting, `SPRINGBOARD_API_KEY` (`configured_api_key`); binding
  beyond loopback without it is refused before the socket is bound (`exposure_issue`).
- **The socket and its URL**: `bind` (port 0 picks a free one; a busy port is a typed
  error) and `url_for` (IPv6 in brackets).
- **The guard and the errors** (`install`): `http_guard` in front of every route (Host
  names, cross-site writes, the key, the body limit), and every error a route or the
  framework raises — a refusal, an unknown route, an unreadable request, an unexpected
  failure — rendered in the shape of the API its path belongs to (`ErrorShapes`). A 5xx
  says only "internal error" and a request id; the detail goes to the log.
- **The uvicorn server** with the same keep-alive and logging (`uvicorn_server`).

It knows no route and no protocol: each server passes its own error renderers.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from springboard.errors import (
    Issue,
    NotFoundError,
    ServerError,
    SpringboardError,
    ValidationError,
)
from springboard.http_guard import GuardPolicy, HttpGuard, allowed_hosts, is_loopback

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI, Request, Response

    from springboard.config import Settings

log = logging.getLogger("springboard.http")

Renderer = Callable[[SpringboardError], "Response"]
KEY_HEADERS = "'Authorization: Bearer KEY' or 'x-api-key: KEY'"


class UnknownRouteError(NotFoundError):
    """No route has this path (404), or not for this method (405)."""

    code = "unknown_route"


def configured_api_key(settings: Settings | None = None) -> str | None:
    """The API key the servers require and the clients send (`SPRINGBOARD_API_KEY`), or None."""
    from springboard.config import get_settings

    secret = (settings or get_settings()).api_key
    key = secret.get_secret_value() if secret is not None else ""
    return key or None  # an empty SPRINGBOARD_API_KEY is no key


def exposure_issue(host: str, api_key: str | None, *, field: str, ways: str) -> Issue | None:
    """The refusal to bind `host` beyond loopback without an API key, or None.
    `ways` says how this server is given a key."""
    if is_loopback(host) or api_key:
        return None
    return Issue(
        field,
        f"binding {host} exposes the server beyond this machine, and it has no API key",
        host,
        f"{ways} (clients send it as {KEY_HEADERS}), or keep the default 127.0.0.1",
    )


def bind(host: str, port: int, *, field: str = "port") -> socket.socket:
    """A listening TCP socket on `host:port` (port 0: a free one), inheritable by uvicorn."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it Nagle holds every small response ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ValidationError(
            [
                Issue(
                    field,
                    f"cannot bind {host}:{port}: {exc.strerror}",
                    port,
                    "pick another port, or 0 for a free one",
                )
            ],
            context="cannot serve",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    """The URL a server bound to `host:port` is reached at."""
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class ErrorShapes:
    """Which API's error shape a path gets: the renderer of its first matching prefix
    (e.g. `/v1/` for OpenAI's), else the server's own."""

    default: Renderer
    by_prefix: tuple[tuple[str, Renderer], ...] = ()
    request_id_header: str = "x-request-id"  # where a 5xx gives its request id

    def render(self, exc: SpringboardError, path: str) -> Response:
        for prefix, renderer in self.by_prefix:
            if path.startswith(prefix):
                return renderer(exc)
        return self.default(exc)


def internal_error(request_id: str) -> ServerError:
    """What a caller sees of an unexpected failure: a request id to find it in the log."""
    return ServerError(f"internal error (request id {request_id}; the server's log has the detail)")


def _request_issues(errors: list[dict[str, Any]]) -> list[Issue]:
    """FastAPI's request validation errors as issues, named without the body/query prefix."""
    return [
        Issue(
            ".".join(str(p) for p in tuple(e.get("loc", ()))[1:]) or None,
            str(e.get("msg", "is invalid")),
        )
        for e in errors
    ]


def install(
    app: FastAPI,
    *,
    shapes: ErrorShapes,
    api_key: str | None,
    host: str,
    max_body_bytes: int,
    limit_hint: str,
    request_issues: Callable[[list[dict[str, Any]]], list[Issue]] = _request_issues,
    uploads: tuple[tuple[str, int, str], ...] = (),
) -> None:
    """Put the guard in front of `app` (a server bound to `host`) and render every error
    by `shapes`; `request_issues` names the fields of a request FastAPI could not read;
    `uploads` are the (path, body limit, how to raise it) of the multipart upload routes."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from springboard.config import get_settings

    app.add_middleware(
        HttpGuard,
        render=shapes.render,
        policy=GuardPolicy(
            api_key=api_key,
            hosts=allowed_hosts(host, get_settings().allowed_host_names),
            max_body_bytes=max_body_bytes,
            limit_hint=limit_hint,
            uploads=uploads,
        ),
    )

    @app.exception_handler(SpringboardError)
    async def springboard_error(request: Request, exc: SpringboardError) -> Response:
        return shapes.render(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        return shapes.render(ValidationError(request_issues(list(exc.errors()))), request.url.path)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        error = UnknownRouteError(
            f"{request.method} {request.url.path}: {exc.detail}",
            field="path",
            value=request.url.path,
            fix="see /docs for the routes",
        )
        error.http_status = exc.status_code
        return shapes.render(error, request.url.path)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> Response:
        return shapes.render(
            ValidationError(
                [
                    Issue(
                        None,
                        "the request body nests JSON too deeply",
                        fix="send the documented shape",
                    )
                ]
            ),
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The detail goes to the log only: a body that names files or internals helps an attacker.
        request_id = uuid.uuid4().hex
        log.error(
            "%s %s failed (request id %s)",
            request.method,
            request.url.path,
            request_id,
            exc_info=exc,
        )
        reply = shapes.render(internal_error(request_id), request.url.path)
        reply.headers[shapes.request_id_header] = request_id
        return reply


def uvicorn_server(
    app: FastAPI, *, access_log: bool = True, graceful_timeout: int | None = None
) -> uvicorn.Server:
    """The uvicorn server both kinds of server run (`.run(sockets=[bind(...)])`)."""
    import uvicorn

    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="info",
            access_log=access_log,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=graceful_timeout,
        )
    )
