"""`TrainingConfig`: what the trainer reads, built once from a job's validated
hyperparameters.

The catalog spec is where a model's hyperparameter defaults live: `catalog.hyperparameters
.validate` merges them under the user's values before the job exists. This model takes that
merged dict, accepts the names the specs use for the same knob (`epochs`/`epoch`,
`batch_size`/`per_device_train_batch_size`), and types it. It holds no second default for
a tunable knob: epochs, learning rate, batch size and seed are required (every trainable
spec declares them, a test loads them all). A knob a model's spec does not offer is off,
and its value here says so (no LoRA, no early stopping, no extra checkpoints, lengths up to
the model's context). Training itself is `trainer.run`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field

from springboard.options import Options

# A causal block or an input longer than this is cut, even when the context is longer:
# the time per step grows with it, and tuning rarely needs more.
MAX_INPUT_TOKENS = 512


class TrainingConfig(Options):
    """The trainer's settings. Unknown names are refused: a spec that offers a
    hyperparameter this trainer does not read fails the catalog test, not a job."""

    problem: ClassVar[str] = "invalid training configuration"

    epochs: float = Field(
        gt=0,
        validation_alias=AliasChoices("epochs", "epoch"),
        description="Passes over the training data.",
    )
    max_steps: int = Field(
        -1, ge=-1, description="Stop after this many optimizer steps; -1: run every epoch."
    )
    learning_rate: float = Field(gt=0, description="Peak learning rate of AdamW.")
    batch_size: int = Field(
        ge=1,
        validation_alias=AliasChoices("batch_size", "per_device_train_batch_size"),
        description="Examples per device per step.",
    )
    eval_batch_size: int | None = Field(
        None,
        ge=1,
        validation_alias=AliasChoices("eval_batch_size", "per_device_eval_batch_size"),
        description="Examples per device per evaluation step; None: batch_size.",
    )
    gradient_accumulation_steps: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.0, ge=0, le=1)
    weight_decay: float = Field(0.0, ge=0)
    label_smoothing_factor: float = Field(0.0, ge=0, lt=1)
    seed: int
    max_input_length: int | None = Field(
        None,
        description=f"Tokens per input (or causal block); None or -1: the model's "
        f"context, at most {MAX_INPUT_TOKENS}.",
    )
    max_output_length: int | None = Field(
        None, description="Tokens per target (text2text); None: the model's context."
    )
    generation_max_length: int | None = Field(
        None,
        description="New tokens per validation generation (text2text ROUGE-L); None: "
        "max_output_length.",
    )
    max_train_samples: int = Field(
        -1, ge=-1, description="Use at most this many training examples; -1: all."
    )
    max_val_samples: int = Field(
        -1, ge=-1, description="Use at most this many validation examples; -1: all."
    )
    validation_split_ratio: float = Field(0.0, ge=0, lt=1)
    train_data_split_seed: int = 0
    instruction_tuned: bool = False
    chat_dataset: bool = False
    peft_type: Literal["none", "lora"] = "none"
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    early_stopping_patience: int = Field(0, ge=0, description="0: no early stopping.")
    early_stopping_threshold: float = Field(0.0, ge=0)
    save_steps: int = Field(
        0, ge=0, description="Also checkpoint every this many steps; 0: at each epoch only."
    )
    keep_checkpoints: bool = Field(
        False,
        description="Keep the checkpoints (weights, optimizer state) after a successful "
        "run; false: they are removed, the registered model stays.",
    )
    int8_quantization: bool = False
    enable_fsdp: bool = Field(
        False,
        description="Shard over GPUs; read by multi-GPU trainers, "
        "a one-process run trains on one device.",
    )

    @classmethod
    def from_hyperparameters(cls, values: Mapping[str, Any]) -> TrainingConfig:
        """The config for validated hyperparameters (defaults already merged in)."""
        return cls(**dict(values))

    @property
    def lora(self) -> bool:
        return self.peft_type == "lora"

    @property
    def causal_instructions(self) -> bool:
        """A causal model tuned on prompt/completion pairs (or chats), not on plain text."""
        return self.instruction_tuned or self.chat_dataset

    def input_length(self, context_length: int) -> int:
        """Tokens per input or causal block for a model with `context_length`."""
        if self.max_input_length in (None, -1):
            return min(context_length, MAX_INPUT_TOKENS)
        return self.max_input_length

    def output_length(self, context_length: int) -> int:
        return (
            self.max_output_length if self.max_output_length not in (None, -1) else context_length
        )

    def generation_length(self, context_length: int) -> int:
        return (
            self.generation_max_length
            if self.generation_max_length not in (None, -1)
            else self.output_length(context_length)
        )
