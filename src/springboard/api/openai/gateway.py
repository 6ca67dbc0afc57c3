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
from fastapi.responses import Response

from springboard.api.openai.protocol import ModelCard, ModelList
from springboard.api.openai.router import error_response
from springboard.api.upstream import Upstream, endpoint_for, in_service, relay
from springboard.errors import Issue, SpringboardError, ValidationError

PASSED_HEADERS = ("content-type", "cache-control", "x-request-id", "retry-after")


def create_gateway(api_key: str | None) -> APIRouter:
    """The gateway's routes; `api_key` (the control plane's) is what endpoints require."""
    router = APIRouter(prefix="/v1", tags=["OpenAI gateway"])
    upstream = Upstream(api_key)

    @router.get(
        "/models", response_model=ModelList, summary="The endpoints that are InService, by name"
    )
    async def models() -> dict[str, Any]:
        data = [
            ModelCard(id=e.name, created=int(e.created_at.timestamp()), root=e.model_id)
            for e in in_service()
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
            target = endpoint_for(model)
            answer = await upstream.send(
                target, path, raw, request_id=request.headers.get("x-request-id")
            )
        except SpringboardError as exc:
            return error_response(exc)
        return relay(answer, PASSED_HEADERS)

    @router.post("/completions", summary="Completions, routed to the endpoint `model` names")
    async def completions(request: Request) -> Response:
        return await forward(request, "/v1/completions")

    @router.post(
        "/chat/completions", summary="Chat completions, routed to the endpoint `model` names"
    )
    async def chat_completions(request: Request) -> Response:
        return await forward(request, "/v1/chat/completions")

    return router
