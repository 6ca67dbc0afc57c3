"""The model spec: what a catalog entry says about a model, as pydantic models.

A spec is data (JSON files in `catalog/specs/` and in user catalog directories); this
module only describes and validates its shape. Loading files, picking versions and
filtering live in `registry`, `versions` and `filters`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Task(StrEnum):
    TEXT2TEXT = "text2text"
    TEXT_GENERATION = "text-generation"


class SourceKind(StrEnum):
    BUNDLED = "bundled"  # shipped inside the package (`springboard/bundled/<path>`)
    HUGGINGFACE = "huggingface"  # a Hub repo id + revision, read from the HF cache
    LOCAL = "local"  # a directory on this machine (given here or by the user)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a model's bytes come from."""

    kind: SourceKind
    path: str | None = Field(None, description="bundled: directory name; local: a directory")
    repo_id: str | None = None
    revision: str = "main"
    download_hint: str | None = Field(
        None, description="What to tell a user whose machine lacks the weights."
    )

    @model_validator(mode="after")
    def _check(self) -> Source:
        if self.kind is SourceKind.HUGGINGFACE and not self.repo_id:
            raise ValueError("a huggingface source needs `repo_id`")
        if self.kind is SourceKind.BUNDLED and not self.path:
            raise ValueError("a bundled source needs `path`")
        return self

    def describe(self) -> str:
        if self.kind is SourceKind.HUGGINGFACE:
            return f"huggingface:{self.repo_id}@{self.revision}"
        return f"{self.kind.value}:{self.path or '<user supplied>'}"


HyperparameterType = Literal["int", "float", "bool", "str"]


class HyperparameterSpec(_Strict):
    """One training hyperparameter: its type, default and the values it may take."""

    name: str
    type: HyperparameterType
    default: Any
    min: float | None = None
    max: float | None = None
    choices: list[Any] | None = None
    description: str = ""
    gpu_only: bool = Field(False, description="Refused on a machine without a GPU.")


class HardwareProfile(_Strict):
    """The machine a model is meant to run on by default."""

    instance_type: str = "cpu"
    accelerators: int = 0
    accelerator_memory_gib: float | None = None
    memory_gib: float | None = None


class DeploymentPreset(_Strict):
    """A known-good deployment configuration (the analogue of a precompiled one)."""

    name: str
    context_length: int = Field(gt=0)
    max_batch_size: int = Field(gt=0)
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"
    tensor_parallel_degree: int = Field(1, ge=1)
    hardware: HardwareProfile = HardwareProfile()
    # What OPTION_BACKEND=auto picks for this preset, and its quantization (ctranslate2).
    backend: Literal["torch", "ctranslate2"] = "torch"
    quantize: str | None = None


class ModelSpec(_Strict):
    """A catalog entry. Unknown keys are refused so that a typo in a spec file shows."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    version: str
    name: str
    description: str = ""
    task: Task
    framework: str = "huggingface"
    architecture: Literal["t5", "llama", "causal", "seq2seq"] = "causal"
    source: Source
    license: str
    license_url: str | None = None
    eula_required: bool = False
    training_supported: bool = False
    aliases: list[str] = []
    parameters: str | None = Field(None, description="Parameter count, e.g. '80M', '7B'.")
    weights_size_gib: float | None = None
    context_length: int = Field(512, gt=0)
    default_inference_parameters: dict[str, Any] = {}
    hyperparameters: list[HyperparameterSpec] = []
    hardware: HardwareProfile = HardwareProfile()
    deployment_presets: list[DeploymentPreset] = []
    card: str = Field("", description="What the model is, what it was trained on, figures.")
    lineage: dict[str, Any] | None = Field(None, description="For fine-tuned models.")
    chat_stop: list[str] = Field(
        [],
        description="Strings that end an assistant turn under the "
        "model's chat template; chat completions always stop at them.",
    )
    invocation_shapes: list[Literal["completion", "text2text", "text-generation"]] | None = Field(
        None,
        description="modelInput shapes invocation jobs accept (default: completion and "
        "the model's own task payload).",
    )

    @property
    def accepted_shapes(self) -> list[str]:
        """The `modelInput` shapes an invocation job may send this model."""
        return list(self.invocation_shapes or ["completion", self.task.value])

    @property
    def is_encoder_decoder(self) -> bool:
        return self.task is Task.TEXT2TEXT

    def hyperparameter(self, name: str) -> HyperparameterSpec | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    def filter_fields(self) -> dict[str, Any]:
        """The flat view that `--filter` expressions test."""
        return {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "task": self.task.value,
            "framework": self.framework,
            "architecture": self.architecture,
            "source": self.source.kind.value,
            "repo_id": self.source.repo_id,
            "license": self.license,
            "eula_required": self.eula_required,
            "training_supported": self.training_supported,
            "parameters": self.parameters,
            "context_length": self.context_length,
            "instance_type": self.hardware.instance_type,
            "fine_tuned": self.lineage is not None,
        }


FILTER_FIELDS: tuple[str, ...] = (
    "id",
    "version",
    "name",
    "task",
    "framework",
    "architecture",
    "source",
    "repo_id",
    "license",
    "eula_required",
    "training_supported",
    "parameters",
    "context_length",
    "instance_type",
    "fine_tuned",
)
