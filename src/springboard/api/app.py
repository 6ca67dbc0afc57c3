"""The control-plane app: the invocation-job routes, `GET /ping`, the OpenAPI docs
(`/docs`, `/openapi.json`), errors in the managed service's shape, and the API key.

With an API key configured, every route but `/ping` needs `Authorization: Bearer KEY` or
`x-api-key: KEY` (boto3 clients sign with `Authorization: AWS4-HMAC-SHA256 ...`, so they
send the key as `x-api-key`). Without one, `Authorization` is not looked at.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from springboard.api import bedrock
from springboard.errors import SpringboardError, ValidationError

log = logging.getLogger("springboard.api")

HTTP_ERRORS = {404: "UnknownOperationException", 405: "UnknownOperationException"}


def _key_matches(request: Request, api_key: str) -> bool:
    given = []
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        given.append(authorization[7:].strip())
    if "x-api-key" in request.headers:
        given.append(request.headers["x-api-key"].strip())
    return any(hmac.compare_digest(g.encode(), api_key.encode()) for g in given)


def create_app(api_key: str | None = None) -> FastAPI:
    from springboard import __version__

    app = FastAPI(title="Springboard control plane",
                  description="Invocation jobs in the managed service's REST shapes: point "
                  "boto3's `bedrock` client at this server with `endpoint_url`.",
                  version=__version__)

    @app.middleware("http")
    async def require_key(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if api_key and request.url.path != "/ping" and not _key_matches(request, api_key):
            return bedrock.error_reply(
                "AccessDeniedException", 401,
                "Authorization: a valid API key is required (send 'Authorization: Bearer "
                "$SPRINGBOARD_API_KEY' or 'x-api-key: $SPRINGBOARD_API_KEY')")
        return await call_next(request)

    @app.exception_handler(SpringboardError)
    async def springboard_error(request: Request, exc: SpringboardError) -> Response:
        return bedrock.error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        return bedrock.error_response(ValidationError(bedrock.request_issues(list(exc.errors()))))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        name = HTTP_ERRORS.get(exc.status_code, "ValidationException")
        return bedrock.error_reply(name, exc.status_code,
                                   f"{request.method} {request.url.path}: {exc.detail} (see "
                                   "/docs for the routes)")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return bedrock.error_response(exc)

    @app.get("/ping", summary="Health: 200 while the server runs", tags=["health"])
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(bedrock.router)
    return app
