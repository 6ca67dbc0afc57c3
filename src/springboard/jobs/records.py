"""Reading batch-job inputs: files and directories of records, one record per line.

A record is a JSON object — `{"id", "text_inputs", <parameters>}` for text2text,
`{"id", "inputs", "parameters"}` for text-generation — or, with `text/plain`, a line of
text. With a prompt template a record holds the template's fields instead of the prompt
(its other keys are generation parameters). `HYPER_PARAMS` (JSON, or a Python dict
literal as `str(dict)` prints it; parsed with `ast.literal_eval`, never evaluated)
override every record's own parameters.
Turning payloads into text is the Generator's job; this module only reads and shapes.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from springboard.catalog import Task
from springboard.errors import ClientError, Issue, ValidationError
from springboard.inference.payloads import parse_request

from springboard.prompting.template import prompt_key

if TYPE_CHECKING:
    from springboard.prompting.template import Prompter

JSONLINES = "application/jsonlines"
TEXT = "text/plain"
CONTENT_TYPES = (JSONLINES, TEXT)
COUNT_CHUNK = 64 * 1024  # how much of a line counting and skipping hold at once


def local_path(uri: str, *, option: str) -> Path:
    """A local path from `/path` or `file://...`; other schemes are refused for now."""
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    elif "://" in uri:
        raise ValidationError([Issue(option, f"'{uri}': only local paths and file:// URIs are "
                                     "supported by batch jobs yet", uri,
                                     "copy the data to this machine first")])
    return Path(uri).expanduser().resolve()


def input_files(uri: str) -> list[Path]:
    """The files of an input location: the file itself, or a directory's files, sorted."""
    path = local_path(uri, option="--input")
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if files:
            return files
        raise ValidationError([Issue("--input", f"directory {path} holds no files", uri)])
    raise ValidationError([Issue("--input", f"{path} does not exist", uri)])


def count_records(files: list[Path]) -> int:
    """Non-blank lines across `files`, read as a stream (a long line is never held whole)."""
    return sum(1 for path in files for _ in read_lines(path, 0, max_bytes=COUNT_CHUNK))


def parse_hyper_params(text: str | None, task: Task) -> dict[str, Any]:
    """Parse and validate `HYPER_PARAMS` for a model of `task` (fields named as typed)."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValidationError([Issue("HYPER_PARAMS", f"is neither JSON nor a Python dict "
                                         f"literal ({exc})", text,
                                         "e.g. HYPER_PARAMS=\"{'max_length': 16}\"")]) from None
    if not isinstance(value, dict):
        raise ValidationError([Issue("HYPER_PARAMS", f"must be a dict; got {type(value).__name__}",
                                     text)])
    probe = {"text_inputs": "x", **value} if task is Task.TEXT2TEXT else \
        {"inputs": "x", "parameters": value}
    try:
        parse_request(probe, task)
    except ValidationError as exc:
        for issue in exc.issues:
            name = (issue.field or "").removeprefix("parameters.")
            issue.field = f"HYPER_PARAMS.{name}" if name else "HYPER_PARAMS"
        raise ValidationError(exc.issues, context="invalid HYPER_PARAMS") from None
    return value


@dataclass(frozen=True)
class Oversized:
    """A line longer than the reader's limit: its size is all that was kept of it."""

    size: int


def read_lines(path: Path, skip: int,
               max_bytes: int | None = None) -> Iterator[tuple[int, bytes | Oversized]]:
    """(index, line) for every non-blank line of `path`, after the first `skip` of them.

    A line longer than `max_bytes` comes as `Oversized` and is read past in chunks,
    never held in memory whole, so one huge record cannot exhaust a worker."""
    index = 0
    with open(path, "rb") as handle:
        while True:
            raw = handle.readline(max_bytes + 2) if max_bytes is not None else handle.readline()
            if not raw:
                return
            item: bytes | Oversized = raw.rstrip(b"\r\n")
            blank = not raw.strip()
            if max_bytes is not None and len(item) > max_bytes:
                size = len(raw)
                while not raw.endswith(b"\n"):
                    raw = handle.readline(COUNT_CHUNK)
                    if not raw:
                        break
                    size += len(raw)
                    blank = blank and not raw.strip()
                item = Oversized(size - (2 if raw.endswith(b"\r\n") else 1 if raw.endswith(b"\n") else 0))
            if blank:
                continue
            if index >= skip:
                yield index, item
            index += 1


def load_record(line: bytes, index: int) -> Any:
    """`json.loads` of one line, as a record error for bad JSON or JSON nested too deeply
    (neither echoes the line back)."""
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClientError(f"line {index + 1} is not valid JSON: {exc}", field="record",
                          fix="one JSON object per line") from None
    except RecursionError:
        raise ClientError(f"line {index + 1} nests JSON too deeply", field="record",
                          fix="flatten the record") from None


class RecordError(ClientError):
    """One record cannot be run; its output line carries this error and the record's id."""

    code = "invalid_record"

    def __init__(self, message: str, record_id: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.record_id = record_id


def to_payload(line: bytes | Oversized, index: int, *, content_type: str, task: Task,
               hyper: dict[str, Any], max_bytes: int,
               prompter: Prompter | None = None) -> tuple[Any, dict[str, Any]]:
    """The record's id (its `id`, else its 1-based line number) and the payload to run,
    HYPER_PARAMS applied over the record's own values. With a `prompter` the record holds
    fields for its template instead of a prompt."""
    record_id: Any = index + 1
    size = line.size if isinstance(line, Oversized) else len(line)
    if isinstance(line, Oversized) or size > max_bytes:
        raise RecordError(f"the record is {size} bytes; the limit is {max_bytes}",
                          record_id, field="record", value=size,
                          fix="raise --max-payload-mb")
    if content_type == TEXT:
        text = line.decode("utf-8", errors="replace")
        record: dict[str, Any] = {"text_inputs": text} if task is Task.TEXT2TEXT else {"inputs": text}
    else:
        try:
            record = load_record(line, index)
        except ClientError as exc:
            raise RecordError(exc.message, record_id, field=exc.field, fix=exc.fix) from None
        if not isinstance(record, dict):
            raise RecordError(f"line {index + 1} is not a JSON object", record_id, field="record")
        record_id = record.pop("id", record_id)
    payload = dict(record)
    if prompter is not None:
        try:
            payload = prompter.payload({"id": record_id, **record}, prompt_key(task),
                                       where=f"record {record_id}")
        except ValidationError as exc:
            first = exc.issues[0]
            message = "; ".join(f"`{i.field}`: {i.message}" if i.field else i.message
                                for i in exc.issues)
            raise RecordError(message, record_id, field=first.field, value=first.value,
                              fix=first.fix) from None
    if hyper and task is Task.TEXT2TEXT:
        payload.update(hyper)
    elif hyper:
        own = record.get("parameters")
        if own is None or isinstance(own, dict):
            payload["parameters"] = {**(own or {}), **hyper}
    return record_id, payload
