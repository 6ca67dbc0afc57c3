"""The job as the SDK, CLI and API see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Job(BaseModel):
    id: str
    kind: str
    name: str
    model_id: str
    model_version: str
    status: str
    status_message: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    settings: dict[str, Any]
    counts: dict[str, Any]
    pid: int | None
    heartbeat_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    log_path: str
    client_token: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], log_path: str) -> "Job":
        fields = {k: row.get(k) for k in cls.model_fields if k != "log_path"}
        return cls(**fields, log_path=log_path)

    @property
    def done(self) -> bool:
        from springboard.jobs.states import TERMINAL

        return self.status in {s.value for s in TERMINAL}
