"""Owner-only files and folders: what Springboard keeps (the state database, job and
endpoint folders, logs, metrics, checkpoints, outputs, fine-tuned models) is readable by
its user only — folders 0700, files 0600.

Things are created with those modes, not chmod-ed afterwards; what an older version left
looser is tightened when it belongs to this user (the home and the database say so in the
log). `restrict_umask` is the belt for our own processes (the CLI, job workers, endpoint
servers), so files that libraries write for us (transformers' checkpoints and saved
models, job outputs) come out private too. This module does not decide where anything
lives (`config`, `jobs.paths` and `serving.endpoints` do).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from functools import lru_cache
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
GROUP_OTHER = 0o077

log = logging.getLogger("springboard.permissions")
_warned: set[str] = set()


def restrict_umask() -> None:
    """Make everything this process creates from now on private to its user."""
    os.umask(GROUP_OTHER)


def ensure_home(home: Path) -> Path:
    """`SPRINGBOARD_HOME`, created 0700; an existing looser one of ours is tightened —
    unless it is the user's own home folder (or /), which is not ours to change: what we
    create inside it is private anyway."""
    home.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if home not in _not_ours():
        tighten(home)
    elif stat.S_IMODE(home.stat().st_mode) & GROUP_OTHER:
        _warn_once(
            home,
            f"SPRINGBOARD_HOME is {home}, which other users can open; point it "
            "at a folder of its own (the default is ~/.springboard)",
        )
    return home


@lru_cache(maxsize=1)
def _not_ours() -> tuple[Path, ...]:
    """Folders a home setting may name that Springboard must not chmod."""
    return (Path.home().resolve(), Path("/"))


def private_dir(path: Path, home: Path) -> Path:
    """`path`, a folder inside `home`, created 0700 with every folder between them."""
    parts = path.relative_to(home).parts
    if ".." in parts:
        raise ValueError(f"{path} leaves {home}")
    ensure_home(home)
    current = home
    for part in parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            current.mkdir(mode=PRIVATE_DIR)
    return path


def create_private(path: Path) -> bool:
    """Create the empty file `path` as 0600 (True), or tighten the one there (False)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        return True
    except FileExistsError:
        tighten(path)
        return False


def opener(path: str | os.PathLike[str], flags: int) -> int:
    """For `open(path, mode, opener=opener)`: a new file is created 0600, and an existing
    regular file of ours that is looser (e.g. made by an older version) is tightened."""
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_mode & GROUP_OTHER and info.st_uid == os.getuid():
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~GROUP_OTHER)
    except BaseException:
        os.close(fd)
        raise
    return fd


def tighten(path: Path) -> bool:
    """Remove group and other permissions from `path` when it has any and belongs to this
    user (with a warning saying so); True when it changed. Someone else's path is left alone,
    with a warning once."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    mode = stat.S_IMODE(info.st_mode)
    if not mode & GROUP_OTHER:
        return False
    if info.st_uid != os.getuid():
        _warn_once(
            path,
            f"{path} is accessible to other users (mode {mode:o}) and belongs "
            f"to uid {info.st_uid}, not to you; leaving it as it is",
        )
        return False
    os.chmod(path, mode & ~GROUP_OTHER)
    log.warning(
        "tightened the permissions of %s from %o to %o: it holds private state",
        path,
        mode,
        mode & ~GROUP_OTHER,
    )
    return True


def _warn_once(path: Path, message: str) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        log.warning("%s", message)
