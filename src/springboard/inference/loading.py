"""Load a resolved model directory into memory: the model, its tokenizer, on a device.

One place decides dtype, device and padding side (left for causal models so new tokens
follow the prompt, right for encoder-decoders), and carries the request limits the
loaded model is served with. Finding the directory is `artifacts`'.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from springboard.catalog.spec import Task
from springboard.config import get_settings
from springboard.errors import ModelLoadError, ValidationError, issues_from_pydantic
from springboard.inference.limits import RequestLimits

DType = Literal["fp32", "bf16", "fp16"]


class LoadOptions(BaseModel):
    """How to load a model for serving (the deployment's settings)."""

    model_config = ConfigDict(extra="forbid")

    dtype: DType = Field("fp32", description="Weights dtype: fp32, bf16 or fp16.")
    device: str = Field("auto", description="auto (GPU when present), cpu, cuda, cuda:N.")
    context_length: int | None = Field(
        None, gt=0, description="Override of the context limit (OPTION_N_POSITIONS)."
    )
    max_batch_size: int = Field(16, gt=0, description="Rows per forward pass.")
    limits: RequestLimits = Field(
        default_factory=RequestLimits, description="The most one request may ask for."
    )
    backend: Literal["torch", "ctranslate2", "auto"] = Field(
        "torch",
        description="torch (eager, every model), ctranslate2 (compiled, CPU) or auto "
        "(the catalog preset's choice).",
    )
    quantize: str | None = Field(
        None, description="ctranslate2 quantization (float32, int8, ...); default float32."
    )
    parallel_batches: bool = Field(
        False,
        description="Batch work (jobs): the compiled backend runs its threads as that many "
        "batches at once, one thread each, instead of one batch on all of them.",
    )

    @classmethod
    def parse(cls, values: dict[str, Any]) -> LoadOptions:
        """Validate user-given options, raising `ValidationError` naming each bad one."""
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as exc:
            raise ValidationError(
                issues_from_pydantic(exc), context="invalid load options"
            ) from None


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: str
    max_positions: int | None


def _torch_dtype(dtype: DType) -> Any:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def load(model_dir: Path, task: Task, options: LoadOptions) -> LoadedModel:
    """Load weights and tokenizer from `model_dir`; raise `ModelLoadError` on failure."""
    import transformers
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    settings = get_settings()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    device = pick_device(options.device)
    auto = AutoModelForSeq2SeqLM if task is Task.TEXT2TEXT else AutoModelForCausalLM
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True, trust_remote_code=settings.trust_remote_code
        )
        model = auto.from_pretrained(
            model_dir,
            local_files_only=True,
            dtype=_torch_dtype(options.dtype),
            use_safetensors=None if settings.allow_pickle else True,
            trust_remote_code=settings.trust_remote_code,
        )
    except Exception as exc:  # any loader failure is reported the same way, cause kept
        raise ModelLoadError(
            f"could not load the model in {model_dir}: {exc}",
            field="model_dir",
            value=str(model_dir),
        ) from exc
    # transformers wraps `to` in functools.wraps, whose type mypy does not bind to `model`
    model.to(device).eval()  # type: ignore[arg-type]
    tokenizer.padding_side = "right" if task is Task.TEXT2TEXT else "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    config = model.config
    max_positions = getattr(config, "max_position_embeddings", None) or getattr(
        config, "n_positions", None
    )
    return LoadedModel(model=model, tokenizer=tokenizer, device=device, max_positions=max_positions)
