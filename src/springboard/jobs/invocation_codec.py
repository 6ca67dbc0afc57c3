"""What an invocation job's lines are, in the managed service's batch shapes.

In: `{"recordId": ..., "modelInput": {...}}`, `modelInput` in one of the shapes the
model's catalog entry accepts (`accepted_shapes`): the completion shape
(`invocation_schema.CompletionInput`), or Springboard's own text2text / text-generation
payloads; with a prompt template, the template's fields. A record without a `recordId`
gets a generated one (`invocation_ids.record_id_for`).
Out: `{"recordId", "modelInput", "modelOutput"}` or `{"recordId", "modelInput", "error":
{"errorCode", "errorMessage"}}`; a line too long or not JSON gets an error without its
content (it may be anything). The manifest (`manifest.json.out`) holds the record and
token counts in the service's names. Reading lines and running them is `batch`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic

from springboard.errors import ClientError, ValidationError, issues_from_pydantic
from springboard.inference.payloads import task_of_payload
from springboard.jobs.batch import Decoded, RecordFailure, RecordRef
from springboard.jobs.invocation_ids import record_id_for
from springboard.jobs.invocation_schema import CompletionInput
from springboard.jobs.lines import Oversized, load_record

if TYPE_CHECKING:
    from springboard.prompting.template import Prompter

MANIFEST = "manifest.json.out"


@dataclass(frozen=True)
class Sent:
    """What the output line repeats of a record: its modelInput as sent, and the
    completion shape it was read as (None for a native payload)."""

    model_input: Any
    completion: CompletionInput | None = None


class InvocationCodec:
    """Records of one invocation job (`job_id` seeds the ids of records without one)."""

    manifest_name = MANIFEST

    def __init__(
        self,
        generator: Any,
        *,
        job_id: str,
        max_bytes: int,
        prompter: Prompter | None = None,
        keep_prompt: bool = False,
    ) -> None:
        self.generator, self.spec = generator, generator.spec
        self.job_id, self.max_bytes = job_id, max_bytes
        self.prompter, self.keep_prompt = prompter, keep_prompt

    def fallback_key(self, ref: RecordRef) -> str:
        return record_id_for(self.job_id, ref.file_name, ref.index)

    def decode(self, line: bytes | Oversized, ref: RecordRef) -> Decoded:
        """(recordId, request); a line that is too long or not JSON fails without its content."""
        fallback = self.fallback_key(ref)
        if isinstance(line, Oversized):
            raise RecordFailure(
                ClientError(
                    f"line {ref.index + 1} is {line.size} bytes; the limit is {self.max_bytes}",
                    field="record",
                    value=line.size,
                    fix="split the prompt over several records",
                ),
                fallback,
            )
        try:
            record = load_record(line, ref.index)
        except ClientError as exc:
            exc.fix = 'one {"recordId", "modelInput"} object per line'
            raise RecordFailure(exc, fallback) from None
        if not isinstance(record, dict):
            raise RecordFailure(
                ClientError(f"line {ref.index + 1} is not a JSON object", field="record"), fallback
            )
        record_id = str(record.get("recordId") or fallback)
        model_input = record.get("modelInput")
        if not isinstance(model_input, dict):
            raise RecordFailure(
                ClientError(
                    "modelInput is missing or not an object",
                    field="modelInput",
                    value=model_input,
                    fix=f"send one of: {', '.join(self.spec.accepted_shapes)}",
                ),
                record_id,
                Sent(model_input),
            )
        sent = model_input if self.prompter is None else self._render(record_id, model_input)
        native = task_of_payload(sent)
        shape = "completion" if "prompt" in sent else native.value if native else None
        if shape not in self.spec.accepted_shapes:
            raise RecordFailure(
                ClientError(
                    f"{self.spec.id} does not accept the {shape or 'given'} shape of modelInput",
                    field="modelInput.prompt" if shape is None else "modelInput",
                    value=shape,
                    fix="accepted shapes: "
                    + ", ".join(self.spec.accepted_shapes)
                    + " (completion needs `prompt`, text2text `text_inputs`, text-generation `inputs`)",
                ),
                record_id,
                Sent(model_input),
            )
        try:
            completion = CompletionInput.model_validate(sent) if shape == "completion" else None
            payload = completion.payload(self.generator.task) if completion else sent
            request = self.generator.parse(payload)
        except pydantic.ValidationError as exc:
            issues = issues_from_pydantic(exc)
            for issue in issues:
                if issue.message == "unknown field":
                    issue.fix = "allowed: " + ", ".join(CompletionInput.model_fields)
                issue.field = f"modelInput.{issue.field}" if issue.field else "modelInput"
            raise RecordFailure(ValidationError(issues), record_id, Sent(model_input)) from None
        except ClientError as exc:
            raise RecordFailure(exc, record_id, Sent(model_input)) from None
        return Decoded(record_id, request, Sent(model_input, completion))

    def _render(self, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A record of template fields as a modelInput in the completion shape (or, for a
        model without it, the model's own)."""
        assert self.prompter is not None
        key = "prompt" if "completion" in self.spec.accepted_shapes else self.generator.input_field
        try:
            return self.prompter.payload(
                {"id": record_id, **fields}, key, where=f"record {record_id}"
            )
        except ValidationError as exc:
            for issue in exc.issues:
                issue.field = f"modelInput.{issue.field}" if issue.field else "modelInput"
            raise RecordFailure(ValidationError(exc.issues), record_id, Sent(fields)) from None

    def success(self, record: Decoded, results: list[Any]) -> dict[str, Any]:
        sent: Sent = record.echo
        line = {
            "recordId": record.key,
            "modelInput": sent.model_input,
            "modelOutput": self._output(record.key, sent.completion, record.request, results),
        }
        if self.keep_prompt:
            line["prompt"] = record.request.prompts[0]
        return line

    def failure(self, failure: RecordFailure) -> dict[str, Any]:
        sent = failure.echo
        error = failure.error
        return {
            "recordId": failure.key,
            "modelInput": sent.model_input if sent else None,
            "error": {"errorCode": error.http_status, "errorMessage": str(error)},
        }

    def manifest(self, counts: dict[str, Any]) -> dict[str, Any]:
        return {
            "totalRecordCount": counts["total"],
            "processedRecordCount": counts["processed"],
            "successRecordCount": counts["succeeded"],
            "errorRecordCount": counts["failed"],
            "inputTokenCount": counts["input_tokens"],
            "outputTokenCount": counts["output_tokens"],
        }

    @staticmethod
    def _output(
        record_id: str, completion: CompletionInput | None, request: Any, results: list[Any]
    ) -> Any:
        if completion is None:
            from springboard.inference.payloads import render_response

            return render_response(request, results)
        result = results[0]
        return {
            "generations": [
                {
                    "id": f"{record_id}-{i}",
                    "text": text,
                    "finish_reason": reason,
                    "token_count": tokens,
                }
                for i, (text, reason, tokens) in enumerate(
                    zip(result.texts, result.finish_reasons, result.output_tokens, strict=True)
                )
            ],
            "prompt": completion.prompt,
        }
