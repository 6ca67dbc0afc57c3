"""Bedrock's Converse API as the OpenAI chat API an endpoint speaks: the request in, the
answer (or its stream's chunks) out.

`to_chat(body)` checks a Converse request body and gives the `/v1/chat/completions` body
for the endpoint; `from_chat(reply)` turns the endpoint's answer into Converse's;
`StreamTranslator` turns the chunks of a streamed chat answer into ConverseStream events
(`messageStart`, `contentBlockDelta`, `contentBlockStop`, `messageStop`, `metadata`).
Text content is supported; images, documents, tools, guardrails and the other
Bedrock-only features are refused by name (a ValidationError), never ignored. The
endpoint checks the generation parameters itself; `bedrock_field` names its findings in
Converse's terms. No I/O here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from springboard.errors import Issue, ValidationError, issues_from_pydantic

# OpenAI's finish_reason -> Converse's stopReason. An endpoint reports a stop string and
# the end-of-sequence token both as "stop"; Converse's nearest is end_turn for both.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}
UNSUPPORTED = {
    "toolConfig": "tools are not supported by Springboard endpoints",
    "guardrailConfig": "guardrails are not supported by Springboard",
    "promptVariables": "prompt management is not supported by Springboard",
    "additionalModelResponseFieldPaths": "no additional response fields exist",
    "performanceConfig": "there is one latency profile",
    "serviceTier": "there is one service tier",
    "outputConfig": "structured output is not supported by Springboard endpoints",
}
# The endpoint's parameter names -> Converse's, to name a refused value as the caller sent it.
FIELDS = {
    "max_tokens": "inferenceConfig.maxTokens",
    "max_completion_tokens": "inferenceConfig.maxTokens",
    "temperature": "inferenceConfig.temperature",
    "top_p": "inferenceConfig.topP",
    "stop": "inferenceConfig.stopSequences",
    "messages": "messages",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InferenceConfig(_Strict):
    maxTokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0)
    topP: float | None = Field(None, gt=0, le=1)
    stopSequences: list[str] | None = Field(None, max_length=4)


class Message(_Strict):
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]] = Field(min_length=1)


class ConverseRequest(_Strict):
    messages: list[Message] = Field(min_length=1)
    system: list[dict[str, Any]] = []
    inferenceConfig: InferenceConfig = InferenceConfig()
    additionalModelRequestFields: dict[str, Any] = {}
    requestMetadata: dict[str, str] = {}  # kept for the caller's logs; changes nothing


def _allowed(field: str | None) -> str | None:
    model: type[BaseModel] = (
        InferenceConfig if (field or "").startswith("inferenceConfig") else ConverseRequest
    )
    return ", ".join(model.model_fields)


def _text(blocks: list[dict[str, Any]], where: str, issues: list[Issue]) -> str:
    texts = []
    for j, block in enumerate(blocks):
        kinds = sorted(block)
        if kinds == ["text"] and isinstance(block["text"], str):
            texts.append(block["text"])
        elif kinds == ["cachePoint"]:
            continue  # a caching hint: nothing to cache across requests here
        else:
            kind = next((k for k in kinds if k != "text"), "text")
            issues.append(
                Issue(
                    f"{where}[{j}].{kind}",
                    "is not supported: Springboard endpoints take text blocks only",
                    None,
                    'send {"text": "..."} blocks',
                )
            )
    return "\n".join(texts)


def to_chat(body: Any, model: str, *, stream: bool) -> dict[str, Any]:
    """The `/v1/chat/completions` body for a Converse request body (ValidationError naming
    every problem otherwise)."""
    if not isinstance(body, dict):
        raise ValidationError([Issue("body", "must be a JSON object", type(body).__name__)])
    issues = [
        Issue(name, f"is not supported: {why}", None, f"remove {name}")
        for name, why in UNSUPPORTED.items()
        if name in body
    ]
    fields = {k: v for k, v in body.items() if k not in UNSUPPORTED and k != "modelId"}
    try:
        request = ConverseRequest.model_validate(fields)
    except PydanticError as exc:
        raise ValidationError(issues + issues_from_pydantic(exc, allowed=_allowed)) from None
    messages: list[dict[str, str]] = []
    system = _text(request.system, "system", issues)
    if system:
        messages.append({"role": "system", "content": system})
    for i, message in enumerate(request.messages):
        text = _text(message.content, f"messages[{i}].content", issues)
        messages.append({"role": message.role, "content": text})
    if issues:
        raise ValidationError(issues)
    config = request.inferenceConfig
    chat: dict[str, Any] = {"model": model, "messages": messages}
    for name, value in (
        ("max_tokens", config.maxTokens),
        ("temperature", config.temperature),
        ("top_p", config.topP),
        ("stop", config.stopSequences),
    ):
        if value is not None:
            chat[name] = value
    chat.update(request.additionalModelRequestFields)
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def bedrock_field(param: str | None) -> str | None:
    """The Converse name of a chat parameter an endpoint refused."""
    if param is None:
        return None
    return FIELDS.get(param, f"additionalModelRequestFields.{param}")


def usage(counts: dict[str, Any]) -> dict[str, int]:
    prompt, completion = (
        int(counts.get("prompt_tokens", 0)),
        int(counts.get("completion_tokens", 0)),
    )
    return {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}


def from_chat(reply: dict[str, Any], latency_ms: int) -> dict[str, Any]:
    """Converse's answer for the endpoint's chat completion."""
    choice = reply["choices"][0]
    return {
        "output": {
            "message": {"role": "assistant", "content": [{"text": choice["message"]["content"]}]}
        },
        "stopReason": STOP_REASONS.get(choice.get("finish_reason"), "end_turn"),
        "usage": usage(reply.get("usage") or {}),
        "metrics": {"latencyMs": latency_ms},
    }


class StreamTranslator:
    """ConverseStream's events, as (event type, body) pairs, for each chunk of a streamed
    chat answer (asked with `include_usage`)."""

    def __init__(self) -> None:
        self._started = False

    def events(self, chunk: dict[str, Any], latency_ms: int) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        if not self._started:
            self._started = True
            out.append(("messageStart", {"role": "assistant"}))
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                out.append(("contentBlockDelta", {"delta": {"text": text}, "contentBlockIndex": 0}))
            reason = choice.get("finish_reason")
            if reason is not None:
                out.append(("contentBlockStop", {"contentBlockIndex": 0}))
                out.append(("messageStop", {"stopReason": STOP_REASONS.get(reason, "end_turn")}))
        if not chunk.get("choices") and chunk.get("usage"):
            out.append(
                ("metadata", {"usage": usage(chunk["usage"]), "metrics": {"latencyMs": latency_ms}})
            )
        return out
