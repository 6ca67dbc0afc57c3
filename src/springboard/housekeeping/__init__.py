"""Cleaning up what Springboard keeps under `SPRINGBOARD_HOME`: delete one job or one
fine-tuned model, prune what has ended or was left behind, and report disk usage.

One module per job: `layout` (which folder under home holds what, sizes, and removal that
never leaves home), `deletion` (`delete_job`, `delete_model`), `prune` (`plan`,
`execute`) and `usage` (`disk_usage`). Every function returns a pydantic result for the
CLI and SDK to render. Nothing here touches what the user owns: output locations, the
Hugging Face cache, data under `data/`.
"""

from __future__ import annotations

from springboard.housekeeping.deletion import JobDeletion, ModelDeletion, delete_job, delete_model
from springboard.housekeeping.prune import PrunePlan, PruneResult, execute, parse_duration, plan
from springboard.housekeeping.usage import UsageReport, disk_usage

__all__ = [
    "JobDeletion",
    "ModelDeletion",
    "PrunePlan",
    "PruneResult",
    "UsageReport",
    "delete_job",
    "delete_model",
    "disk_usage",
    "execute",
    "parse_duration",
    "plan",
]
