"""What an OpenAI batch's lines are: the record codec of the batch pipeline for
`POST /v1/batches` (an invocation job whose settings carry `openai`).

In: `{"custom_id", "method": "POST", "url", "body"}`, `body` a `/v1/chat/completions` or
`/v1/completions` request for the job's model, checked and planned exactly as an
endpoint's OpenAI routes do (`api.openai.protocol` / `translation`, the model's chat
template), so a line answers as the same request sent to an endpoint would.
Out, one line per input line: `{"id", "custom_id", "response": {"status_code",
"request_id", "body"}, "error": null}`, `body` the completion object, or for a refused or
failed request its OpenAI error body with the status it would have had; a line that is
not JSON or has no `custom_id` gets `"response": null` and an `error`. Splitting the lines
into the output and error files is `openai_batches`' job; running them is `batch`'s.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from springboard.api.openai.protocol import (
    ChatRequest,
    CompletionRequest,
    error_body,
    parse_request,
)
from springboard.api.openai.translation import Plan, plan_chat, plan_completion, response
from springboard.errors import ClientError, SpringboardError
from springboard.inference.limits import RequestLimits
from springboard.jobs.batch import Decoded, RecordFailure, RecordRef
from springboard.jobs.lines import Oversized


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class OpenAIBatchCodec:
    """Records of one OpenAI batch for `endpoint` on `generator`'s model."""

    manifest_name = None

    def __init__(self, generator: Any, *, endpoint: str, max_bytes: int) -> None:
        self.generator, self.spec = generator, generator.spec
        self.endpoint, self.max_bytes = endpoint, max_bytes
        self.names = {self.spec.id, *self.spec.aliases}
        self.limits = RequestLimits()
        self._template: Any = None

    def fallback_key(self, ref: RecordRef) -> str | None:
        return None  # a line without a readable custom_id keeps none

    def decode(self, line: bytes | Oversized, ref: RecordRef) -> Decoded:
        where = f"line {ref.index + 1}"
        if isinstance(line, Oversized):
            raise RecordFailure(
                ClientError(
                    f"{where} is {line.size} bytes; the limit is {self.max_bytes}",
                    field="body",
                    value=line.size,
                ),
                None,
            )
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise RecordFailure(
                ClientError(f"{where} is not JSON ({exc})", field="line"), None
            ) from None
        custom_id = record.get("custom_id") if isinstance(record, dict) else None
        if not isinstance(custom_id, str) or not custom_id:
            raise RecordFailure(ClientError(f"{where} has no custom_id", field="custom_id"), None)
        try:
            return Decoded(custom_id, self._plan(record))
        except SpringboardError as exc:
            raise RecordFailure(exc, custom_id) from None

    def _plan(self, record: dict[str, Any]) -> Plan:
        if record.get("url") != self.endpoint:
            raise ClientError(
                f"the batch is for {self.endpoint}; this line asks for {record.get('url')}",
                field="url",
                value=record.get("url"),
                fix=f"send every line to {self.endpoint}",
            )
        body = record.get("body")
        if isinstance(body, dict) and body.get("stream"):
            raise ClientError("a batch does not stream", field="stream", fix="remove stream")
        if self.endpoint == "/v1/completions":
            request = parse_request(body, CompletionRequest)
            self._check_model(request.model)
            return plan_completion(request, model=request.model, limits=self.limits)
        chat = parse_request(body, ChatRequest)
        self._check_model(chat.model)
        return plan_chat(
            chat,
            self.template().render(chat.messages),
            model=chat.model,
            limits=self.limits,
            chat_stop=self.spec.chat_stop,
            context_length=self.generator.context_length,
        )

    def _check_model(self, model: str) -> None:
        if model not in self.names:
            raise ClientError(
                f"this batch runs {self.spec.id}; the line asks for {model}",
                field="model",
                value=model,
                fix="one model per batch (as OpenAI's)",
            )

    def template(self) -> Any:
        if self._template is None:
            from springboard.prompting.chat import ChatTemplate

            self._template = ChatTemplate(self.generator.tokenizer, self.spec.id)
        return self._template

    def success(self, record: Decoded, results: list[Any]) -> dict[str, Any]:
        body = response(record.request, results, hidden=self.generator.eos_ids)
        return {
            "id": _id("batch_req"),
            "custom_id": record.key,
            "response": {"status_code": 200, "request_id": _id("req"), "body": body},
            "error": None,
        }

    def failure(self, failure: RecordFailure) -> dict[str, Any]:
        if failure.key is None:  # not a request at all: no response to show
            return {
                "id": _id("batch_req"),
                "custom_id": None,
                "response": None,
                "error": {"code": "invalid_request", "message": str(failure.error)},
            }
        from springboard.serving.service import public_error

        request_id = _id("req")
        status, body = error_body(public_error(failure.error, request_id))
        return {
            "id": _id("batch_req"),
            "custom_id": failure.key,
            "response": {"status_code": status, "request_id": request_id, "body": body},
            "error": None,
        }

    def manifest(self, counts: dict[str, Any]) -> dict[str, Any]:
        return {}
