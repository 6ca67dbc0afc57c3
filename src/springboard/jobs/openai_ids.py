"""The job an OpenAI id names (`batch_<job id>`, `ftjob-<job id>`): exactly that job, of the
kind the API serves and created through it. Unlike `service.get`, no id prefix is taken:
an API id is the whole id or names nothing."""

from __future__ import annotations

from springboard.errors import NotFoundError
from springboard.jobs import service
from springboard.jobs.models import Job
from springboard.store import job_records


def job_for(public_id: str, *, prefix: str, kind: str, what: str, field: str, fix: str) -> Job:
    """The job behind `public_id`, reconciled as `service.get` reports it; NotFoundError
    for anything else (another kind, a job not made through the OpenAI API, a prefix)."""
    row = job_records.get(public_id.removeprefix(prefix)) if public_id.startswith(prefix) else None
    if row is None or row["kind"] != kind or "openai" not in (row.get("settings") or {}):
        raise NotFoundError(f"no {what} {public_id}", field=field, value=public_id, fix=fix)
    return service.get(row["id"])
