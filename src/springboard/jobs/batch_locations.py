"""A batch job's input files and output folder: checked when the job is created, checked
again and opened when it runs. One place for every batch kind (transform, invocation).

Locations are local paths, `file://` URIs or any fsspec URL (`s3://bucket/prefix/`;
`artifacts.storage` reads and writes them). At creation (`check`, then `settle`), under
the caller's `LocationPolicy`:
- an input is a file (read whatever its name), or a folder whose `.jsonl`, `.json` and
  `.txt` files (any case) are read; hidden files are left out unsaid, other files are
  recorded as skipped (`skipped_inputs`) and logged by the worker; a folder with no such
  file is refused;
- a local input is listed and each file is checked against the policy's data roots (a
  symlink in a root may point out of it);
- a remote input is listed at once for the local user (the CLI and SDK: a missing bucket
  or key fails before the job exists, naming the parameter); for an HTTP caller only the
  scheme's backend is checked, and the worker lists it — no remote is opened while a
  request is answered, so a slow or hostile remote cannot hold the server;
- a local output folder is created; a remote one's bucket is checked (local user only);
- `earlier_results` lists the `*.out` files (outputs, manifests) an output folder holds
  already, for a kind that writes into the folder itself (transform) to refuse them.
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

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from springboard.artifacts import storage
from springboard.artifacts.locations import Location, LocationPolicy
from springboard.errors import Issue, ValidationError

log = logging.getLogger("springboard.jobs")

OUTPUT_SUFFIX = ".out"
INPUT_SUFFIXES = (".jsonl", ".json", ".txt")  # what a folder input's files may be (any case)
STAGING = "output"  # the job folder's sub-folder where remote outputs are appended


class BatchLocations(BaseModel):
    """Where a batch job reads and writes, as recorded with it (kinds add their settings)."""

    input_uri: str = ""  # as the caller named it
    files: list[str] = []  # input files; empty: a remote input the worker lists
    skipped_inputs: list[str] = []  # the input folder's files that are not data files
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
    skipped: tuple[str, ...] = ()


def check(
    input_uri: str, output_uri: str, *, policy: LocationPolicy, input_field: str, output_field: str
) -> tuple[Checked | None, list[Issue]]:
    """Check both locations (nothing is written); every problem is returned at once."""
    issues: list[Issue] = []
    source = target = None
    files: list[str] = []
    skipped: list[str] = []
    try:
        source = policy.check(input_uri, input_field)
        files, skipped = _list(source, policy, input_field)
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
    return Checked(source, files, target, policy, tuple(skipped)), []


def _list(source: Location, policy: LocationPolicy, field: str) -> tuple[list[str], list[str]]:
    if source.is_local:
        files, skipped = list_inputs(str(source.path), field)
        for file in files:
            policy.require_inside(Path(file), field, file)
        return files, skipped
    storage.require_backend(source.uri, field)
    if policy.roots is None:
        return list_inputs(source.uri, field)
    return [], []  # an HTTP caller's remote input: listed by the worker


def list_inputs(uri: str, field: str) -> tuple[list[str], list[str]]:
    """(data files, skipped files) of an input: a file is read whatever its name; a
    folder's `.jsonl`/`.json`/`.txt` files are, its other visible files are skipped. A
    folder without a data file is refused, naming it and the suffixes."""
    files = storage.list_files(uri, field, suffixes=INPUT_SUFFIXES)
    kept = set(files)
    skipped = [f for f in storage.list_files(uri, field) if f not in kept]
    return files, skipped


def earlier_results(checked: Checked, field: str = "output") -> list[str]:
    """The `*.out` files (outputs of earlier jobs, manifests) in the output folder, by name.
    A remote folder is listed for the local user only (an HTTP caller's is never opened
    while its request is answered)."""
    output = checked.output
    if output.is_local:
        assert output.path is not None
        if not output.path.is_dir():
            return []
        names = [p.name for p in output.path.iterdir() if p.is_file()]
    elif checked.policy.roots is None:
        if not storage.exists(output.uri, field):
            return []
        fs, path = storage.filesystem(output.uri, field)
        try:
            entries = fs.ls(path, detail=True)
        except Exception as exc:  # the backend's own reason, kept
            raise ValidationError(
                [Issue(field, f"cannot list {output.uri}: {exc}", output.uri, "check the location")]
            ) from exc
        names = [storage.basename(e["name"]) for e in entries if e.get("type") == "file"]
    else:
        return []
    return sorted(n for n in names if n.lower().endswith(OUTPUT_SUFFIX))


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
        skipped_inputs=list(checked.skipped),
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
    the job was created); a remote input left to the worker is listed now. Skipped files
    are logged."""
    policy = LocationPolicy.named(locations.location_policy)
    listed, skipped = locations.files, locations.skipped_inputs
    if not listed:
        listed, skipped = list_inputs(locations.input_uri, field)
    if skipped:
        log.info(
            "skipped %d file(s) of %s that are not %s: %s",
            len(skipped),
            locations.input_uri,
            "/".join(INPUT_SUFFIXES),
            ", ".join(storage.basename(f) for f in skipped),
        )
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
