"""OpenAI batches (`POST /v1/batches` and friends) as Springboard invocation jobs.

`create` checks the input file (purpose `batch`, every line for the batch's endpoint, one
model, a catalog or registered model: no endpoint is needed) and creates an invocation job
whose settings carry `openai`: the same engine, scheduler, concurrency limit, quota,
exactly-once resume and per-line isolation as every invocation job, and the same job in
`springboard jobs list`. Its worker writes one line per request (`openai_batch_codec`);
`publish_files` then splits them into the batch's output file (answered requests) and
error file (refused or failed ones), as files of the Files API. `get`, `list_batches`
and `cancel` show and steer the job in OpenAI's batch shape (`to_object`).
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from springboard.artifacts.locations import LocationPolicy
from springboard.catalog import Catalog
from springboard.config import get_settings
from springboard.errors import Issue, NotFoundError, ValidationError
from springboard.files import service as files
from springboard.jobs import invocation
from springboard.jobs.invocation_schema import OpenAIBatch
from springboard.jobs.models import Job
from springboard.jobs.openai_ids import job_for
from springboard.jobs.pages import page
from springboard.store import job_records

ENDPOINTS = ("/v1/chat/completions", "/v1/completions")
PREFIX = "batch_"
WINDOW = timedelta(hours=24)
# Springboard's statuses -> OpenAI's (an ended job whose requests all ran is "completed",
# however many of them failed: their lines are in the error file).
STATUSES = {
    "Submitted": "validating",
    "Scheduled": "validating",
    "Validating": "validating",
    "InProgress": "in_progress",
    "Stopping": "cancelling",
    "Stopped": "cancelled",
    "Completed": "completed",
    "PartiallyCompleted": "completed",
    "Failed": "failed",
    "Expired": "expired",
}


def _model_of(path: Path, endpoint: str) -> str:
    """The one model the file's lines ask for, each line checked to be for `endpoint`."""
    models: dict[str, int] = {}
    issues = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip():
            continue
        line = json.loads(raw)  # checked at upload
        if line["url"] != endpoint:
            issues.append(
                Issue(f"line {number}.url", f"is not the batch's endpoint {endpoint}", line["url"])
            )
        model = line["body"].get("model")
        if not isinstance(model, str):
            issues.append(Issue(f"line {number}.body.model", "is required", model))
        else:
            models.setdefault(model, number)
        if len(issues) >= 10:
            break
    if len(models) > 1:
        issues.append(
            Issue(
                "input_file_id",
                "asks for several models: " + ", ".join(sorted(models)),
                None,
                "one model per batch, as OpenAI's: split the file",
            )
        )
    if issues:
        raise ValidationError(issues, context="cannot create the batch")
    model, line = next(iter(models.items()))
    try:
        return Catalog.load().get(model).id
    except NotFoundError as exc:
        raise ValidationError(
            [Issue(f"line {line}.body.model", str(exc), model, exc.fix)],
            context="cannot create the batch",
        ) from None


def create(
    *,
    input_file_id: str,
    endpoint: str,
    completion_window: str = "24h",
    metadata: dict[str, str] | None = None,
    accept_eula: bool = False,
) -> dict[str, Any]:
    """Check the request and its file, and create the batch's job (the scheduler starts it)."""
    issues = []
    if endpoint not in ENDPOINTS:
        issues.append(Issue("endpoint", "is not supported", endpoint, " or ".join(ENDPOINTS)))
    if completion_window != "24h":
        issues.append(Issue("completion_window", "must be 24h", completion_window))
    if metadata is not None and (
        len(metadata) > 16
        or any(not isinstance(v, str) or len(k) > 64 or len(v) > 512 for k, v in metadata.items())
    ):
        issues.append(
            Issue("metadata", "holds at most 16 keys of 64 characters, values strings of 512")
        )
    if issues:
        raise ValidationError(issues, context="cannot create the batch")
    try:
        file = files.get(input_file_id)
    except NotFoundError as exc:
        exc.field = "input_file_id"
        raise
    if file.purpose != "batch":
        raise ValidationError(
            [
                Issue(
                    "input_file_id",
                    f"is a {file.purpose} file",
                    input_file_id,
                    "upload it with purpose batch",
                )
            ]
        )
    path = files.path(input_file_id)
    model = _model_of(path, endpoint)
    job = invocation.create(
        job_name=f"batch-{secrets.token_hex(6)}",
        model_id=model,
        input_uri=str(path),
        output_uri=str(get_settings().home / "batches"),
        timeout_hours=int(WINDOW.total_seconds() // 3600),
        accept_eula=accept_eula,
        policy=LocationPolicy.local_user(),  # a file this server keeps, named by id
        openai=OpenAIBatch(
            endpoint=endpoint,
            input_file_id=input_file_id,
            metadata=metadata,
        ),
    )
    return to_object(job)


def _job(batch_id: str) -> Job:
    return job_for(
        batch_id,
        prefix=PREFIX,
        kind=invocation.KIND,
        what="batch",
        field="batch_id",
        fix="list them with GET /v1/batches",
    )


def get(batch_id: str) -> dict[str, Any]:
    return to_object(_job(batch_id))


def cancel(batch_id: str) -> dict[str, Any]:
    """Stop the batch after its current requests; what is done stays in its files."""
    job = _job(batch_id)
    if job.done:
        return to_object(job)
    return to_object(invocation.stop(job.id))


def list_batches(*, after: str | None = None, limit: int = 20) -> tuple[list[dict[str, Any]], bool]:
    """A page of batches, newest first, and whether more follow."""
    if not 1 <= limit <= 100:
        raise ValidationError([Issue("limit", "must be between 1 and 100", limit)])
    jobs = [j for j in reversed(invocation.list_jobs()) if (j.settings or {}).get("openai")]
    found, more = page(jobs, lambda j: f"{PREFIX}{j.id}", after=after, limit=limit, what="batch")
    return [to_object(j) for j in found], more


def _ts(moment: Any) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def to_object(job: Job) -> dict[str, Any]:
    """The batch object OpenAI's API returns for this job."""
    batch = OpenAIBatch.model_validate(job.settings["openai"])
    counts = job.counts or {}
    status = STATUSES.get(job.status, "failed")
    outputs = job.outputs or {}
    if (
        job.status == "InProgress"
        and counts.get("total")
        and counts.get("processed") == counts.get("total")
    ):
        status = "finalizing"
    if (
        job.status == "Failed"
        and counts.get("total")
        and counts.get("processed") == counts.get("total")
    ):
        status = "completed"  # every request ran (and failed): the error file says why
    ended = _ts(job.ended_at)
    errors = None
    if status == "failed" and job.status_message:
        errors = {
            "object": "list",
            "data": [
                {"code": "batch_failed", "message": job.status_message, "param": None, "line": None}
            ],
        }
    return {
        "id": f"{PREFIX}{job.id}",
        "object": "batch",
        "endpoint": batch.endpoint,
        "errors": errors,
        "input_file_id": batch.input_file_id,
        "completion_window": batch.completion_window,
        "status": status,
        "output_file_id": outputs.get("output_file_id"),
        "error_file_id": outputs.get("error_file_id"),
        "created_at": _ts(job.created_at),
        "in_progress_at": _ts(job.started_at),
        "expires_at": _ts(job.created_at + WINDOW),
        "finalizing_at": ended if status == "completed" else None,
        "completed_at": ended if status == "completed" else None,
        "failed_at": ended if status == "failed" else None,
        "expired_at": ended if status == "expired" else None,
        "cancelling_at": None,
        "cancelled_at": ended if status == "cancelled" else None,
        "request_counts": {
            "total": counts.get("total", 0),
            "completed": counts.get("succeeded", 0),
            "failed": counts.get("failed", 0),
        },
        "metadata": batch.metadata,
        "model": job.model_id,
        "springboard_job_id": job.id,
    }


def publish_files(job_id: str, outputs: list[Path]) -> None:
    """The worker's last step: the answered lines become the output file, the others the
    error file (ids derived from the job's, so a repeat after a crash replaces them)."""
    answered: list[bytes] = []
    failed: list[bytes] = []
    for path in outputs:
        if not path.exists():
            continue
        for raw in path.read_bytes().splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            response = line.get("response") or {}
            (answered if response.get("status_code") == 200 else failed).append(raw)
    ids: dict[str, str | None] = {"output_file_id": None, "error_file_id": None}
    for key, lines, suffix in (
        ("output_file_id", answered, "output"),
        ("error_file_id", failed, "errors"),
    ):
        if lines:
            kept = files.keep(
                f"file-{job_id}-{suffix}",
                b"\n".join(lines) + b"\n",
                filename=f"batch_{job_id}_{suffix}.jsonl",
                purpose="batch_output",
                lines=len(lines),
            )
            ids[key] = kept.id
    row = job_records.get(job_id)
    job_records.update_row(job_id, outputs={**((row or {}).get("outputs") or {}), **ids})
