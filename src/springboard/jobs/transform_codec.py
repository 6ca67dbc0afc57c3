"""What a transform job's lines are: records in, `{"id", "generated_texts"}` lines out.

A record is a JSON object — `{"id", "text_inputs", <parameters>}` for text2text,
`{"id", "inputs", "parameters"}` for text-generation — or, with `text/plain`, a line of
text (its id is its 1-based line number). With a prompt template a record holds the
template's fields instead of the prompt (its other keys are generation parameters).
`HYPER_PARAMS` (JSON, or a Python dict literal as `str(dict)` prints it; parsed with
`ast.literal_eval`, never evaluated) override every record's own parameters. A record
that cannot run gets `{"id", "error"}`. Reading lines and running them is the batch
pipeline's job (`batch`); this module only translates.
"""

from __future__ import annotations

import ast
import json
from typing import TYPE_CHECKING, Any

from springboard.catalog import Task
from springboard.errors import ClientError, Issue, ValidationError
from springboard.inference.payloads import parse_request, payload_for
from springboard.jobs.batch import Decoded, RecordFailure, RecordRef
from springboard.jobs.lines import Oversized, load_record
from springboard.options import JSONLINES, TEXT

if TYPE_CHECKING:
    from springboard.prompting.template import Prompter

CONTENT_TYPES = (JSONLINES, TEXT)


class InvalidRecordError(ClientError):
    """A line that is not a record this job can read (too long, not JSON, not an object)."""

    code = "invalid_record"


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
            raise ValidationError(
                [
                    Issue(
                        "HYPER_PARAMS",
                        f"is neither JSON nor a Python dict literal ({exc})",
                        text,
                        "e.g. HYPER_PARAMS=\"{'max_length': 16}\"",
                    )
                ]
            ) from None
    if not isinstance(value, dict):
        raise ValidationError(
            [Issue("HYPER_PARAMS", f"must be a dict; got {type(value).__name__}", text)]
        )
    try:
        parse_request(payload_for(task, "x", value), task)
    except ValidationError as exc:
        for issue in exc.issues:
            name = (issue.field or "").removeprefix("parameters.")
            issue.field = f"HYPER_PARAMS.{name}" if name else "HYPER_PARAMS"
        raise ValidationError(exc.issues, context="invalid HYPER_PARAMS") from None
    return value


class TransformCodec:
    """Records of a transform job for `generator` (its task says where the prompt goes)."""

    manifest_name = None

    def __init__(
        self,
        generator: Any,
        *,
        content_type: str,
        hyper: dict[str, Any],
        max_bytes: int,
        prompter: Prompter | None = None,
        keep_prompt: bool = False,
    ) -> None:
        self.generator, self.content_type, self.hyper = generator, content_type, hyper
        self.max_bytes, self.prompter, self.keep_prompt = max_bytes, prompter, keep_prompt

    def fallback_key(self, ref: RecordRef) -> Any:
        return ref.index + 1

    def decode(self, line: bytes | Oversized, ref: RecordRef) -> Decoded:
        record_id, payload = self.payload(line, ref)
        try:
            return Decoded(record_id, self.generator.parse(payload))
        except ClientError as exc:
            raise RecordFailure(exc, record_id) from None

    def payload(self, line: bytes | Oversized, ref: RecordRef) -> tuple[Any, dict[str, Any]]:
        """The record's id (its `id`, else its 1-based line number) and the payload to run,
        HYPER_PARAMS applied over the record's own values."""
        record_id: Any = self.fallback_key(ref)
        size = line.size if isinstance(line, Oversized) else len(line)
        if isinstance(line, Oversized) or size > self.max_bytes:
            raise RecordFailure(
                InvalidRecordError(
                    f"the record is {size} bytes; the limit is {self.max_bytes}",
                    field="record",
                    value=size,
                    fix="raise `max_payload_mb`",
                ),
                record_id,
            )
        task, key = self.generator.task, self.generator.input_field
        if self.content_type == TEXT:
            record: dict[str, Any] = {key: line.decode("utf-8", errors="replace")}
        else:
            try:
                loaded = load_record(line, ref.index)
            except ClientError as exc:
                raise RecordFailure(
                    InvalidRecordError(exc.message, field=exc.field, fix=exc.fix), record_id
                ) from None
            if not isinstance(loaded, dict):
                raise RecordFailure(
                    InvalidRecordError(
                        f"line {ref.index + 1} is not a JSON object", field="record"
                    ),
                    record_id,
                )
            record = loaded
            record_id = record.pop("id", record_id)
        payload = dict(record)
        if self.prompter is not None:
            try:
                payload = self.prompter.payload(
                    {"id": record_id, **record}, key, where=f"record {record_id}"
                )
            except ValidationError as exc:
                first = exc.issues[0]
                message = "; ".join(
                    f"`{i.field}`: {i.message}" if i.field else i.message for i in exc.issues
                )
                raise RecordFailure(
                    InvalidRecordError(
                        message, field=first.field, value=first.value, fix=first.fix
                    ),
                    record_id,
                ) from None
        if self.hyper and task is Task.TEXT2TEXT:
            payload.update(self.hyper)
        elif self.hyper:
            own = record.get("parameters")
            if own is None or isinstance(own, dict):
                payload["parameters"] = {**(own or {}), **self.hyper}
        return record_id, payload

    def success(self, record: Decoded, results: list[Any]) -> dict[str, Any]:
        request = record.request
        nrs = request.params.num_return_sequences
        texts = (
            [r.texts[0] if nrs == 1 else r.texts for r in results]
            if request.is_list
            else results[0].texts
        )
        line: dict[str, Any] = {"id": record.key, "generated_texts": texts}
        if self.keep_prompt:
            line["prompt"] = request.prompts if request.is_list else request.prompts[0]
        return line

    def failure(self, failure: RecordFailure) -> dict[str, Any]:
        return {"id": failure.key, "error": failure.error.to_dict()}

    def manifest(self, counts: dict[str, Any]) -> dict[str, Any]:
        return {}
