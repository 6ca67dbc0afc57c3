"""The one scheduler: which waiting jobs start, and which expire, for every kind.

`schedule(kind)` is the only pass that starts work. Under a file lock per kind in
`SPRINGBOARD_HOME` (so two processes cannot overshoot a limit) it reconciles the kind's
active jobs, then starts waiting ones, oldest first, while slots are free: at most N at
once for a kind with a limit (invocation jobs; the rest wait as `Scheduled`), all of them
for the others. It runs when a job is created or resumed, when a worker exits, every
`TICK_SECONDS` while `springboard serve` runs (`Ticker`), and on `springboard jobs
schedule`.

`reconcile(row)` is all a read may do: make one record tell the truth — a job whose
worker is gone is `Failed` (`Stopped` if a stop was under way), a job still waiting past
the `deadline` in its settings is `Expired` — and never start anything. `admission(kind)`
is the lock; `create` also holds it while it checks the kind's queue quota and records
the job. The work itself is the kind's runner; starting a process is the executor's.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from springboard import processes
from springboard.config import get_settings
from springboard.errors import QuotaExceededError
from springboard.jobs.executor import get_executor
from springboard.jobs.models import JobKind
from springboard.jobs.paths import log_path
from springboard.jobs.states import ACTIVE, RUNNING, WAITING, JobStatus, transition
from springboard.permissions import opener, private_dir
from springboard.store import job_records

log = logging.getLogger("springboard.jobs")

HEARTBEAT_TIMEOUT = timedelta(seconds=60)
TICK_SECONDS = 5.0
# Kinds with limits: the settings fields for (running at once, waiting or running at once).
LIMITS: dict[JobKind, tuple[str, str]] = {
    JobKind.INVOCATION: ("max_concurrent_invocation_jobs", "max_queued_invocation_jobs")
}
_ACTIVE = tuple(s.value for s in ACTIVE)


def limit_for(kind: str) -> int | None:
    """How many jobs of `kind` may run at once (None: no limit)."""
    fields = LIMITS.get(JobKind(kind))
    return getattr(get_settings(), fields[0]) if fields else None


def queue_limit_for(kind: str) -> int | None:
    """How many jobs of `kind` may be waiting or running at once (None: no limit)."""
    fields = LIMITS.get(JobKind(kind))
    return getattr(get_settings(), fields[1]) if fields else None


@contextmanager
def admission(kind: str) -> Iterator[None]:
    """The kind's admission lock (a file lock: it holds across processes and threads)."""
    home = get_settings().home
    path = private_dir(home / "jobs", home) / f".admit-{JobKind(kind).value}.lock"
    with open(path, "w", opener=opener) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_quota(kind: str) -> None:
    """Refuse a new job of `kind` when its queue is full. Call it under `admission(kind)`."""
    quota = queue_limit_for(kind)
    if quota is None:
        return
    active = len(job_records.find(kind=kind, status_in=_ACTIVE))
    if active >= quota:
        field = LIMITS[JobKind(kind)][1]
        raise QuotaExceededError(
            f"{active} {kind} jobs are waiting or running; the limit is {quota}",
            field=field,
            value=active,
            fix=f"wait for one to end, or raise SPRINGBOARD_{field.upper()}",
        )


# -- reconcile: what reads may do ------------------------------------------------------------


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


def deadline_of(row: dict[str, Any]) -> datetime | None:
    """The `deadline` in a job's settings (any kind may have one), as an aware time."""
    raw = (row.get("settings") or {}).get("deadline")
    if not raw:
        return None
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _waiting(row: dict[str, Any]) -> bool:
    """Recorded, and no worker started for it yet."""
    return row["status"] in WAITING and not row.get("pid")


def reconcile(row: dict[str, Any]) -> dict[str, Any]:
    """Make one job's record tell the truth, and return it (re-read if it changed). Only
    corrects a status — a dead worker, a deadline passed while waiting — never starts
    anything, so every read may call it."""
    now = datetime.now(UTC)
    changed = False
    if row["status"] in ACTIVE and _worker_lost(row):
        tail = processes.log_tail(log_path(row["id"]), 10)
        if row["status"] == JobStatus.STOPPING:
            changed = transition(
                row["id"], JobStatus.STOPPED, message="stopped (worker gone)", ended_at=now
            )
        else:
            changed = transition(
                row["id"],
                JobStatus.FAILED,
                ended_at=now,
                message=("worker lost" + (f"; last log lines:\n{tail}" if tail else "")),
            )
    elif _waiting(row) and (deadline := deadline_of(row)) is not None and deadline < now:
        changed = transition(
            row["id"],
            JobStatus.EXPIRED,
            expected=tuple(WAITING),
            ended_at=now,
            message=f"expired before it started: its deadline "
            f"({deadline.isoformat().replace('+00:00', 'Z')}, from its timeout) passed "
            "while it waited",
        )
    return (job_records.get(row["id"]) or row) if changed else row


# -- schedule: what starts ----------------------------------------------------------------------


def _launch(row: dict[str, Any], *, claim: bool) -> bool:
    """Start one waiting job's worker; with `claim`, first move it to Validating (a
    compare-and-set, so a job stopped meanwhile is left alone)."""
    if claim and not transition(
        row["id"], JobStatus.VALIDATING, expected=tuple(WAITING), message="validating the input"
    ):
        return False
    try:
        get_executor().launch(row["id"])
    except OSError as exc:  # e.g. no processes left: the job fails, its slot stays free
        transition(
            row["id"],
            JobStatus.FAILED,
            ended_at=datetime.now(UTC),
            message=f"could not start its worker: {exc}",
        )
        return False
    return True


def _admit(kind: str) -> list[str]:
    limit = limit_for(kind)
    rows = job_records.find(kind=kind, status_in=_ACTIVE)
    running = sum(
        1 for r in rows if r["status"] in RUNNING or (r["status"] in WAITING and r.get("pid"))
    )
    started = []
    for row in filter(_waiting, rows):
        if limit is None or running < limit:
            if _launch(row, claim=limit is not None):
                started.append(row["id"])
                running += 1
        elif row["status"] == JobStatus.SUBMITTED:
            transition(
                row["id"],
                JobStatus.SCHEDULED,
                expected=(JobStatus.SUBMITTED,),
                message=f"waiting for a slot: {limit} jobs of this kind are running",
            )
    return started


def admit(kind: str) -> list[str]:
    """The admission step alone: start waiting jobs of `kind`, oldest first, while slots
    are free, and mark the rest Scheduled. Returns the ids started. No reconcile and no
    expiry — `schedule` does both first; a job started past its deadline is ended by its
    worker."""
    with admission(kind):
        return _admit(kind)


def schedule(kind: str) -> list[str]:
    """One scheduler pass for `kind`: reconcile its active jobs (dead workers, deadlines),
    then admit. Returns the ids started."""
    with admission(kind):
        for row in job_records.find(kind=kind, status_in=_ACTIVE):
            reconcile(row)
        return _admit(kind)


def tick() -> dict[str, list[str]]:
    """One scheduler pass over every kind; the ids started, per kind."""
    return {kind.value: schedule(kind) for kind in JobKind}


class Ticker:
    """Runs `tick()` every `interval` seconds on a daemon thread, from `start()` (or entering
    it as a context manager) until `stop()`; a failing pass is logged and the next one runs."""

    def __init__(self, interval: float = TICK_SECONDS) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="springboard-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                started = tick()
                if any(started.values()):
                    log.info("scheduler started %s", {k: v for k, v in started.items() if v})
            except Exception:  # a database hiccup must not end the ticking
                log.exception("scheduler pass failed; the next runs in %g s", self.interval)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
