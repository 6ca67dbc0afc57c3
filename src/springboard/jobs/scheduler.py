"""Admission for kinds with a concurrency limit (invocation jobs): at most N run at once,
the rest wait as `Scheduled` and start in submission order.

`admit(kind)` is called whenever a slot may have opened or a job arrived: on create and
resume, when a worker ends, and when a dead worker is reconciled. It runs under a file
lock in `SPRINGBOARD_HOME`, so two processes admitting at once cannot overshoot the
limit. It only moves jobs and launches workers; the work is the kind's runner.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from springboard.config import get_settings
from springboard.jobs.executor import get_executor
from springboard.jobs.states import JobStatus, transition
from springboard.permissions import opener, private_dir
from springboard.store import job_records

LIMITED_KINDS = frozenset({"invocation"})
RUNNING = frozenset({JobStatus.VALIDATING.value, JobStatus.IN_PROGRESS.value,
                     JobStatus.STOPPING.value})
WAITING = (JobStatus.SUBMITTED, JobStatus.SCHEDULED)


def limit_for(kind: str) -> int | None:
    return get_settings().max_concurrent_invocation_jobs if kind in LIMITED_KINDS else None


@contextmanager
def _lock(kind: str) -> Iterator[None]:
    home = get_settings().home
    path = private_dir(home / "jobs", home) / f".admit-{kind}.lock"
    with open(path, "w", opener=opener) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def admit(kind: str) -> list[str]:
    """Start waiting jobs of `kind`, oldest first, while slots are free; mark the rest
    Scheduled. Returns the ids started."""
    limit = limit_for(kind)
    if limit is None:
        return []
    started = []
    with _lock(kind):
        rows = job_records.find(kind=kind)
        running = sum(1 for r in rows if r["status"] in RUNNING
                      or (r["status"] == JobStatus.SUBMITTED.value and r.get("pid")))
        waiting = [r for r in rows if r["status"] in {s.value for s in WAITING} and not r.get("pid")]
        for row in waiting:
            if running < limit:
                if transition(row["id"], JobStatus.VALIDATING, expected=WAITING,
                              message="validating the input"):
                    get_executor().launch(row["id"])
                    started.append(row["id"])
                    running += 1
            elif row["status"] == JobStatus.SUBMITTED.value:
                transition(row["id"], JobStatus.SCHEDULED, expected=(JobStatus.SUBMITTED,),
                           message=f"waiting for a slot: {limit} jobs of this kind are running")
    return started
