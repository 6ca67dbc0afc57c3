"""The control-plane app: the invocation-job routes, the OpenAI gateway (`/v1/...`, routed
to endpoints by `model`), the Bedrock runtime (`/model/{modelId}/...`) and the SageMaker
runtime's paths (`/endpoints/{name}/...`), both routed to endpoints, `GET /ping`, the OpenAPI docs (`/docs`, `/openapi.json`), errors
in each API's own shape, and the API key.

Built on `springboard.http_server`, as the endpoint servers are: every request passes the
guard first (its own Host names only, no cross-site browser writes, the API key when one
is set — `Authorization: Bearer KEY`, or `x-api-key: KEY`, also beside boto3's SigV4
`Authorization` — and a body limit, `SPRINGBOARD_API_MAX_BODY_KB`), and every error is
rendered in the shape of its path's API: OpenAI's under `/v1/`, the Bedrock control
plane's elsewhere. A 5xx body says only "internal error" and a request id; the detail goes
to the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from springboard.api import bedrock
from springboard.api.bedrock_runtime import create_runtime_router
from springboard.api.openai import batches, files, fine_tuning
from springboard.api.openai.gateway import create_gateway
from springboard.api.openai.router import error_response
from springboard.api.sagemaker_runtime import create_sagemaker_router
from springboard.errors import SpringboardError
from springboard.http_server import ErrorShapes, UnknownRouteError, install
from springboard.ui import UPLOAD_PATHS as UI_UPLOAD_PATHS


def create_app(api_key: str | None = None, *, host: str = "127.0.0.1") -> FastAPI:
    """The control-plane app for a server bound to `host` (its Host names come from it)."""
    from springboard import __version__
    from springboard.config import get_settings

    app = FastAPI(
        title="Springboard control plane",
        description="Invocation jobs in the managed service's REST shapes: point "
        "boto3's `bedrock` client at this server with `endpoint_url`.",
        version=__version__,
        lifespan=_scheduler_ticks,
    )
    install(
        app,
        shapes=SHAPES,
        api_key=api_key,
        host=host,
        max_body_bytes=get_settings().api_max_body_kb * 1024,
        limit_hint="raise SPRINGBOARD_API_MAX_BODY_KB on the server",
        request_issues=bedrock.request_issues,
        uploads=tuple(
            (
                path,
                get_settings().files_max_mb * 1024 * 1024 + 64 * 1024,  # the file and its form
                "raise SPRINGBOARD_FILES_MAX_MB on the server",
            )
            for path in (files.UPLOAD_PATH, *UI_UPLOAD_PATHS)  # the UI's: a transform's input
        ),
    )

    @app.get("/ping", summary="Health: 200 while the server runs", tags=["health"])
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(bedrock.router)
    app.include_router(create_runtime_router(api_key))
    app.include_router(create_sagemaker_router(api_key))
    app.include_router(files.router)
    app.include_router(batches.router)
    app.include_router(fine_tuning.router)
    app.include_router(create_gateway(api_key))
    # the web UI at `/`, last: its session middleware then wraps the guard
    from springboard.ui import mount

    mount(app, api_key)
    return app


@asynccontextmanager
async def _scheduler_ticks(_app: FastAPI) -> AsyncIterator[None]:
    """While the server runs, a scheduler pass every few seconds (admission, expiry)."""
    from springboard.jobs.scheduler import Ticker

    with Ticker():
        yield


def _bedrock_error(exc: SpringboardError) -> JSONResponse:
    """A Bedrock-shaped error; an unknown route is the service's UnknownOperationException."""
    if isinstance(exc, UnknownRouteError):
        return bedrock.error_reply("UnknownOperationException", exc.http_status, str(exc))
    return bedrock.error_response(exc)


SHAPES = ErrorShapes(
    default=_bedrock_error,
    by_prefix=(("/v1/", error_response),),
    request_id_header="x-amzn-RequestId",
)
