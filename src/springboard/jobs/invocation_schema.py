"""The shapes of an invocation job: the completion `modelInput` a record may hold, and the
settings recorded with a job.

`CompletionInput` is the managed service's completion shape (`prompt`, `temperature`,
`max_tokens`, `num_generations`, `p`, `k`, `stop_sequences`, plus Springboard's `seed`)
with its defaults, and translates itself into the Generator's payload for a task.
Reading records and writing lines is `invocation_codec`; the job's lifecycle is
`invocation`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from springboard.catalog import Task
from springboard.compiled.quantize import Quantize
from springboard.inference.payloads import payload_for
from springboard.jobs.batch_locations import BatchLocations
from springboard.jobs.placement import ClusterPlacement
from springboard.options import payload_limit_mb

MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS, DEFAULT_TIMEOUT_HOURS = 24, 168, 24
BATCH_SIZE = 16


class CompletionInput(BaseModel):
    """The completion `modelInput` shape. Defaults are the managed service's."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)
    temperature: float = Field(0.9, ge=0, le=5)
    max_tokens: int = Field(20, ge=1, le=4096)
    num_generations: int = Field(1, ge=1, le=5)
    p: float = Field(0.75, gt=0, le=1)
    k: int = Field(0, ge=0, le=500)
    stop_sequences: list[str] = Field([], max_length=4)
    seed: int | None = Field(None, ge=0, description="Springboard: seed this record's sampling.")

    @model_validator(mode="after")
    def _greedy_is_one(self) -> CompletionInput:
        if self.temperature == 0 and self.num_generations > 1:
            raise ValueError(
                "num_generations > 1 needs temperature > 0 (temperature 0 is "
                "greedy: every generation would be the same)"
            )
        return self

    def payload(self, task: Task) -> dict[str, Any]:
        """The same request as the Generator's payload for `task`."""
        params: dict[str, Any] = {
            "max_new_tokens": self.max_tokens,
            "num_return_sequences": self.num_generations,
        }
        if self.temperature > 0:
            params.update(do_sample=True, temperature=self.temperature, top_p=self.p)
            if self.k:
                params["top_k"] = self.k
            if self.seed is not None:
                params["seed"] = self.seed
        if self.stop_sequences:
            params["stop"] = self.stop_sequences
        return payload_for(task, self.prompt, params)


class OpenAIBatch(BaseModel):
    """What makes an invocation job an OpenAI batch: its lines are OpenAI batch requests
    (`openai_batch_codec`) and its results become files (`openai_batches`)."""

    model_config = ConfigDict(extra="forbid")

    endpoint: Literal["/v1/chat/completions", "/v1/completions"]
    input_file_id: str
    completion_window: Literal["24h"] = "24h"
    metadata: dict[str, str] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None


class InvocationSettings(BatchLocations, ClusterPlacement):
    """Everything an invocation job needs, as recorded with it (the locations: `BatchLocations`)."""

    model_config = ConfigDict(extra="forbid")

    role_arn: str | None = None
    timeout_hours: int
    deadline: datetime
    batch_size: int = BATCH_SIZE
    max_record_mb: float = payload_limit_mb(
        "Largest record, in MB; a longer line gets an "
        "error line and is never parsed (as in transform jobs)."
    )
    prompt: dict[str, Any] | None = None  # a prompt template and its examples (Prompter.to_dict())
    keep_prompt: bool = False
    backend: Literal["torch", "ctranslate2", "auto"] = "torch"
    quantize: Quantize = None  # ctranslate2's; checked against what this machine runs
    openai: OpenAIBatch | None = None  # set for an OpenAI batch (POST /v1/batches)
