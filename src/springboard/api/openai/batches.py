"""The OpenAI Batch API on the control plane: `POST /v1/batches`, `GET /v1/batches/{id}`,
`GET /v1/batches` (`after`, `limit`) and `POST /v1/batches/{id}/cancel`, in OpenAI's
shapes, so `client.batches.create(...)` and friends work unchanged. Routes parse, call
`springboard.jobs.openai_batches` and render; a batch is an invocation job underneath.
A gated model's license is accepted with the header `x-springboard-accept-eula: true`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict

from springboard.api.openai.protocol import list_page, parse_request
from springboard.jobs import openai_batches
from springboard.serving.protocol import decode_json

router = APIRouter(prefix="/v1", tags=["OpenAI batches"])


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


@router.post("/batches", summary="Create a batch from an uploaded file (purpose batch)")
async def create_batch(
    request: Request,
    accept_eula: Annotated[str | None, Header(alias="x-springboard-accept-eula")] = None,
) -> dict[str, Any]:
    body = parse_request(decode_json(await request.body()), BatchRequest)
    return openai_batches.create(
        **body.model_dump(), accept_eula=(accept_eula or "").lower() == "true"
    )


@router.get("/batches", summary="Batches, newest first (`after`, `limit`)")
def list_batches(
    after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    data, more = openai_batches.list_batches(after=after, limit=limit)
    return list_page(data, more)


@router.get("/batches/{batch_id}", summary="One batch")
def retrieve_batch(batch_id: str) -> dict[str, Any]:
    return openai_batches.get(batch_id)


@router.post("/batches/{batch_id}/cancel", summary="Cancel a batch (finished lines are kept)")
def cancel_batch(batch_id: str) -> dict[str, Any]:
    return openai_batches.cancel(batch_id)
