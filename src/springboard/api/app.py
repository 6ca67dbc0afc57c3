"""The control-plane app: the invocation-job routes, the OpenAI gateway (`/v1/...`, routed
to endpoints by `model`), `GET /ping`, the OpenAPI docs (`/docs`, `/openapi.json`), errors
in each API's own shape, and the API key.

Every request passes `springboard.http_guard` first: its own Host names only, no
cross-site browser writes, the API key when one is set (`Authorization: Bearer KEY` or
`x-api-key: KEY`, the latter also beside boto3's SigV4 `Authorization`), and a body limit
(`SPRINGBOARD_API_MAX_BODY_KB`). A 5xx body says only "internal error" and a request id;
the detail goes to the log.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from springboard.api import bedrock
from springboard.api.openai.gateway import create_gateway
from springboard.api.openai.router import error_response
from springboard.errors import Issue, SpringboardError, ValidationError
from springboard.http_guard import GuardPolicy, HttpGuard, allowed_hosts

log = logging.getLogger("springboard.api")

HTTP_ERRORS = {404: "UnknownOperationException", 405: "UnknownOperationException"}


def create_app(api_key: str | None = None, *, host: str = "127.0.0.1") -> FastAPI:
    """The control-plane app for a server bound to `host` (its Host names come from it)."""
    from springboard import __version__
    from springboard.config import get_settings

    settings = get_settings()
    app = FastAPI(title="Springboard control plane",
                  description="Invocation jobs in the managed service's REST shapes: point "
                  "boto3's `bedrock` client at this server with `endpoint_url`.",
                  version=__version__)
    app.add_middleware(HttpGuard, render=_render, policy=GuardPolicy(
        api_key=api_key, hosts=allowed_hosts(host, settings.allowed_host_names),
        max_body_bytes=settings.api_max_body_kb * 1024,
        limit_hint="raise SPRINGBOARD_API_MAX_BODY_KB on the server"))

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

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> Response:
        return bedrock.error_response(ValidationError([Issue(
            None, "the request body nests JSON too deeply", fix="send the documented shape")]))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # The detail goes to the log only: a body that names files or internals helps an attacker.
        request_id = uuid.uuid4().hex
        log.exception("%s %s failed (request id %s)", request.method, request.url.path,
                      request_id)
        reply = bedrock.error_reply(*bedrock.INTERNAL, f"internal error (request id "
                                    f"{request_id}; the server's log has the detail)")
        reply.headers["x-amzn-RequestId"] = request_id
        return reply

    @app.get("/ping", summary="Health: 200 while the server runs", tags=["health"])
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(bedrock.router)
    app.include_router(create_gateway(api_key))
    return app


def _render(exc: SpringboardError, path: str) -> Response:
    """A refusal in the shape of the API the path belongs to."""
    return error_response(exc) if path.startswith("/v1/") else bedrock.error_response(exc)
