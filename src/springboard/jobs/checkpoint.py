"""A job's checkpoint: how far each input file got (records, and where they end in the
input), the byte length of its output at that point, and whether a finished output has
reached its remote folder. Written atomically after every batch, after the batch's
output is flushed to disk, so a resumed job truncates any half-written tail and carries
on — each record lands in the output exactly once, in order, however the worker died.
The checkpoint and the outputs are created private to the user (0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from springboard import permissions


class FileProgress(BaseModel):
    records: int = 0  # input records done (their output lines are on disk)
    offset: int = 0  # output bytes that hold exactly those lines
    input_offset: int | None = None  # input bytes those records take (None: read to skip)
    done: bool = False
    published: bool = False  # the whole output is at its remote folder (remote outputs)


class Checkpoint(BaseModel):
    files: dict[str, FileProgress] = {}
    counts: dict[str, Any] = {}

    @classmethod
    def load(cls, directory: Path) -> Checkpoint:
        path = directory / "checkpoint.json"
        return cls.model_validate_json(path.read_text()) if path.exists() else cls()

    def save(self, directory: Path) -> None:
        path = directory / "checkpoint.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", opener=permissions.opener) as handle:
            handle.write(self.model_dump_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def progress(self, name: str) -> FileProgress:
        return self.files.setdefault(name, FileProgress())


def open_output(path: Path, offset: int) -> IO[bytes]:
    """Open `path` for appending after exactly `offset` bytes (dropping any tail)."""
    handle = open(path, "r+b" if path.exists() else "w+b", opener=permissions.opener)  # noqa: SIM115 (the caller's `with`)
    handle.truncate(offset)
    handle.seek(offset)
    return handle


def write_durably(handle: Any, lines: list[dict[str, Any]]) -> int:
    """Append JSON lines, flush them to disk, return the new end offset."""
    handle.write(b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines))
    handle.flush()
    os.fsync(handle.fileno())
    return handle.tell()
