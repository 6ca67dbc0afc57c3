"""The OpenAI gateway on the control plane: one base URL for every endpoint.

`GET /v1/models` lists the endpoints that are InService (by endpoint name, with the catalog
model each serves as `root`). `POST /v1/completions` and `/v1/chat/completions` go to the
endpoint the body's `model` names — an endpoint name, or the catalog id (or alias) of an
InService endpoint — and its answer comes back as it is made: bytes are passed through
unbuffered, so a stream streams, and a client that leaves closes the upstream request
(the endpoint then frees its rows). The endpoint checks the request; the gateway only
routes it, sending the server's own API key (`SPRINGBOARD_API_KEY`) when one is set.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from springboard.api.openai.protocol import ModelCard, ModelList, unknown_model
from springboard.api.openai.router import error_response
from springboard.errors import ClientError, Issue, NotFoundError, ServerError, ValidationError

PASSED_HEADERS = ("content-type", "cache-control", "x-request-id", "retry-after")


def _in_service() -> list[Any]:
    from springboard.serving import endpoints

    return [e for e in endpoints.list_endpoints() if e.status == "InService" and e.url]


def _endpoint_for(model: str) -> Any:
    """The InService endpoint `model` names (endpoint name first, then catalog id)."""
    from springboard.catalog import Catalog

    live = _in_service()
    for info in live:
        if info.name == model:
            return info
    try:
        wanted = Catalog.load().get(model).id
    except (NotFoundError, ValidationError):
        wanted = None
    for info in live:
        if wanted is not None and info.model_id == wanted:
            return info
    raise unknown_model(model, [e.name for e in live])


def create_gateway(api_key: str | None) -> APIRouter:
    """The gateway's routes; `api_key` (the control plane's) is what endpoints require."""
    import httpx

    router = APIRouter(prefix="/v1", tags=["OpenAI gateway"])
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))

    @router.get(
        "/models", response_model=ModelList, summary="The endpoints that are InService, by name"
    )
    async def models() -> dict[str, Any]:
        data = [
            ModelCard(id=e.name, created=int(e.created_at.timestamp()), root=e.model_id)
            for e in _in_service()
        ]
        return {"object": "list", "data": [c.model_dump() for c in data]}

    async def forward(request: Request, path: str) -> Response:
        raw = await request.body()
        try:
            try:
                model = json.loads(raw).get("model")
            except (ValueError, AttributeError, RecursionError):
                model = None
            if not isinstance(model, str) or not model:
                raise ValidationError(
                    [
                        Issue(
                            "model",
                            "is required: an endpoint name or the "
                            "catalog id of an InService endpoint",
                        )
                    ]
                )
            target = _endpoint_for(model)
        except ClientError as exc:
            return error_response(exc)
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        if "x-request-id" in request.headers:
            headers["x-request-id"] = request.headers["x-request-id"]
        try:
            upstream = await client.send(
                client.build_request("POST", target.url + path, content=raw, headers=headers),
                stream=True,
            )
        except httpx.TransportError:
            return error_response(
                EndpointUnavailableError(
                    f"endpoint {target.name} did not answer",
                    field="model",
                    value=model,
                    fix=f"see `springboard endpoints describe {target.name}`",
                )
            )
        passed = {k: v for k, v in upstream.headers.items() if k.lower() in PASSED_HEADERS}
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=passed,
            background=BackgroundTask(upstream.aclose),
        )

    @router.post("/completions", summary="Completions, routed to the endpoint `model` names")
    async def completions(request: Request) -> Response:
        return await forward(request, "/v1/completions")

    @router.post(
        "/chat/completions", summary="Chat completions, routed to the endpoint `model` names"
    )
    async def chat_completions(request: Request) -> Response:
        return await forward(request, "/v1/chat/completions")

    return router


class EndpointUnavailableError(ServerError):
    code = "endpoint_unavailable"
    http_status = 503
