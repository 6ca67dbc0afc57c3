"""Where a job's files live: `$SPRINGBOARD_HOME/jobs/<id>/` holds its log, its metrics
stream and its checkpoint; outputs go where the user asked.

The folder is created 0700 and the files in it 0600 (`permissions`). Reading metrics does
not create anything.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from springboard import permissions
from springboard.config import get_settings


def _path(job_id: str) -> Path:
    return get_settings().home / "jobs" / job_id


def job_dir(job_id: str) -> Path:
    """The job's folder, created (private to the user) when missing."""
    return permissions.private_dir(_path(job_id), get_settings().home)


def log_path(job_id: str) -> Path:
    return job_dir(job_id) / "job.log"


def metrics_path(job_id: str) -> Path:
    return _path(job_id) / "metrics.jsonl"


def record_metric(job_id: str, name: str, value: float, **extra: Any) -> None:
    """Append one point to the job's metrics stream (`timestamp, metric_name, value`)."""
    line = {"timestamp": time.time(), "metric_name": name, "value": value, **extra}
    with open(job_dir(job_id) / "metrics.jsonl", "a", opener=permissions.opener) as handle:
        handle.write(json.dumps(line) + "\n")


def read_metrics(job_id: str) -> list[dict[str, Any]]:
    path = metrics_path(job_id)
    if not path.exists():
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]
