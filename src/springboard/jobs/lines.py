"""Reading a batch job's input: one record per line, streamed from any location.

`read_lines` yields each non-blank line with its index and where it ends in the file, so
a resumed job can seek past what is done instead of reading it again (a remote input is
not downloaded twice). A line longer than the limit comes as `Oversized` and is read past
in chunks, never held whole, so one huge record cannot exhaust a worker. What a line
means is the job kind's codec's business (`transform_codec`, `invocation_codec`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from springboard.artifacts import storage
from springboard.errors import ClientError

COUNT_CHUNK = 64 * 1024  # how much of a line counting and skipping hold at once


@dataclass(frozen=True)
class Oversized:
    """A line longer than the reader's limit: its size is all that was kept of it."""

    size: int


@dataclass(frozen=True)
class Line:
    index: int  # among the file's non-blank lines, from 0
    data: bytes | Oversized
    end: int  # the byte offset just past the line (where the next starts)


def scan(
    handle: IO[bytes], *, first_index: int = 0, start: int = 0, max_bytes: int | None = None
) -> Iterator[Line]:
    """The non-blank lines of an open binary file from byte `start`, numbered from
    `first_index`."""
    index, position = first_index, start
    while True:
        raw = handle.readline(max_bytes + 2) if max_bytes is not None else handle.readline()
        if not raw:
            return
        position += len(raw)
        text = raw.rstrip(b"\r\n")
        data: bytes | Oversized = text
        blank = not raw.strip()
        if max_bytes is not None and len(text) > max_bytes:
            size = len(raw)
            while not raw.endswith(b"\n"):
                raw = handle.readline(COUNT_CHUNK)
                if not raw:
                    break
                position += len(raw)
                size += len(raw)
                blank = blank and not raw.strip()
            ending = 2 if raw.endswith(b"\r\n") else 1 if raw.endswith(b"\n") else 0
            data = Oversized(size - ending)
        if blank:
            continue
        yield Line(index, data, position)
        index += 1


def read_from(
    uri: str,
    *,
    records: int = 0,
    offset: int | None = None,
    max_bytes: int | None = None,
    field: str = "input",
) -> Iterator[Line]:
    """The lines of the file at `uri` after the first `records`; with `offset` (where
    those records end) the file is entered there instead of read through."""
    with storage.open_binary(uri, field) as handle:
        if offset is not None and records:
            handle.seek(offset)
            yield from scan(handle, first_index=records, start=offset, max_bytes=max_bytes)
            return
        for line in scan(handle, max_bytes=max_bytes):
            if line.index >= records:
                yield line


def read_lines(
    path: str | Path, skip: int, max_bytes: int | None = None
) -> Iterator[tuple[int, bytes | Oversized]]:
    """(index, line) for every non-blank line of `path`, after the first `skip` of them."""
    for line in read_from(str(path), records=skip, max_bytes=max_bytes):
        yield line.index, line.data


def count_records(files: list[str] | list[Path], field: str = "input") -> int:
    """Non-blank lines across `files`, read as a stream (a long line is never held whole)."""
    return sum(
        1 for file in files for _ in read_from(str(file), max_bytes=COUNT_CHUNK, field=field)
    )


def load_record(line: bytes, index: int) -> Any:
    """`json.loads` of one line, as a record error for bad JSON or JSON nested too deeply
    (neither echoes the line back)."""
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClientError(
            f"line {index + 1} is not valid JSON: {exc}",
            field="record",
            fix="one JSON object per line",
        ) from None
    except RecursionError:
        raise ClientError(
            f"line {index + 1} nests JSON too deeply", field="record", fix="flatten the record"
        ) from None
