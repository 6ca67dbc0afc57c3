"""The job as the SDK, CLI and API see it, its kinds, and each kind's typed counts.

`Job.counts` stays the plain JSON object the APIs have always returned; `counts_model`
says which pydantic model a kind's counts follow, the worker validates every write
against it (`JobContext.save_counts`), and `Job.typed_counts()` reads them back typed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from springboard.jobs.states import TERMINAL, JobStatus


class JobKind(StrEnum):
    TRANSFORM = "transform"
    TRAINING = "training"
    INVOCATION = "invocation"


class BatchCounts(BaseModel):
    """Records and tokens of a batch job (what the batch loop counts)."""

    model_config = ConfigDict(extra="forbid")

    total: int = Field(
        0, ge=0, description="Records in the input (0 until a remote input is listed)."
    )
    processed: int = Field(0, ge=0, description="Records done, with a result or an error line.")
    succeeded: int = Field(0, ge=0)
    failed: int = Field(0, ge=0)
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)


class TransformCounts(BatchCounts):
    """A transform job's counts (`jobs describe`)."""


class InvocationCounts(BatchCounts):
    """An invocation job's counts (the API renames them: `totalRecordCount`, ...)."""


class TrainingCounts(BaseModel):
    """A training job's progress and final metrics; each appears once known."""

    model_config = ConfigDict(extra="forbid")

    train_examples: int | None = Field(None, ge=0)
    validation_examples: int | None = Field(None, ge=0)
    step: int | None = Field(None, ge=0)
    total_steps: int | None = None  # the trainer's max_steps (-1 before it is known)
    epoch: float | None = None
    learning_rate: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    tokens_per_second: float | None = None
    train_runtime: float | None = None
    train_tokens: int | None = Field(None, ge=0)
    val_rougeL: float | None = None
    model_id: str | None = Field(None, description="The registered fine-tuned model.")
    waiting_for: str | None = Field(
        None, description="What the job waits for before its workers start (free CPUs)."
    )


Counts = TransformCounts | InvocationCounts | TrainingCounts
COUNTS: dict[JobKind, type[Counts]] = {
    JobKind.TRANSFORM: TransformCounts,
    JobKind.INVOCATION: InvocationCounts,
    JobKind.TRAINING: TrainingCounts,
}


def counts_model(kind: str) -> type[Counts]:
    return COUNTS[JobKind(kind)]


def checked_counts(kind: str, counts: dict[str, Any]) -> dict[str, Any]:
    """`counts` validated against the kind's model, as the same JSON (only the keys given)."""
    return counts_model(kind).model_validate(counts).model_dump(exclude_unset=True)


class Job(BaseModel):
    id: str
    kind: JobKind
    name: str
    model_id: str
    model_version: str
    status: JobStatus
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
    def from_row(cls, row: dict[str, Any], log_path: str) -> Job:
        fields = {k: row.get(k) for k in cls.model_fields if k != "log_path"}
        return cls.model_validate({**fields, "log_path": log_path})

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def typed_counts(self) -> Counts:
        """The counts as the kind's model (fields not reported yet at their defaults)."""
        return counts_model(self.kind).model_validate(self.counts or {})
