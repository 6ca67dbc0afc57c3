"""Job lifecycle: create, get, list, stop, resume, wait.

Reading a job reconciles it with its worker: a job whose worker died (its process is
gone, or its heartbeat is stale) is shown `Failed` with the last lines of its log, or
`Stopped` if a stop was under way — never a stale `InProgress`. Each kind's work lives
in its own module; this one only moves jobs through the state machine.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from springboard import processes
from springboard.errors import NotFoundError
from springboard.jobs import scheduler
from springboard.jobs.executor import get_executor
from springboard.jobs.models import Job
from springboard.jobs.paths import log_path
from springboard.jobs.states import ACTIVE, JobStatus, require, transition
from springboard.permissions import create_private
from springboard.store import job_records

HEARTBEAT_TIMEOUT = timedelta(seconds=60)
PREFIX = {"transform": "tr", "training": "ft", "invocation": "inv"}


def new_id(kind: str) -> str:
    return f"{PREFIX.get(kind, 'job')}-{secrets.token_hex(6)}"


def create(*, kind: str, name: str | None, model_id: str, model_version: str,
           inputs: dict[str, Any], outputs: dict[str, Any], settings: dict[str, Any],
           counts: dict[str, Any] | None = None, client_token: str | None = None,
           job_id: str | None = None, launch: bool = True) -> Job:
    """Record a job as Submitted and (by default) start its worker."""
    job_id = job_id or new_id(kind)
    job_records.insert({
        "id": job_id, "kind": kind, "name": name or job_id, "model_id": model_id,
        "model_version": model_version, "status": JobStatus.SUBMITTED.value,
        "status_message": None, "inputs": inputs, "outputs": outputs, "settings": settings,
        "counts": counts or {}, "client_token": client_token})
    create_private(log_path(job_id))
    if launch:
        _start(job_id, kind)
    return get(job_id)


def _start(job_id: str, kind: str) -> None:
    """Launch the job's worker now, or leave it to the scheduler for limited kinds."""
    if scheduler.limit_for(kind) is not None:
        scheduler.admit(kind)
    else:
        get_executor().launch(job_id)


def _row(job_id: str) -> dict[str, Any]:
    row = job_records.get(job_id)
    if row is None:
        raise NotFoundError(f"no job '{job_id}'", field="job_id", value=job_id,
                            fix="list jobs with `springboard jobs list`")
    return row


def _worker_lost(row: dict[str, Any]) -> bool:
    """A local worker is lost when its process is gone; one we cannot see (no pid, e.g.
    on another machine) when its heartbeat is stale."""
    if row.get("pid") is not None:
        return not get_executor().alive(row)
    beat = row.get("heartbeat_at")
    if beat is None:
        return False  # no worker has started yet
    beat = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
    return datetime.now(UTC) - beat > HEARTBEAT_TIMEOUT


def reconcile(row: dict[str, Any]) -> dict[str, Any]:
    """Make the record tell the truth about a worker that is gone."""
    if row["status"] in {s.value for s in ACTIVE} and _worker_lost(row):
        tail = processes.log_tail(log_path(row["id"]), 10)
        now = datetime.now(UTC)
        if row["status"] == JobStatus.STOPPING.value:
            transition(row["id"], JobStatus.STOPPED, message="stopped (worker gone)", ended_at=now)
        else:
            transition(row["id"], JobStatus.FAILED, ended_at=now,
                       message="worker lost" + (f"; last log lines:\n{tail}" if tail else ""))
        scheduler.admit(row["kind"])  # its slot is free
        row = _row(row["id"])
    return row


def get(job_id: str) -> Job:
    return Job.from_row(reconcile(_row(job_id)), str(log_path(job_id)))


def list_jobs(*, kind: str | None = None, status: str | None = None) -> list[Job]:
    rows = [reconcile(r) for r in job_records.find(kind=kind)]
    return [Job.from_row(r, str(log_path(r["id"]))) for r in rows
            if status is None or r["status"] == status]


def stop(job_id: str) -> Job:
    """Ask the worker to stop after its current batch; everything written is kept."""
    row = reconcile(_row(job_id))
    if row["status"] in (JobStatus.STOPPING.value, JobStatus.STOPPED.value):
        return get(job_id)
    require(job_id, JobStatus.STOPPING, row["status"], message="stop requested")
    row = _row(job_id)
    if not row.get("pid") or not get_executor().alive(row):
        transition(job_id, JobStatus.STOPPED, message="stopped before it ran",
                   ended_at=datetime.now(UTC))
    return get(job_id)


def resume(job_id: str) -> Job:
    """Start a stopped or crashed job again from its last checkpoint."""
    row = reconcile(_row(job_id))
    require(job_id, JobStatus.SUBMITTED, row["status"], message="resumed", ended_at=None,
            pid=None, pid_started=None, heartbeat_at=None)
    _start(job_id, row["kind"])
    return get(job_id)


def wait(job_id: str, *, timeout: float | None = None, poll: float = 0.5,
         on_update: Callable[[Job], None] | None = None) -> Job:
    """Block until the job ends (or `timeout`); `on_update` sees each poll."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = get(job_id)
        if on_update:
            on_update(job)
        if job.done or (deadline is not None and time.monotonic() > deadline):
            return job
        time.sleep(poll)
