"""Instance types, mapped to this machine: `retrieve_default` names one this machine can
run for a model; `require` checks one a notebook passes.

An `ml.*` type of an accelerated family (p3, g5, trn1, inf2, ...) and `local_gpu` need a
GPU; on a machine without one they are refused, naming the CPU type to use instead and
`SPRINGBOARD_INSTANCE_TYPES=ignore` (which runs them on the machine's own hardware). CPU
families and `local` run on this machine as it is. Sizes (counts, memory) are not
emulated: one process on this machine does the work.
"""

from __future__ import annotations

import functools
import logging
import re

from springboard.errors import Issue, ValidationError
from springboard.sagemaker.settings import sagemaker_settings
from springboard.sdk.arguments import managed_hub_arguments

log = logging.getLogger("springboard.sdk")

CPU_INSTANCE_TYPE = "ml.m5.xlarge"
ACCELERATED_FAMILIES = frozenset(
    {
        "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6",
        "g4dn", "g4ad", "g5", "g5g", "g6", "g6e", "gr6",
        "trn1", "trn1n", "trn2", "inf1", "inf2", "dl1", "dl2q",
    }
)  # fmt: skip
# the catalog's hardware profiles, as the managed hub's default instance types
PROFILE_TYPES = {
    "cpu": CPU_INSTANCE_TYPE,
    "gpu-24g": "ml.g5.2xlarge",
    "gpu-1x24g": "ml.g5.2xlarge",
    "gpu-4x24g": "ml.g5.12xlarge",
    "gpu-8x40g": "ml.p4d.24xlarge",
    "gpu-8x80g": "ml.p4de.24xlarge",
}
_TYPE = re.compile(r"ml\.([a-z0-9-]+)\.([a-z0-9]+)")


@functools.cache
def has_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def needs_accelerator(instance_type: str, field: str = "instance_type") -> bool:
    if instance_type in ("local", "local_gpu"):
        return instance_type == "local_gpu"
    match = _TYPE.fullmatch(instance_type)
    if not match:
        raise ValidationError(
            [
                Issue(
                    field,
                    f"{instance_type!r} is not an instance type",
                    instance_type,
                    f"use one such as {CPU_INSTANCE_TYPE}, or 'local'",
                )
            ]
        )
    return match.group(1) in ACCELERATED_FAMILIES


def require(instance_type: str | None, field: str = "instance_type") -> None:
    """Refuse `instance_type` when it needs accelerators this machine lacks (unless
    `SPRINGBOARD_INSTANCE_TYPES=ignore`)."""
    if instance_type is None or not needs_accelerator(instance_type, field) or has_gpu():
        return
    if sagemaker_settings().instance_types == "ignore":
        log.info(
            "%s: %s runs on this machine's CPU (SPRINGBOARD_INSTANCE_TYPES=ignore)",
            field,
            instance_type,
        )
        return
    raise ValidationError(
        [
            Issue(
                field,
                f"{instance_type} has accelerators and this machine has none",
                instance_type,
                f"use the CPU instance type {CPU_INSTANCE_TYPE} (or 'local'), or set "
                "SPRINGBOARD_INSTANCE_TYPES=ignore to run it on this machine's CPU",
            )
        ]
    )


@managed_hub_arguments("instance_types.retrieve_default")
def retrieve_default(
    *,
    model_id: str | None = None,
    model_version: str | None = None,
    scope: str | None = None,
    training_instance_type: str | None = None,
) -> str:
    """The instance type to run `model_id` with (`scope` "training" or "inference"): the
    model's default hardware as the managed hub names it when this machine has it, else
    the CPU type."""
    from springboard.catalog import get_model

    if model_id is None:
        raise ValidationError([Issue("model_id", "is required", None, "name a catalog model")])
    spec = get_model(model_id, model_version or "*")
    wanted = PROFILE_TYPES.get(spec.hardware.instance_type, CPU_INSTANCE_TYPE)
    if needs_accelerator(wanted) and not has_gpu():
        return CPU_INSTANCE_TYPE
    return wanted
