"""Job lifecycle: create, get, list, stop, resume, wait.

Reads (`get`, `list_jobs`, `wait`) report and never start anything: each record passes
`scheduler.reconcile`, which may only correct its status (a job whose worker died shows
`Failed` with the last lines of its log, or `Stopped` if a stop was under way; a job
still waiting past its deadline shows `Expired`). Starting work is the scheduler's:
`create` records a job under the kind's admission lock (its queue quota checked there,
its name unique by the store's index), `resume` moves one back to `Submitted`, and both
then run one scheduler pass. Each kind's work lives in its own module; this one only
moves jobs through the state machine. Every function taking a `job_id` also takes a
unique prefix of one (`resolve_id`), as the CLI and SDK pass what a user typed.
"""

from __future__ import annotations

import difflib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from springboard.errors import ConflictError, Issue, NotFoundError, ValidationError
from springboard.jobs import scheduler
from springboard.jobs.executor import get_executor
from springboard.jobs.models import Job, JobKind, checked_counts
from springboard.jobs.paths import log_path
from springboard.jobs.states import JobStatus, require, transition
from springboard.permissions import create_private
from springboard.store import job_records

PREFIX = {JobKind.TRANSFORM: "tr", JobKind.TRAINING: "ft", JobKind.INVOCATION: "inv"}
AMBIGUOUS_SHOWN = 5  # candidates an ambiguous prefix error names


def new_id(kind: str) -> str:
    return f"{PREFIX.get(JobKind(kind), 'job')}-{secrets.token_hex(6)}"


E = TypeVar("E", bound=Enum)


def _member(enum: type[E], value: str, field: str, what: str) -> E:
    """`value` as a member of `enum`, or an error naming `field` and the members there are."""
    try:
        return enum(value)
    except ValueError:
        raise ValidationError(
            [
                Issue(
                    field,
                    f"unknown {what} {value!r}",
                    value,
                    "one of " + ", ".join(m.value for m in enum),
                )
            ]
        ) from None


def job_kind(kind: str, field: str = "kind") -> JobKind:
    """`kind` as a JobKind, or an error naming `field` and the kinds there are."""
    return _member(JobKind, kind, field, "job kind")


def job_status(status: str, field: str = "status") -> JobStatus:
    """`status` as a JobStatus, or an error naming `field` and the statuses there are."""
    return _member(JobStatus, status, field, "job status")


def create(
    *,
    kind: str,
    name: str | None,
    model_id: str,
    model_version: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    settings: dict[str, Any],
    counts: dict[str, Any] | None = None,
    client_token: str | None = None,
    job_id: str | None = None,
    launch: bool = True,
) -> Job:
    """Record a job as Submitted and (by default) run a scheduler pass, which starts it
    or leaves it waiting. A name taken by a job of the same kind, or a full queue, is
    refused — checked under the admission lock, so two creates at once cannot both win."""
    kind = job_kind(kind)
    job_id = job_id or new_id(kind)
    name = name or job_id
    row = {
        "id": job_id,
        "kind": kind.value,
        "name": name,
        "model_id": model_id,
        "model_version": model_version,
        "status": JobStatus.SUBMITTED.value,
        "status_message": None,
        "inputs": inputs,
        "outputs": outputs,
        "settings": settings,
        "counts": checked_counts(kind, counts or {}),
        "client_token": client_token,
    }
    with scheduler.admission(kind):
        scheduler.check_quota(kind)
        try:
            job_records.insert(row)
        except job_records.DuplicateNameError:
            raise ConflictError(
                f"a {kind.value} job named {name!r} exists already",
                field="name",
                value=name,
                fix=f"pick another name, or look at the existing one with "
                f"`springboard jobs list --kind {kind.value}`",
            ) from None
    create_private(log_path(job_id))
    if launch:
        scheduler.schedule(kind)
    return get(job_id)


def resolve_id(job_id: str) -> str:
    """The full id of the job `job_id` names: the id itself, or a unique prefix of one
    (`tr-71a2` for `tr-71a2b3c4d5e6`). A prefix several jobs share is refused, listing
    them; an id no job has is NotFoundError, with the closest ids if any are near."""
    if job_id and job_records.get(job_id) is not None:
        return job_id
    candidates = job_records.ids_starting_with(job_id) if job_id else []
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        shown = ", ".join(candidates[:AMBIGUOUS_SHOWN])
        more = len(candidates) - AMBIGUOUS_SHOWN
        raise ValidationError(
            [
                Issue(
                    "job_id",
                    f"'{job_id}' is the start of {len(candidates)} job ids: {shown}"
                    + (f" and {more} more" if more > 0 else ""),
                    job_id,
                    "give more of the id",
                )
            ]
        )
    close = difflib.get_close_matches(job_id, job_records.ids_starting_with(""), n=3, cutoff=0.7)
    raise NotFoundError(
        f"no job '{job_id}'",
        field="job_id",
        value=job_id,
        fix=f"did you mean {', '.join(close)}?"
        if close
        else "list jobs with `springboard jobs list`",
    )


def _row(job_id: str) -> dict[str, Any]:
    row = job_records.get(resolve_id(job_id))
    if row is None:  # deleted between the two reads
        raise NotFoundError(
            f"no job '{job_id}'",
            field="job_id",
            value=job_id,
            fix="list jobs with `springboard jobs list`",
        )
    return row


def _job(row: dict[str, Any]) -> Job:
    return Job.from_row(row, str(log_path(row["id"])))


def get(job_id: str) -> Job:
    """The job as it is now (reconciled: see the module docstring); never starts one.
    `job_id` may be a unique prefix of the id (`resolve_id`)."""
    return _job(scheduler.reconcile(_row(job_id)))


def list_jobs(*, kind: str | None = None, status: str | None = None) -> list[Job]:
    """Jobs, oldest first, each reconciled like `get`; never starts one."""
    kind = None if kind is None else job_kind(kind)
    status = None if status is None else job_status(status)
    rows = [scheduler.reconcile(r) for r in job_records.find(kind=kind)]
    return [_job(r) for r in rows if status is None or r["status"] == status]


def stop(job_id: str) -> Job:
    """Ask the worker to stop after its current batch; everything written is kept."""
    job_id = resolve_id(job_id)
    row = scheduler.reconcile(_row(job_id))
    if row["status"] in (JobStatus.STOPPING, JobStatus.STOPPED):
        return get(job_id)
    require(job_id, JobStatus.STOPPING, row["status"], message="stop requested")
    row = _row(job_id)
    if not row.get("pid") or not get_executor().alive(row):
        transition(
            job_id, JobStatus.STOPPED, message="stopped before it ran", ended_at=datetime.now(UTC)
        )
    return get(job_id)


def resume(job_id: str) -> Job:
    """Start a stopped or crashed job again from its last checkpoint (a scheduler pass
    starts it, or leaves it waiting for a slot)."""
    job_id = resolve_id(job_id)
    row = scheduler.reconcile(_row(job_id))
    require(
        job_id,
        JobStatus.SUBMITTED,
        row["status"],
        message="resumed",
        ended_at=None,
        pid=None,
        pid_started=None,
        heartbeat_at=None,
    )
    scheduler.schedule(row["kind"])
    return get(job_id)


def schedule() -> dict[str, list[str]]:
    """Run one scheduler pass over every kind now (what `springboard serve` does every
    few seconds); the ids started, per kind."""
    return scheduler.tick()


def wait(
    job_id: str,
    *,
    timeout: float | None = None,
    poll: float = 0.5,
    on_update: Callable[[Job], None] | None = None,
) -> Job:
    """Block until the job ends (or `timeout`); `on_update` sees each poll."""
    deadline = None if timeout is None else time.monotonic() + timeout
    job_id = resolve_id(job_id)
    while True:
        job = get(job_id)
        if on_update:
            on_update(job)
        if job.done or (deadline is not None and time.monotonic() > deadline):
            return job
        time.sleep(poll)
