"""Uploaded files: keep, list, read and delete them (what the OpenAI Files API serves).

A file is checked for its purpose (`files.checks`) before anything is written; its bytes
go to `SPRINGBOARD_HOME/files/<id>/content` (written to a temporary name, fsynced, then
renamed) and only then is its record inserted, so a crash leaves at most a folder without a
record (`springboard prune` removes those), never a record without its bytes. Deleting
removes the record first, then the folder, for the same reason. Files are user-private
(the process umask), like the rest of the home.
"""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from springboard import permissions
from springboard.config import get_settings
from springboard.errors import Issue, NotFoundError, PayloadTooLargeError, ValidationError
from springboard.files.checks import check
from springboard.store import file_records


class FileObject(BaseModel):
    """An uploaded file, as the OpenAI API shows it."""

    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["processed"] = "processed"
    lines: int


def _folder(file_id: str) -> Path:
    return get_settings().home / "files" / file_id


def _object(row: dict) -> FileObject:
    created = row["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return FileObject(
        id=row["id"],
        bytes=row["bytes"],
        created_at=int(created.timestamp()),
        filename=row["filename"],
        purpose=row["purpose"],
        lines=row["lines"],
    )


def max_bytes() -> int:
    return get_settings().files_max_mb * 1024 * 1024


def upload(content: bytes, *, filename: str, purpose: str) -> FileObject:
    """Check `content` for `purpose` and keep it; ValidationError (nothing kept) otherwise."""
    if len(content) > max_bytes():
        raise PayloadTooLargeError(
            f"the file is {len(content)} bytes; files may hold at most {max_bytes()}",
            field="file",
            value=len(content),
            fix="split it, or raise SPRINGBOARD_FILES_MAX_MB on the server",
        )
    name = Path(filename or "upload.jsonl").name[:255]
    if not name or name in (".", ".."):
        raise ValidationError([Issue("filename", "is not a file name", filename)])
    lines = check(purpose, content)
    return keep(
        f"file-{secrets.token_hex(12)}", content, filename=name, purpose=purpose, lines=lines
    )


def keep(file_id: str, content: bytes, *, filename: str, purpose: str, lines: int) -> FileObject:
    """Store `content` as the file `file_id`, unchecked (what Springboard itself writes,
    e.g. a batch's results). Keeping an id again replaces it with the same bytes' record,
    so a step repeated after a crash leaves one file."""
    folder = _folder(file_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "content.tmp"
    with open(tmp, "wb", opener=permissions.opener) as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / "content")
    row = {
        "id": file_id,
        "purpose": purpose,
        "filename": filename,
        "bytes": len(content),
        "lines": lines,
        "created_at": datetime.now(UTC),
    }
    file_records.remove(file_id)
    file_records.insert(row)
    return _object(row)


def get(file_id: str) -> FileObject:
    row = file_records.get(file_id)
    if row is None:
        raise NotFoundError(
            f"no file {file_id}",
            field="file_id",
            value=file_id,
            fix="list them with GET /v1/files",
        )
    return _object(row)


def path(file_id: str) -> Path:
    """Where the bytes of the file are (NotFoundError for an unknown id)."""
    get(file_id)
    return _folder(file_id) / "content"


def as_jsonl(file_id: str) -> Path:
    """A folder holding the file as `data.jsonl`, for readers that go by extension (a
    training channel); made once, beside the file's bytes."""
    source = path(file_id)
    folder = _folder(file_id) / "channel"
    target = folder / "data.jsonl"
    if not target.exists():
        folder.mkdir(exist_ok=True)
        tmp = folder / "data.jsonl.tmp"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return folder


def content(file_id: str) -> bytes:
    return path(file_id).read_bytes()


def list_files(
    *, purpose: str | None = None, after: str | None = None, limit: int = 20, order: str = "desc"
) -> tuple[list[FileObject], bool]:
    """A page of files (newest first unless `order` is "asc") and whether more follow."""
    if order not in ("asc", "desc"):
        raise ValidationError([Issue("order", "must be asc or desc", order)])
    if not 1 <= limit <= 10_000:
        raise ValidationError([Issue("limit", "must be between 1 and 10000", limit)])
    cursor = None
    if after is not None:
        row = file_records.get(after)
        if row is None:
            raise NotFoundError(f"no file {after}", field="after", value=after)
        cursor = (row["created_at"], row["id"])
    rows = file_records.page(
        purpose=purpose, after=cursor, limit=limit + 1, newest_first=order == "desc"
    )
    return [_object(r) for r in rows[:limit]], len(rows) > limit


def delete(file_id: str) -> FileObject:
    """Forget the file and remove its bytes."""
    shown = get(file_id)
    file_records.remove(file_id)
    shutil.rmtree(_folder(file_id), ignore_errors=True)
    return shown
