"""`TrainingInput`, as the managed SDK's: a channel's location (its other settings are
accepted and mean nothing here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TrainingInput:
    s3_data: str
    distribution: str | None = None
    compression: str | None = None
    content_type: str | None = None
    record_wrapping: str | None = None
    s3_data_type: str = "S3Prefix"
    instance_groups: Any = None
    input_mode: str | None = None
    attribute_names: Any = None
    target_attribute_name: str | None = None
    shuffle_config: Any = None
    hub_access_config: Any = None
    model_access_config: Any = None
