"""The job state machine: statuses, and the only transitions allowed between them.

Every status change in Springboard goes through `transition`, which checks this table
and applies the change as a compare-and-set in the store, so an illegal or racing change
cannot happen. Kinds use subsets: transform and training jobs never pass through
`Validating` or `Scheduled`; invocation jobs wait as `Scheduled` for a slot (see
`scheduler`). A job whose settings hold a `deadline` expires past it (any kind). Which
change happens when is the scheduler's and the worker's business, not this module's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from springboard.errors import ConflictError
from springboard.store import job_records


class JobStatus(StrEnum):
    SUBMITTED = "Submitted"
    VALIDATING = "Validating"
    SCHEDULED = "Scheduled"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    PARTIALLY_COMPLETED = "PartiallyCompleted"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    EXPIRED = "Expired"


S = JobStatus
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.SUBMITTED: frozenset(
        {S.VALIDATING, S.SCHEDULED, S.IN_PROGRESS, S.STOPPING, S.STOPPED, S.FAILED, S.EXPIRED}
    ),
    S.VALIDATING: frozenset(
        {S.SCHEDULED, S.IN_PROGRESS, S.FAILED, S.STOPPING, S.STOPPED, S.EXPIRED}
    ),
    S.SCHEDULED: frozenset(
        {S.VALIDATING, S.IN_PROGRESS, S.STOPPING, S.STOPPED, S.FAILED, S.EXPIRED}
    ),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.PARTIALLY_COMPLETED, S.FAILED, S.STOPPING, S.EXPIRED}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED, S.COMPLETED, S.PARTIALLY_COMPLETED, S.EXPIRED}),
    S.STOPPED: frozenset({S.SUBMITTED}),  # resume
    S.FAILED: frozenset({S.SUBMITTED}),  # resume after a crash
    S.COMPLETED: frozenset(),
    S.PARTIALLY_COMPLETED: frozenset(),
    S.EXPIRED: frozenset(),
}
TERMINAL = frozenset({S.COMPLETED, S.PARTIALLY_COMPLETED, S.FAILED, S.STOPPED, S.EXPIRED})
ACTIVE = frozenset({S.SUBMITTED, S.VALIDATING, S.SCHEDULED, S.IN_PROGRESS, S.STOPPING})
WAITING = frozenset({S.SUBMITTED, S.SCHEDULED})  # no worker yet (when it has no pid)
RUNNING = frozenset({S.VALIDATING, S.IN_PROGRESS, S.STOPPING})  # holding a slot


class IllegalTransitionError(ConflictError):
    """A status change the state machine does not allow (e.g. stopping a finished job)."""


def sources(target: JobStatus) -> tuple[str, ...]:
    """Every status from which `target` may be reached."""
    return tuple(s.value for s, targets in TRANSITIONS.items() if target in targets)


def transition(
    job_id: str,
    target: JobStatus,
    *,
    expected: tuple[JobStatus, ...] | None = None,
    message: str | None = None,
    **values: Any,
) -> bool:
    """Move a job to `target` if its current status allows it (optionally only from
    `expected`); return whether it moved."""
    allowed = sources(target)
    if expected is not None:
        allowed = tuple(s.value for s in expected if s.value in allowed)
    return job_records.set_status(job_id, allowed, target.value, status_message=message, **values)


def require(job_id: str, target: JobStatus, current: str, **values: Any) -> None:
    """Like `transition`, but a refusal is an error naming both statuses."""
    if not transition(job_id, target, **values):
        raise IllegalTransitionError(
            f"job {job_id} is {current}; it cannot become {target.value}",
            field="status",
            value=current,
            fix="allowed from: " + ", ".join(sources(target)),
        )
