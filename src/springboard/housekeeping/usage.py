"""Disk usage under `SPRINGBOARD_HOME`, by category, and the largest jobs and models.

Every file under home is counted once, in one category, so the categories add up to the
total: `jobs` (per kind: metrics, staging, what is not a log or a checkpoint), `checkpoints`
(a batch job's `checkpoint.json`, a training job's `checkpoints/`), `logs` (job and
endpoint logs), `registered models` (`models/`), `compiled models` (`compiled/`: the
compiled backend's conversions), `endpoints`, `orphaned` (job, endpoint
and model folders with no record: `prune` removes them), `caches` (`cache/`, unfinished
temporary writes), `state db` and `other` (`data/`, locks, anything else). Sizes are the
files' own (`lstat`; a symlink counts as a link, never followed). Reading only: a state
database that does not exist yet is not created.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from springboard.config import get_settings
from springboard.housekeeping import layout

CATEGORIES = (
    "jobs",
    "checkpoints",
    "logs",
    "registered models",
    "compiled models",
    "endpoints",
    "files",
    "orphaned",
    "caches",
    "state db",
    "other",
)


class Category(BaseModel):
    name: str = Field(description="One of: " + ", ".join(CATEGORIES) + ".")
    kind: str | None = Field(None, description="The job kind, for `jobs`.")
    bytes: int
    files: int


class JobUsage(BaseModel):
    id: str
    kind: str
    name: str
    status: str
    bytes: int


class ModelUsage(BaseModel):
    id: str
    path: str
    registered: bool
    bytes: int


class UsageReport(BaseModel):
    home: str
    total_bytes: int = Field(description="The sum of the categories: every file under home.")
    categories: list[Category]
    largest_jobs: list[JobUsage]
    largest_models: list[ModelUsage]


class _Known:
    """The records, so a folder can be told from an orphan."""

    def __init__(self) -> None:
        from springboard.store import registered_models

        self.jobs: dict[str, dict[str, Any]] = {}
        self.endpoints: set[str] = set()
        self.models: set[str] = set()
        if registered_models.database_exists():
            from springboard.store import endpoint_records, job_records

            self.jobs = {row["id"]: row for row in job_records.find()}
            self.endpoints = {row["name"] for row in endpoint_records.list_all()}
            self.models = {spec["id"] for spec in registered_models.list_registered()}

    def has(self, area: str, name: str) -> bool:
        if area == layout.JOBS:
            return name in self.jobs
        if area == layout.ENDPOINTS:
            return name in self.endpoints
        return name in self.models


def _category(parts: tuple[str, ...], known: _Known) -> tuple[str, str | None]:
    """Which category the file at `parts` (relative to home) counts in."""
    top, name = parts[0], parts[-1]
    if len(parts) == 1 and name in layout.STATE_DB:
        return "state db", None
    if top == layout.CACHE or name.endswith(layout.TEMP_SUFFIX):
        return "caches", None
    if top == layout.FILES:
        return "files", None
    if top == layout.COMPILED:
        return "compiled models", None
    if top in (layout.JOBS, layout.ENDPOINTS, layout.MODELS) and len(parts) >= 3:
        if not known.has(top, parts[1]):
            return "orphaned", None
        if top == layout.MODELS:
            return "registered models", None
        if name.endswith(".log"):
            return "logs", None
        if top == layout.ENDPOINTS:
            return "endpoints", None
        if parts[2] in layout.CHECKPOINTS:
            return "checkpoints", None
        return "jobs", str(known.jobs[parts[1]]["kind"])
    return "other", None


def _files(home: Path) -> list[tuple[tuple[str, ...], int]]:
    """Every file (and link) under home as (its parts relative to home, its size)."""
    out: list[tuple[tuple[str, ...], int]] = []
    for folder, dirs, names in os.walk(home):  # links to folders are listed, not entered
        base = Path(folder).relative_to(home).parts
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in [*names, *links]:
            try:
                size = os.lstat(os.path.join(folder, name)).st_size
            except OSError:  # removed while walking
                continue
            out.append(((*base, name), size))
    return out


def disk_usage(top: int = 5) -> UsageReport:
    """Bytes under home by category, and the `top` largest jobs and models."""
    home = get_settings().home
    known = _Known()
    sizes: dict[tuple[str, str | None], list[int]] = {}
    per_job: dict[str, int] = {}
    per_model: dict[str, int] = {}
    for parts, size in _files(home) if home.is_dir() else []:
        entry = sizes.setdefault(_category(parts, known), [0, 0])
        entry[0] += size
        entry[1] += 1
        if len(parts) >= 3 and parts[0] == layout.JOBS and parts[1] in known.jobs:
            per_job[parts[1]] = per_job.get(parts[1], 0) + size
        if len(parts) >= 3 and parts[0] == layout.MODELS:
            per_model[parts[1]] = per_model.get(parts[1], 0) + size
    kinds = sorted({kind for name, kind in sizes if name == "jobs" and kind})
    categories = [
        Category(
            name="jobs", kind=kind, bytes=sizes[("jobs", kind)][0], files=sizes[("jobs", kind)][1]
        )
        for kind in kinds
    ]
    for name in CATEGORIES[1:]:
        total, files = sizes.get((name, None), [0, 0])
        categories.append(Category(name=name, bytes=total, files=files))
    jobs = sorted(per_job.items(), key=lambda item: -item[1])[:top]
    models = sorted(per_model.items(), key=lambda item: -item[1])[:top]
    return UsageReport(
        home=str(home),
        total_bytes=sum(c.bytes for c in categories),
        categories=categories,
        largest_jobs=[
            JobUsage(
                id=job_id,
                kind=known.jobs[job_id]["kind"],
                name=known.jobs[job_id]["name"],
                status=known.jobs[job_id]["status"],
                bytes=size,
            )
            for job_id, size in jobs
        ],
        largest_models=[
            ModelUsage(
                id=model_id,
                path=str(layout.model_folder(home, model_id)),
                registered=model_id in known.models,
                bytes=size,
            )
            for model_id, size in models
        ],
    )
