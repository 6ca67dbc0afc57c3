"""The job worker process: `python -m springboard.jobs.worker JOB_ID`.

Marks the job InProgress, beats a heartbeat, runs the kind's work with a `JobContext`
(log, counts, metrics, stop requests), and records how it ended. A crash is recorded as
Failed with its reason; `kill -9` leaves the record for `scheduler.reconcile` to correct.
On the way out it runs a scheduler pass for its kind (its slot is free).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from springboard import processes, thread_budget
from springboard.jobs.models import JobKind, checked_counts
from springboard.jobs.paths import job_dir, record_metric
from springboard.jobs.states import JobStatus, transition
from springboard.store import job_records

log = logging.getLogger("springboard.jobs")

RUNNERS = {
    JobKind.TRANSFORM: "springboard.jobs.transform",
    JobKind.TRAINING: "springboard.training.trainer",
    JobKind.INVOCATION: "springboard.jobs.invocation",
}
HEARTBEAT_SECONDS = 5.0


@dataclass
class Outcome:
    """How a job's work ended: a terminal status and a message."""

    status: JobStatus
    message: str | None = None


@dataclass
class JobContext:
    """What a kind's `run(ctx)` gets: the job row and ways to report on it."""

    job_id: str
    row: dict[str, Any]
    _stop_checked: float = 0.0
    _stop: bool = False
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return job_dir(self.job_id)

    def stop_requested(self) -> bool:
        """True once `jobs stop` asked this job to stop (the store is read at most 5 times a second)."""
        now = time.monotonic()
        if not self._stop and now - self._stop_checked > 0.2:
            self._stop_checked = now
            row = job_records.get(self.job_id) or {}
            self._stop = row.get("status") == JobStatus.STOPPING.value
        return self._stop

    def save_counts(self, counts: dict[str, Any]) -> None:
        """Record the job's counts, checked against its kind's model (`jobs.models`)."""
        self.counts = checked_counts(self.row["kind"], counts)
        job_records.update_row(self.job_id, counts=self.counts)

    def metric(self, name: str, value: float, **extra: Any) -> None:
        record_metric(self.job_id, name, value, **extra)
        log.info("%s=%s", name, value)


def _heartbeat(job_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        job_records.update_row(job_id, heartbeat_at=datetime.now(UTC))


def _free_slot(kind: str) -> None:
    """This job's slot is free: a scheduler pass starts the next waiting job, if any."""
    from springboard.jobs import scheduler

    scheduler.schedule(kind)


def run(job_id: str) -> int:
    row = job_records.get(job_id)
    if row is None:
        log.error("no job %s", job_id)
        return 2
    now = datetime.now(UTC)
    if row["status"] == JobStatus.STOPPING.value:
        transition(job_id, JobStatus.STOPPED, message="stopped before it ran", ended_at=now)
        _free_slot(row["kind"])
        return 0
    if not transition(
        job_id,
        JobStatus.IN_PROGRESS,
        started_at=row["started_at"] or now,
        heartbeat_at=now,
        pid=os.getpid(),
    ):
        log.error("job %s is %s; not starting", job_id, row["status"])
        return 2
    log.info("job %s (%s) started on pid %d", job_id, row["kind"], os.getpid())
    beat_stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(job_id, beat_stop), daemon=True).start()
    ctx = JobContext(job_id, row, counts=dict(row["counts"] or {}))
    try:
        thread_budget.apply()  # torch/OpenMP threads for this process's life
        outcome: Outcome = importlib.import_module(RUNNERS[JobKind(row["kind"])]).run(ctx)
    except Exception as exc:  # any failure ends the job with its reason; details in the log
        log.exception("job %s failed", job_id)
        outcome = Outcome(JobStatus.FAILED, f"{type(exc).__name__}: {exc}")
    finally:
        beat_stop.set()
    moved = transition(
        job_id,
        outcome.status,
        message=outcome.message,
        ended_at=datetime.now(UTC),
        counts=ctx.counts,
    )
    _free_slot(row["kind"])
    log.info(
        "job %s ended %s%s",
        job_id,
        outcome.status.value,
        f": {outcome.message}" if outcome.message else "",
    )
    return 0 if moved and outcome.status is not JobStatus.FAILED else 1


def main() -> None:
    processes.entrypoint(run, "python -m springboard.jobs.worker JOB_ID")


if __name__ == "__main__":
    main()
