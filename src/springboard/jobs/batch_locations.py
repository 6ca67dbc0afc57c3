"""A batch job's input files and output folder: checked when the job is created, checked
again and opened when it runs. One place for every batch kind (transform, invocation).

Locations are local paths, `file://` URIs or any fsspec URL (`s3://bucket/prefix/`;
`artifacts.storage` reads and writes them). At creation (`check`, then `settle`), under
the caller's `LocationPolicy`:
- a local input is listed (a file, or a folder's files) and each file is checked against
  the policy's data roots (a symlink in a root may point out of it);
- a remote input is listed at once for the local user (the CLI and SDK: a missing bucket
  or key fails before the job exists, naming the parameter); for an HTTP caller only the
  scheme's backend is checked, and the worker lists it — no remote is opened while a
  request is answered, so a slow or hostile remote cannot hold the server;
- a local output folder is created; a remote one's bucket is checked (local user only).
When the job runs, `input_files` applies the recorded policy again, lists a remote input
if that was left to it, and the runner streams every file from where it is.

Output, and why each record reaches the output exactly once:
- a local folder: `NAME.out` is appended in place, flushed to disk with a checkpoint after
  every batch; a resumed job truncates any torn tail (`checkpoint`);
- a remote folder: object stores cannot append, so `NAME.out` is appended the same way in
  the job's own folder (`$SPRINGBOARD_HOME/jobs/<id>/output/`) and uploaded whole, under
  its final name, when its input file is done; the checkpoint then marks it published.
  Killed before the upload, the worker resumes from the local checkpoint and uploads
  later; killed after it but before marking it, it uploads the same bytes under the same
  name again. An upload replaces the object at once, so a reader sees a previous version
  or the whole file, never a torn one. A job that ends early (stop, expiry) uploads what
  it has; when resumed it replaces that with the whole file. Large inputs split over
  several files therefore appear in the output folder file by file as they finish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from springboard.artifacts import storage
from springboard.artifacts.locations import Location, LocationPolicy
from springboard.errors import Issue, ValidationError

OUTPUT_SUFFIX = ".out"
STAGING = "output"  # the job folder's sub-folder where remote outputs are appended


class BatchLocations(BaseModel):
    """Where a batch job reads and writes, as recorded with it (kinds add their settings)."""

    input_uri: str = ""  # as the caller named it
    files: list[str] = []  # input files; empty: a remote input the worker lists
    output_uri: str = ""  # as the caller named it
    output_dir: str  # the local folder appended to: the output, or staging
    remote_output: str | None = None  # the remote folder files are published to
    location_policy: str = "local"  # the LocationPolicy it was created under, applied again


@dataclass(frozen=True)
class Checked:
    """Locations that passed the policy: what `settle` needs to record them."""

    input: Location
    files: list[str]
    output: Location
    policy: LocationPolicy


def check(
    input_uri: str, output_uri: str, *, policy: LocationPolicy, input_field: str, output_field: str
) -> tuple[Checked | None, list[Issue]]:
    """Check both locations (nothing is written); every problem is returned at once."""
    issues: list[Issue] = []
    source = target = None
    files: list[str] = []
    try:
        source = policy.check(input_uri, input_field)
        files = _list(source, policy, input_field)
    except ValidationError as exc:
        issues += exc.issues
    try:
        target = policy.check(output_uri, output_field)
        if not target.is_local:
            storage.require_backend(output_uri, output_field)
            if policy.roots is None:  # the user's own CLI/SDK: fail now, not in the worker
                storage.require_writable(output_uri, output_field)
        elif target.path is not None and target.path.is_file():
            issues.append(
                Issue(
                    output_field,
                    f"{target.path} is a file; the output is a folder",
                    output_uri,
                    "name a folder",
                )
            )
    except ValidationError as exc:
        issues += exc.issues
    if issues or source is None or target is None:
        return None, issues
    return Checked(source, files, target, policy), []


def _list(source: Location, policy: LocationPolicy, field: str) -> list[str]:
    if source.is_local:
        files = storage.list_files(str(source.path), field)
        for file in files:
            policy.require_inside(Path(file), field, file)
        return files
    storage.require_backend(source.uri, field)
    if policy.roots is None:
        return storage.list_files(source.uri, field)
    return []  # an HTTP caller's remote input: listed by the worker


def settle(
    checked: Checked, *, job_dir: Callable[[], Path], subfolder: str | None = None
) -> BatchLocations:
    """Create the local folder the job appends to and return what the job records:
    `subfolder` (e.g. the job id) goes under the output folder."""
    output = checked.output
    if output.is_local:
        assert output.path is not None
        folder = output.path / subfolder if subfolder else output.path
        remote = None
    else:
        folder = job_dir() / STAGING
        remote = storage.join(output.uri, subfolder) if subfolder else output.uri.rstrip("/")
    folder.mkdir(parents=True, exist_ok=True)
    return BatchLocations(
        input_uri=checked.input.uri,
        files=checked.files,
        output_uri=output.uri,
        output_dir=str(folder),
        remote_output=remote,
        location_policy=checked.policy.name,
    )


def output_name(input_file: str) -> str:
    return storage.basename(input_file) + OUTPUT_SUFFIX


def final_folder(locations: BatchLocations) -> str:
    """Where the output files are for the user: the local folder or the remote one."""
    return locations.remote_output or locations.output_dir


def final_files(locations: BatchLocations, files: list[str] | None = None) -> list[str]:
    folder = final_folder(locations)
    return [storage.join(folder, output_name(f)) for f in (files or locations.files)]


# -- the worker's side --------------------------------------------------------------------


def input_files(locations: BatchLocations, field: str) -> list[str]:
    """The input files, the recorded policy applied again (a symlink may have changed since
    the job was created); a remote input left to the worker is listed now."""
    policy = LocationPolicy.named(locations.location_policy)
    listed = locations.files or storage.list_files(locations.input_uri, field)
    for file in listed:
        policy.check(file, field)  # local files: resolved and checked against the roots
    return listed


class OutputFolder:
    """Where the runner appends `NAME.out` files, and how they reach the output folder."""

    def __init__(self, locations: BatchLocations, field: str) -> None:
        policy = LocationPolicy.named(locations.location_policy)
        if locations.output_uri:
            policy.check(locations.output_uri, field)
        self.local = Path(locations.output_dir)
        self.local.mkdir(parents=True, exist_ok=True)
        self.remote = locations.remote_output
        self.field = field

    def path(self, name: str) -> Path:
        return self.local / name

    def final(self, name: str) -> str:
        """Where `name` is for the user: in the remote folder, or the local path."""
        return storage.join(self.remote, name) if self.remote else str(self.path(name))

    def publish(self, name: str) -> None:
        """Make `name` visible in a remote output folder (uploaded whole; no-op when local)."""
        if self.remote is not None and self.path(name).exists():
            storage.upload(self.path(name), storage.join(self.remote, name), self.field)
