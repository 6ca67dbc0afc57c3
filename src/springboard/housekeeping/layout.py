"""Where Springboard keeps what under `SPRINGBOARD_HOME`, read without creating anything,
and removal that cannot leave home.

The layout is the one `jobs.paths` (`jobs/<id>/`: log, metrics, checkpoint, training
checkpoints, staging of remote outputs), `serving.endpoints` (`endpoints/<name>/`: the
server log), `training.trainer` (`models/<model-id>/`: fine-tuned models) and `store.db`
(`state.db`) create; `cache/` is Springboard's own scratch space. This module does not
decide any of it: it names it for housekeeping. `remove` deletes only paths inside home,
never follows a symlink (a link is removed as a link), and counts the bytes it frees.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from springboard.errors import ServerError

JOBS = "jobs"
ENDPOINTS = "endpoints"
MODELS = "models"
COMPILED = "compiled"  # compiled variants of models (`springboard.compiled`)
FILES = "files"  # uploaded files and batch results (`springboard.files`): files/<id>/
CACHE = "cache"
STATE_DB = ("state.db", "state.db-wal", "state.db-shm")
CHECKPOINTS = ("checkpoint.json", "checkpoints")  # a batch job's checkpoint; training's folder
TEMP_SUFFIX = ".tmp"  # an atomic write cut off before its rename (`jobs.checkpoint`)


class UnsafeDeletionError(ServerError):
    """A path to delete lies outside `SPRINGBOARD_HOME` (or is home itself)."""

    code = "unsafe_deletion"


def job_folder(home: Path, job_id: str) -> Path:
    return home / JOBS / job_id


def endpoint_folder(home: Path, name: str) -> Path:
    return home / ENDPOINTS / name


def model_folder(home: Path, model_id: str) -> Path:
    return home / MODELS / model_id


def subfolders(folder: Path) -> list[Path]:
    """The real folders directly in `folder` (no hidden ones, no links), by name."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.is_dir() and not p.is_symlink()
    )


@dataclass(frozen=True)
class Size:
    bytes: int
    files: int
    newest: float  # the latest modification time found (the folder's own included)


def measure(path: Path) -> Size:
    """Bytes and files under `path` (symlinks counted as links, never followed)."""
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return Size(0, 0, 0.0)
    if not path.is_dir() or path.is_symlink():
        return Size(top.st_size, 1, top.st_mtime)
    total, files, newest = 0, 0, top.st_mtime
    for folder, dirs, names in os.walk(path):
        for name in [*names, *dirs]:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:  # removed while walking
                continue
            newest = max(newest, info.st_mtime)
            if name in names:
                total += info.st_size
                files += 1
    return Size(total, files, newest)


def age_seconds(size: Size) -> float:
    return time.time() - size.newest


def inside(home: Path, path: Path) -> Path:
    """`path` with its parent's symlinks resolved (not its own), checked to lie in home."""
    root = home.resolve()
    target = path.parent.resolve() / path.name
    if path.name in ("", ".", "..") or target == root or not target.is_relative_to(root):
        raise UnsafeDeletionError(
            f"refusing to delete {path}: it is not inside SPRINGBOARD_HOME ({root})",
            field="path",
            value=str(path),
            fix="a folder under home that is a link to elsewhere is left alone; remove it by hand",
        )
    return target


def remove(home: Path, path: Path) -> int:
    """Delete `path` (a file, a link or a folder) inside home; the bytes freed, 0 when it
    is already gone. A link is removed itself, never what it points to; links inside a
    folder are removed as links (`shutil.rmtree` does not follow them)."""
    target = inside(home, path)
    freed = measure(target).bytes
    if target.is_symlink() or target.is_file():
        target.unlink(missing_ok=True)
    elif target.is_dir():
        shutil.rmtree(target)
    return freed
