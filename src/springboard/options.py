"""Options described once: pydantic fields that carry each option's type, bounds, default
and help, for every surface that takes it.

The CLI reads its option defaults and help text from these fields (`cli/options.py`), the
SDK its argument defaults (`default_of`), jobs record them, and the command reference in
docs/cli.md is generated from the CLI's help, so a default or a description changes in
one place. `Options` refuses unknown keys and raises Springboard's `ValidationError`
(every problem at once, each named as the field) rather than pydantic's.

Here live the options more than one layer shares and that must be light to import (the
CLI reads them when `springboard --help` runs): a transform job's, and the payload size
limit endpoints and batch jobs share. A domain's own settings live with it
(`serving.settings.DeploymentSettings`, `sdk.self_consistency.RunSettings`,
`training.config.TrainingConfig`) and follow the same pattern. Nothing here validates
data or starts anything.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, ClassVar, Final, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from springboard.errors import ValidationError, issues_from_pydantic


class Options(BaseModel):
    """A set of options: unknown keys refused, every bad value reported at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    problem: ClassVar[str] = "invalid options"  # the message's context, e.g. "cannot run ..."

    def __init__(self, /, **values: Any) -> None:
        try:
            super().__init__(**values)
        except pydantic.ValidationError as exc:
            allowed = ", ".join(type(self).model_fields)
            raise ValidationError(
                issues_from_pydantic(exc, allowed=lambda _: allowed), context=self.problem
            ) from None


def default_of(model: type[BaseModel], name: str) -> Any:
    """The default of `model`'s field `name` (for a signature: `x: int = default_of(...)`)."""
    return model.model_fields[name].get_default(call_default_factory=True)


def field_of(model: type[BaseModel], name: str, **changes: Any) -> Any:
    """A copy of `model`'s field `name` (type rules, default, bounds, help) for another
    model, with `changes` (e.g. its own `description`)."""
    info = deepcopy(model.model_fields[name])
    for key, value in changes.items():
        setattr(info, key, value)
    return info


def payload_limit_mb(description: str) -> Any:
    """The payload size limit, in MB, as a field: 6 by default, as the managed hubs set
    it for both an endpoint's request body and a batch transform record
    (MaxPayloadInMB)."""
    return Field(6.0, gt=0, description=description)


JSONLINES: Final = "application/jsonlines"
TEXT: Final = "text/plain"


class TransformOptions(Options):
    """How a batch transform job reads and batches its records: the CLI's `transform`,
    the SDK's `Transformer`, the job's recorded settings."""

    problem: ClassVar[str] = "cannot start the transform"

    content_type: Literal["application/jsonlines", "text/plain"] = Field(
        JSONLINES, description="application/jsonlines or text/plain."
    )
    # Measured on a 10M T5: padded batches of 32 run ~6-8x a per-record loop, of 64
    # ~8-15x; memory stays flat either way (the job streams).
    batch_size: int = Field(
        64, ge=1, le=1024, description="Records per batch (and per checkpoint)."
    )
    max_payload_mb: float = payload_limit_mb(
        "Largest record, in MB; a bigger one gets an error line."
    )
