"""Executors start job workers and say whether they are alive.

`LocalExecutor` runs each job in its own detached process on this machine. The
interface is small on purpose, so a Ray executor can slot in beside it: `launch` starts
the job's worker, `alive` reports on it, `cancel` ends it hard.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from springboard import processes
from springboard.config import get_settings
from springboard.jobs.paths import log_path
from springboard.store import job_records


class Executor(Protocol):
    def launch(self, job_id: str) -> None: ...

    def alive(self, row: dict[str, Any]) -> bool: ...

    def cancel(self, row: dict[str, Any]) -> None: ...


class LocalExecutor:
    """One detached `python -m springboard.jobs.worker JOB_ID` process per job."""

    def launch(self, job_id: str) -> None:
        env = {**os.environ, "SPRINGBOARD_HOME": str(get_settings().home)}
        pid, started = processes.spawn(
            "springboard.jobs.worker", [job_id], log_path=log_path(job_id), env=env
        )
        job_records.update_row(job_id, pid=pid, pid_started=started)

    def alive(self, row: dict[str, Any]) -> bool:
        return processes.alive(row.get("pid"), row.get("pid_started"))

    def cancel(self, row: dict[str, Any]) -> None:
        if row.get("pid"):
            processes.terminate(row["pid"], row.get("pid_started"), grace=5)


def get_executor() -> Executor:
    return LocalExecutor()
