"""What `springboard doctor` reports: what is installed, where state lives, which models are here.

`diagnose()` gathers package versions (from the installed distributions' metadata, so torch
is never imported), the settings that say where state lives, the thread budget a new worker
would get, each catalog model's availability (found by the same resolution code that loads
models, never downloading) and the running endpoints and active jobs. It reads only: a
state database that does not exist yet is not created.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import make_url

from springboard.config import Settings, get_settings

DISTRIBUTION = "springboard-llm"
# what Springboard needs, then what some features use when installed (s3 locations)
PACKAGES = ("springboard-llm", "torch", "transformers", "peft", "huggingface-hub")
OPTIONAL_PACKAGES = ("s3fs", "boto3")


class PackageVersion(BaseModel):
    name: str
    version: str | None = Field(description="None when the package is not installed.")
    optional: bool = False


class ThreadBudget(BaseModel):
    rule: str = Field(description="How a job worker or endpoint server's threads are chosen.")
    threads: int = Field(description="What a heavy process started now would get.")
    reason: str


class ModelAvailability(BaseModel):
    id: str
    version: str
    source: str
    available: bool
    path: str | None = Field(None, description="Where the files are, when available.")
    problem: str | None = Field(None, description="Why it is not usable, when not available.")
    fix: str | None = Field(None, description="What to download or pass, when not available.")


class Report(BaseModel):
    python: str
    packages: list[PackageVersion]
    home: str
    home_bytes: int = Field(description="Disk used by the files under home.")
    database_url: str
    database_exists: bool
    data_roots: list[str] = Field(
        description="Folders HTTP callers' input and output locations must lie under."
    )
    data_roots_source: Literal["SPRINGBOARD_DATA_ROOTS", "default"]
    offline: bool
    hf_cache: str
    threads: ThreadBudget
    models: list[ModelAvailability]
    endpoints_total: int
    endpoints_running: int
    jobs_active: int


def package_version(name: str) -> str | None:
    """The installed version of distribution `name`, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def springboard_version() -> str:
    return package_version(DISTRIBUTION) or "unknown"


def disk_usage(root: Path) -> int:
    """Bytes of the regular files under `root` (symlinks not followed); 0 when absent."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except OSError:  # removed while walking
                continue
            total += stat.st_size
    return total


def _database_exists(settings: Settings) -> bool:
    from springboard.store.registered_models import _database_exists as exists

    return exists(settings)


def _models(settings: Settings) -> list[ModelAvailability]:
    from springboard.artifacts.resolve import resolve_model_dir
    from springboard.catalog.registry import Catalog
    from springboard.errors import SpringboardError

    # a report never downloads: resolve as if offline, so a missing model says what to fetch
    offline = settings.model_copy(update={"offline": True})
    out = []
    for spec in Catalog.load(settings).list():
        entry = ModelAvailability(
            id=spec.id, version=spec.version, source=spec.source.describe(), available=False
        )
        try:
            entry.path = str(resolve_model_dir(spec, settings=offline))
            entry.available = True
        except SpringboardError as exc:
            entry.problem, entry.fix = exc.message, exc.fix
        out.append(entry)
    return out


def _threads(have_db: bool) -> ThreadBudget:
    from springboard import thread_budget

    if have_db or get_settings().torch_threads or os.environ.get("OMP_NUM_THREADS"):
        budget = thread_budget.for_new_process(os.environ)
    else:  # no state, so nothing runs; asking the store would create it
        n = thread_budget.cores()
        budget = thread_budget.Budget(thread_budget.rule(n, 1), thread_budget.RULE, n, 1)
    return ThreadBudget(
        rule=f"SPRINGBOARD_TORCH_THREADS, else OMP_NUM_THREADS, else max(1, {thread_budget.RULE})",
        threads=budget.threads,
        reason=budget.reason,
    )


def _running(have_db: bool, settings: Settings) -> tuple[int, int, int]:
    """Endpoints recorded, endpoints whose server is alive, jobs not ended."""
    if not have_db:
        return 0, 0, 0
    from springboard import processes
    from springboard.jobs.states import TERMINAL
    from springboard.store import endpoint_records, job_records

    endpoints = endpoint_records.list_all(settings)
    running = sum(1 for r in endpoints if processes.alive(r.get("pid"), r.get("pid_started")))
    ended = {status.value for status in TERMINAL}
    active = sum(1 for r in job_records.find(settings=settings) if r["status"] not in ended)
    return len(endpoints), running, active


def diagnose(settings: Settings | None = None) -> Report:
    """The report on this installation, read without changing anything."""
    from springboard.artifacts.resolve import hf_cache_dir

    settings = settings or get_settings()
    have_db = _database_exists(settings)
    endpoints_total, endpoints_running, jobs_active = _running(have_db, settings)
    packages = [PackageVersion(name=n, version=package_version(n)) for n in PACKAGES]
    packages += [
        PackageVersion(name=n, version=package_version(n), optional=True) for n in OPTIONAL_PACKAGES
    ]
    return Report(
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        packages=packages,
        home=str(settings.home),
        home_bytes=disk_usage(settings.home),
        database_url=make_url(settings.resolved_database_url).render_as_string(hide_password=True),
        database_exists=have_db,
        data_roots=[str(p) for p in settings.data_root_dirs],
        data_roots_source="SPRINGBOARD_DATA_ROOTS" if settings.data_roots else "default",
        offline=settings.offline,
        hf_cache=str(hf_cache_dir()),
        threads=_threads(have_db),
        models=_models(settings),
        endpoints_total=endpoints_total,
        endpoints_running=endpoints_running,
        jobs_active=jobs_active,
    )
