"""The settings the `springboard.sagemaker` namespace reads (prefix `SPRINGBOARD_`), read at
each use so a notebook (or a test) may change them between calls.

- `SPRINGBOARD_INSTANCE_TYPES`: `check` (default) refuses an instance type whose
  accelerators this machine lacks; `ignore` runs it on what the machine has.
- `SPRINGBOARD_DEFAULT_BUCKET`: the bucket `Session.default_bucket()` names (an `s3://`
  bucket, reached with the standard AWS settings); unset, a folder under home.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SageMakerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPRINGBOARD_", extra="ignore")

    instance_types: Literal["check", "ignore"] = Field(
        "check",
        description="`ignore`: run an instance type that needs accelerators on this machine's hardware.",
    )
    default_bucket: str | None = Field(
        None,
        description="Bucket name `Session.default_bucket()` returns (default: a local folder).",
    )


def sagemaker_settings() -> SageMakerSettings:
    return SageMakerSettings()
