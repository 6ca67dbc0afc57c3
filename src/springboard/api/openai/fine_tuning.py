"""The OpenAI fine-tuning API on the control plane: `POST /v1/fine_tuning/jobs`,
`GET /v1/fine_tuning/jobs` (`after`, `limit`), `GET /v1/fine_tuning/jobs/{id}`,
`GET .../events`, `GET .../checkpoints` and `POST .../cancel`, in OpenAI's shapes, so
`client.fine_tuning.jobs.create(...)` and friends work unchanged. Routes parse, call
`springboard.jobs.openai_fine_tuning` and render; a fine-tuning job is a training job.
A gated model's license is accepted with the header `x-springboard-accept-eula: true`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict

from springboard.api.openai.protocol import list_page, parse_request
from springboard.jobs import openai_fine_tuning
from springboard.serving.protocol import decode_json

router = APIRouter(prefix="/v1/fine_tuning", tags=["OpenAI fine-tuning"])


class FineTuningRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    training_file: str
    validation_file: str | None = None
    hyperparameters: dict[str, Any] | None = None
    method: dict[str, Any] | None = None
    suffix: str | None = None
    seed: int | None = None
    metadata: dict[str, str] | None = None


@router.post("/jobs", summary="Fine-tune a catalog model on uploaded files (purpose fine-tune)")
async def create_job(
    request: Request,
    accept_eula: Annotated[str | None, Header(alias="x-springboard-accept-eula")] = None,
) -> dict[str, Any]:
    body = parse_request(decode_json(await request.body()), FineTuningRequest)
    return openai_fine_tuning.create(
        **body.model_dump(), accept_eula=(accept_eula or "").lower() == "true"
    )


@router.get("/jobs", summary="Fine-tuning jobs, newest first")
def list_jobs(
    after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    return list_page(*openai_fine_tuning.list_jobs(after=after, limit=limit))


@router.get("/jobs/{job_id}", summary="One fine-tuning job")
def retrieve_job(job_id: str) -> dict[str, Any]:
    return openai_fine_tuning.get(job_id)


@router.get("/jobs/{job_id}/events", summary="A job's events, newest first")
def list_events(
    job_id: str, after: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> dict[str, Any]:
    return list_page(*openai_fine_tuning.events(job_id, after=after, limit=limit))


@router.get("/jobs/{job_id}/checkpoints", summary="The checkpoints a job keeps")
def list_checkpoints(job_id: str) -> dict[str, Any]:
    return list_page(openai_fine_tuning.checkpoints(job_id), False)


@router.post("/jobs/{job_id}/cancel", summary="Cancel a running fine-tuning job")
def cancel_job(job_id: str) -> dict[str, Any]:
    return openai_fine_tuning.cancel(job_id)
