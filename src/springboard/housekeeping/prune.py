"""Prune what has ended or was left behind under `SPRINGBOARD_HOME`: `plan` finds it,
`execute` removes it (checking each thing again), `prune` does both.

What goes, when older than the duration given (`30m`, `12h`, `7d`, `2w`; `0d`: all):
- ended jobs (Completed, PartiallyCompleted, Failed, Stopped, Expired), by when they
  ended: record, log, metrics, checkpoints, staging (`deletion.delete_job`);
- Failed endpoints: record and folder;
- orphans: job, endpoint, model and uploaded-file folders with no record (what a crash mid-delete or a
  deleted endpoint leaves), and Springboard's own `cache/` entries. These are also kept
  while younger than `ORPHAN_GRACE`, whatever the duration: a job or endpoint being
  created makes its folder a moment before its record.
What goes whatever its age: in the folders of ended jobs that stay, temporary files an
interrupted write left, and the staging copy a finished job keeps of outputs it has
published to a remote folder (`s3://...`).
What never goes: running jobs and live endpoints, registered models (`models delete`
removes one), the outputs users asked for, the Hugging Face cache, `data/`, anything
outside home.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from springboard.config import get_settings
from springboard.errors import ConflictError, Issue, SpringboardError, ValidationError
from springboard.housekeeping import layout
from springboard.housekeeping.deletion import ENDED, delete_job

ORPHAN_GRACE = timedelta(minutes=15)
FINISHED = ("Completed", "PartiallyCompleted")  # ended for good: never resumed
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

What = Literal[
    "job",
    "endpoint",
    "orphan job folder",
    "orphan endpoint folder",
    "orphan model folder",
    "orphan file folder",
    "cache",
    "temp file",
    "staging",
]


class PruneItem(BaseModel):
    what: What
    name: str = Field(description="The job id, endpoint name, folder or file name.")
    path: str
    bytes: int
    reason: str = Field(description="Why it goes, e.g. `Completed 3d ago`.")


class Skipped(BaseModel):
    item: PruneItem
    reason: str


class PrunePlan(BaseModel):
    """What `execute` would remove, found at `cutoff`."""

    home: str
    older_than: str
    cutoff: datetime
    items: list[PruneItem]
    bytes: int
    notes: list[str] = Field(description="What was left on purpose, e.g. young orphans.")


class PruneResult(BaseModel):
    home: str
    older_than: str
    dry_run: bool
    removed: list[PruneItem]
    skipped: list[Skipped]
    bytes_freed: int
    notes: list[str]


def parse_duration(value: str, field: str = "older_than") -> timedelta:
    """`30m`, `12h`, `7d`, `2w` (also `90s`, `0d`) as a timedelta."""
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise ValidationError(
            [
                Issue(
                    field,
                    f"{value!r} is not a duration",
                    value,
                    "a whole number and a unit (s, m, h, d or w), e.g. 30m, 12h, 7d or 2w; 0d means all",
                )
            ]
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


class _Finder:
    """Gathers a plan: each kind of thing, and the notes on what stays."""

    def __init__(self, home: Path, delta: timedelta) -> None:
        self.home, self.delta = home, delta
        self.items: list[PruneItem] = []
        self.young_orphans = 0
        self.now = datetime.now(UTC)

    def add(self, what: What, name: str, path: Path, reason: str, size: int | None = None) -> None:
        nbytes = layout.measure(path).bytes if size is None else size
        self.items.append(
            PruneItem(what=what, name=name, path=str(path), bytes=nbytes, reason=reason)
        )

    def old_enough(self, path: Path) -> tuple[bool, str]:
        """An orphan's age is its newest change; it must pass the duration and the grace."""
        age = timedelta(seconds=layout.age_seconds(layout.measure(path)))
        if age < max(self.delta, ORPHAN_GRACE):
            if age >= self.delta:
                self.young_orphans += 1
            return False, ""
        return True, f"changed {_ago(age)}"

    def jobs(self, rows: list[dict[str, Any]]) -> None:
        cutoff = self.now - self.delta
        for row in rows:
            ended = _aware(row.get("ended_at")) or _aware(row["updated_at"])
            if row["status"] in ENDED and ended is not None and ended <= cutoff:
                folder = layout.job_folder(self.home, row["id"])
                self.add("job", row["id"], folder, f"{row['status']} {_ago(self.now - ended)}")
            elif row["status"] in ENDED:
                self._temp_files(layout.job_folder(self.home, row["id"]))
                self._staging(row, layout.job_folder(self.home, row["id"]))
        known = {row["id"] for row in rows}
        for folder in layout.subfolders(self.home / layout.JOBS):
            if folder.name not in known:
                self._orphan("orphan job folder", folder)

    def _temp_files(self, folder: Path) -> None:
        """Atomic writes cut off before their rename, in a folder no worker uses now."""
        if folder.is_dir():
            for path in sorted(folder.glob(f"*{layout.TEMP_SUFFIX}")):
                if path.is_file() and not path.is_symlink():
                    self.add("temp file", f"{folder.name}/{path.name}", path, "an unfinished write")

    def _staging(self, row: dict[str, Any], folder: Path) -> None:
        """A finished batch job's local copy of outputs it has published to their remote
        folder: it never runs again, so nothing reads the copy (a stopped job keeps it)."""
        from springboard.jobs.batch_locations import STAGING
        from springboard.jobs.checkpoint import Checkpoint

        staging = folder / STAGING
        remote = (row.get("settings") or {}).get("remote_output")
        if row["status"] not in FINISHED or not remote or not staging.is_dir():
            return
        try:
            published = all(p.published for p in Checkpoint.load(folder).files.values())
        except (OSError, ValueError):  # an unreadable checkpoint: keep the copy
            return
        if published:
            name = f"{row['id']}/{STAGING}"
            self.add("staging", name, staging, f"{row['status']}; published to {remote}")

    def _orphan(self, what: What, folder: Path) -> None:
        old, reason = self.old_enough(folder)
        if old:
            self.add(what, folder.name, folder, f"no record; {reason}")

    def endpoints(self, rows: list[Any]) -> None:
        cutoff = self.now - self.delta
        for info in rows:
            updated = _aware(info.updated_at)
            if info.status == "Failed" and updated is not None and updated <= cutoff:
                folder = layout.endpoint_folder(self.home, info.name)
                self.add("endpoint", info.name, folder, f"Failed {_ago(self.now - updated)}")
        known = {info.name for info in rows}
        for folder in layout.subfolders(self.home / layout.ENDPOINTS):
            if folder.name not in known:
                self._orphan("orphan endpoint folder", folder)

    def models(self, registered: set[str], in_training: set[str]) -> None:
        for folder in layout.subfolders(self.home / layout.MODELS):
            if folder.name not in registered and folder.name not in in_training:
                self._orphan("orphan model folder", folder)

    def files(self, kept: set[str]) -> None:
        """Uploaded files' folders whose record is gone (a crash between the two)."""
        for folder in layout.subfolders(self.home / layout.FILES):
            if folder.name not in kept:
                self._orphan("orphan file folder", folder)

    def cache(self) -> None:
        cache = self.home / layout.CACHE
        if cache.is_dir() and not cache.is_symlink():
            for entry in sorted(cache.iterdir()):
                old, reason = self.old_enough(entry)
                if old:
                    self.add("cache", entry.name, entry, f"Springboard's cache; {reason}")


def plan(older_than: str = "7d") -> PrunePlan:
    """What `execute` would remove now (statuses reconciled as any read does; nothing
    is removed). A home without a state database has no records: its folders are orphans."""
    from springboard.store import registered_models

    delta = parse_duration(older_than)
    settings = get_settings()
    home = settings.home
    job_rows: list[dict[str, Any]] = []
    endpoint_infos: list[Any] = []
    registered: set[str] = set()
    kept_files: set[str] = set()
    if registered_models.database_exists(settings):
        from springboard.jobs import scheduler
        from springboard.serving import endpoints
        from springboard.store import file_records, job_records

        job_rows = [scheduler.reconcile(row) for row in job_records.find()]
        endpoint_infos = endpoints.list_endpoints()
        registered = {spec["id"] for spec in registered_models.list_registered(settings)}
        kept_files = file_records.ids(settings)
    in_training = {
        str((row.get("outputs") or {}).get("model_id"))
        for row in job_rows
        if row["kind"] == "training" and row["status"] not in ENDED
    }
    finder = _Finder(home, delta)
    finder.jobs(job_rows)
    finder.endpoints(endpoint_infos)
    finder.models(registered, in_training)
    finder.files(kept_files)
    finder.cache()
    notes = []
    if finder.young_orphans:
        notes.append(
            f"{finder.young_orphans} folder(s) with no record kept: changed less than "
            f"{int(ORPHAN_GRACE.total_seconds() // 60)} min ago (they may belong to "
            "something being created)"
        )
    return PrunePlan(
        home=str(home),
        older_than=older_than,
        cutoff=finder.now - delta,
        items=finder.items,
        bytes=sum(item.bytes for item in finder.items),
        notes=notes,
    )


def _still_orphan(item: PruneItem) -> bool:
    """Checked again before removing: no record appeared since the plan."""
    from springboard.store import endpoint_records, registered_models

    if item.what == "orphan endpoint folder":
        return endpoint_records.get(item.name) is None
    if item.what == "orphan model folder":
        return not registered_models.versions_of(item.name)
    if item.what == "orphan file folder":
        from springboard.store import file_records

        return file_records.get(item.name) is None
    if item.what == "orphan job folder" and registered_models.database_exists():
        from springboard.store import job_records

        return job_records.get(item.name) is None
    return True


def _remove(home: Path, item: PruneItem) -> int:
    """Remove one planned thing; raise a SpringboardError when it may no longer go."""
    if item.what == "job":
        return delete_job(item.name).bytes_freed
    if item.what == "endpoint":
        from springboard.serving import endpoints

        if endpoints.describe(item.name).status != "Failed":
            raise ConflictError(f"endpoint {item.name} is no longer Failed")
        endpoints.delete(item.name)  # the record first, as deletion.py explains
        return layout.remove(home, layout.endpoint_folder(home, item.name))
    if item.what.startswith("orphan") and not _still_orphan(item):
        raise ConflictError(f"{item.path} has a record now")
    return layout.remove(home, Path(item.path))


def execute(planned: PrunePlan) -> PruneResult:
    """Remove what `planned` lists, each checked again first (a job resumed, an endpoint
    redeployed or a folder that got its record meanwhile is skipped, with the reason)."""
    home = Path(planned.home)
    removed: list[PruneItem] = []
    skipped: list[Skipped] = []
    for item in planned.items:
        try:
            freed = _remove(home, item)
        except SpringboardError as exc:
            skipped.append(Skipped(item=item, reason=str(exc)))
            continue
        except OSError as exc:  # a file we may not remove: say so, go on with the rest
            skipped.append(Skipped(item=item, reason=f"{type(exc).__name__}: {exc}"))
            continue
        removed.append(item.model_copy(update={"bytes": freed}))
    return PruneResult(
        home=planned.home,
        older_than=planned.older_than,
        dry_run=False,
        removed=removed,
        skipped=skipped,
        bytes_freed=sum(item.bytes for item in removed),
        notes=planned.notes,
    )


def prune(older_than: str = "7d", *, dry_run: bool = False) -> PruneResult:
    """`plan`, then (unless `dry_run`) `execute` it."""
    planned = plan(older_than)
    if not dry_run:
        return execute(planned)
    return PruneResult(
        home=planned.home,
        older_than=older_than,
        dry_run=True,
        removed=planned.items,
        skipped=[],
        bytes_freed=planned.bytes,
        notes=planned.notes,
    )
