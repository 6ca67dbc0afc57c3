"""The endpoint's HTTP routes (FastAPI): parse → call the service → send its reply.

`GET /ping` (200 only once the model is loaded), `POST /invocations`,
`POST /endpoints/{name}/invocations` (the managed runtime's path; a JSON payload with
`"stream": true` is answered as JSON Lines while it is generated),
`POST /endpoints/{name}/invocations-response-stream` (the same lines as the runtime's event
stream, `serving.response_stream`), `GET /metrics`
(Prometheus), `GET /info`, and the OpenAPI spec at `/openapi.json`. Built on
`springboard.http_server`, as the control plane is: every request passes the guard first
(Host names, cross-site writes, the API key on every route but `/ping` — `Authorization:
Bearer KEY`, or `x-api-key: KEY`, also beside boto3's SigV4 `Authorization` — and the body
limit `SPRINGBOARD_MAX_PAYLOAD_MB` enforced while reading), and every error is rendered in
the endpoint's shape (`{"error": {...}}`), or in the mounted protocol's under its prefix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from springboard.api import eventstream
from springboard.errors import Issue, SpringboardError, ValidationError
from springboard.http_server import ErrorShapes, install
from springboard.serving.native_stream import MEDIA_TYPE as STREAM_MEDIA_TYPE
from springboard.serving.native_stream import open_stream, wants_stream
from springboard.serving.protocol import (
    JSON,
    Reply,
    decode_json,
    error_reply,
    media_type,
    unknown_endpoint_reply,
    wait_for_disconnect,
)
from springboard.serving.response_stream import PAYLOAD_MEDIA_TYPE, payload_parts
from springboard.serving.service import EndpointService, public_error

PAYLOAD_FIX = 'send e.g. {"inputs": "hello", "parameters": {"max_new_tokens": 20}}'


INVOCATION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {"text_inputs": "Translate to German: hello"},
            },
            "application/jsonlines": {"schema": {"type": "string"}},
            "application/x-text": {"schema": {"type": "string"}},
        },
    },
}


def _send(reply: Reply) -> Response:
    return Response(
        content=reply.body,
        status_code=reply.status,
        media_type=reply.media_type,
        headers=reply.headers,
    )


def media_type_of(request: Request) -> str | None:
    try:
        return media_type(request.headers.get("content-type"))
    except SpringboardError:
        return None  # the service refuses it in its own words


def create_app(
    service: EndpointService,
    *,
    api_key: str | None = None,
    host: str = "127.0.0.1",
    routers: Sequence[APIRouter] = (),
    render_error: Callable[[SpringboardError], Response] | None = None,
) -> FastAPI:
    """The endpoint's app, for a server bound to `host` (its Host names come from it).

    `routers` add other protocols' routes (the OpenAI API, mounted by `serving.server`);
    `render_error` shapes an error on their paths (`/v1/...`)."""
    app = FastAPI(
        title=f"Springboard endpoint {service.name}",
        description=f"Serves {service.spec.id} {service.spec.version}.",
        version=service.spec.version,
    )
    shapes = ErrorShapes(
        default=lambda exc: _send(error_reply(exc, runtime_shape=False)),
        by_prefix=(("/v1/", render_error),) if render_error else (),
    )
    install(
        app,
        shapes=shapes,
        api_key=api_key,
        host=host,
        max_body_bytes=int(service.settings.max_payload_mb * 1024 * 1024),
        limit_hint="split the inputs over several requests, or deploy with a larger "
        "SPRINGBOARD_MAX_PAYLOAD_MB",
    )

    @app.get("/ping", summary="Health: 200 once the model is loaded, 503 before")
    async def ping() -> Response:
        if service.ready:
            return JSONResponse({"status": "Healthy"})
        return JSONResponse({"status": "Loading", "error": service.load_error}, status_code=503)

    async def invoke(request: Request, runtime_shape: bool) -> Response:
        body = await request.body()
        if b'"stream"' in body and media_type_of(request) == JSON:  # maybe `"stream": true`
            try:
                payload = await asyncio.to_thread(decode_json, body)
                if wants_stream(payload):
                    return StreamingResponse(
                        await open_stream(service, payload), media_type=STREAM_MEDIA_TYPE
                    )
            except Exception as exc:  # noqa: BLE001 (every failure answers as an error reply)
                return _send(
                    error_reply(public_error(exc, uuid.uuid4().hex), runtime_shape=runtime_shape)
                )
        # Once the body is read, the next ASGI message is the client's disconnect; the
        # service then cancels the work (a blocking receive, not is_disconnected polling).
        reply = await service.invoke(
            body,
            request.headers.get("content-type"),
            runtime_shape=runtime_shape,
            request_id=request.headers.get("x-request-id"),
            until_gone=lambda: wait_for_disconnect(request.receive),
        )
        return _send(reply)

    @app.post("/invocations", summary="Invoke the model", openapi_extra=INVOCATION_BODY)
    async def invocations(request: Request) -> Response:
        return await invoke(request, runtime_shape=False)

    @app.post(
        "/endpoints/{name}/invocations",
        openapi_extra=INVOCATION_BODY,
        summary="Invoke the model on the managed runtime's path",
    )
    async def runtime_invocations(name: str, request: Request) -> Response:
        if name != service.name:
            return _send(unknown_endpoint_reply(name, service.name))
        return await invoke(request, runtime_shape=True)

    @app.post(
        "/endpoints/{name}/invocations-response-stream",
        openapi_extra=INVOCATION_BODY,
        summary="Invoke the model, its tokens streamed as the managed runtime's event stream",
    )
    async def runtime_response_stream(name: str, request: Request) -> Response:
        if name != service.name:
            return _send(unknown_endpoint_reply(name, service.name))
        try:
            payload = await asyncio.to_thread(decode_json, await request.body())
            if not isinstance(payload, dict):
                raise ValidationError(
                    [Issue("body", "must be a JSON object", type(payload).__name__, PAYLOAD_FIX)]
                )
            lines = await open_stream(service, payload)
        except Exception as exc:  # noqa: BLE001 (every failure answers as an error reply)
            return _send(error_reply(public_error(exc, uuid.uuid4().hex), runtime_shape=True))
        return StreamingResponse(
            payload_parts(lines),
            media_type=eventstream.MEDIA_TYPE,
            headers={"X-Amzn-SageMaker-Content-Type": PAYLOAD_MEDIA_TYPE},
        )

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/info", summary="What this endpoint serves and how")
    async def info() -> JSONResponse:
        preset = service.settings.matching_preset(service.spec)
        return JSONResponse(
            {
                "name": service.name,
                "model_id": service.spec.id,
                "version": service.spec.version,
                "task": service.spec.task.value,
                "ready": service.ready,
                "settings": service.settings.model_dump(),
                "scheduler": service.scheduler,
                "preset": preset.name if preset else None,
            }
        )

    for router in routers:
        app.include_router(router)
    return app
