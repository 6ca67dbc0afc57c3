"""The OpenAI Files API on the control plane: `POST /v1/files` (multipart `file` and
`purpose`), `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
`DELETE /v1/files/{id}`, in OpenAI's shapes, so `client.files.create(...)` and friends
work unchanged. Routes parse, call `springboard.files.service` and render; what a file
must hold is `springboard.files.checks`' business.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, UploadFile
from fastapi.responses import Response

from springboard.api.openai.protocol import list_page
from springboard.files import service

UPLOAD_PATH = "/v1/files"

router = APIRouter(prefix="/v1", tags=["OpenAI files"])


@router.post("/files", summary="Upload a file (purpose batch or fine-tune), checked line by line")
async def create_file(
    file: UploadFile, purpose: Annotated[str, Form(description="batch or fine-tune")]
) -> dict[str, Any]:
    content = await file.read()
    return service.upload(content, filename=file.filename or "", purpose=purpose).model_dump()


@router.get("/files", summary="Files, newest first (`after`, `limit`, `order`, `purpose`)")
def list_files(
    purpose: str | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: str = "desc",
) -> dict[str, Any]:
    page, more = service.list_files(purpose=purpose, after=after, limit=limit, order=order)
    data = [f.model_dump() for f in page]
    return list_page(data, more)


@router.get("/files/{file_id}", summary="One file")
def retrieve_file(file_id: str) -> dict[str, Any]:
    return service.get(file_id).model_dump()


@router.get("/files/{file_id}/content", summary="A file's bytes")
def file_content(file_id: str) -> Response:
    return Response(service.content(file_id), media_type="application/octet-stream")


@router.delete("/files/{file_id}", summary="Delete a file")
def delete_file(file_id: str) -> dict[str, Any]:
    deleted = service.delete(file_id)
    return {"id": deleted.id, "object": "file", "deleted": True}
