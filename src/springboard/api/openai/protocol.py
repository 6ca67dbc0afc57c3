"""The OpenAI API's request and response shapes, and its error body.

Requests are checked field by field as the `openai` client sends them: types and ranges
by pydantic, then the fields Springboard does not support are refused by name (a tool,
a JSON response format, `echo`, ...) rather than ignored, and a field nobody knows is
refused as OpenAI refuses it ("Unrecognized request argument"). Every problem is named by
its parameter in `{"error": {"message", "type", "param", "code"}}`. Turning a request into
prompts and decoding settings is `translation`'s job.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from springboard.errors import (
    ContextLengthError,
    Issue,
    NotFoundError,
    SpringboardError,
    ValidationError,
    issues_from_pydantic,
)

Stop = str | list[str] | None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class _Request(BaseModel):
    """Fields both routes share (`extra` is checked by `unsupported`, to name it well)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    model: str = Field(min_length=1, max_length=256)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int = Field(1, ge=1, le=128)
    stop: Stop = None
    seed: int | None = Field(None, ge=0, lt=2**63)
    stream: bool = False
    stream_options: StreamOptions | None = None
    presence_penalty: float = Field(0.0, ge=-2, le=2)
    frequency_penalty: float = Field(0.0, ge=-2, le=2)
    user: str | None = Field(None, max_length=256, description="Accepted; not used.")
    max_tokens: int | None = Field(None, ge=1, lt=2**31)


class CompletionRequest(_Request):
    prompt: str | list[str] = Field(
        description="One prompt or a list (token-id prompts are not supported)."
    )
    logprobs: int | None = Field(None, ge=0, le=5)
    echo: bool = False
    best_of: int | None = Field(None, ge=1, le=1)
    suffix: str | None = None
    logit_bias: dict[str, float] | None = None


class ChatRequest(_Request):
    messages: list[Any]
    max_completion_tokens: int | None = Field(None, ge=1, lt=2**31)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    logit_bias: dict[str, float] | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    functions: list[Any] | None = None
    function_call: Any = None
    parallel_tool_calls: bool | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = Field(None, description="Accepted; not used.")


# Fields Springboard knows but does not do, and the values that ask for nothing.
UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "echo": (False,),
    "best_of": (None, 1),
    "suffix": (None, ""),
    "logit_bias": (None, {}),
    "tools": (None, []),
    "tool_choice": (None, "none"),
    "functions": (None, []),
    "function_call": (None, "none"),
    "parallel_tool_calls": (None, False, True),
    "store": (None, False),
}


def unsupported(request: _Request) -> list[Issue]:
    """Fields the request sets that Springboard does not support, each by name."""
    issues = [
        Issue(
            name,
            "unrecognized request argument supplied",
            None,
            "Springboard refuses what it does not know rather than ignore it",
        )
        for name in (request.model_extra or {})
    ]
    for name, harmless in UNSUPPORTED.items():
        value = getattr(request, name, None)
        if name in request.model_fields_set and value not in harmless:
            issues.append(Issue(name, "is not supported by Springboard", None, f"leave {name} out"))
    if (
        isinstance(request, ChatRequest)
        and request.response_format is not None
        and request.response_format != {"type": "text"}
    ):
        issues.append(
            Issue(
                "response_format",
                'only {"type": "text"} is supported',
                None,
                "leave response_format out",
            )
        )
    if request.stream_options is not None and not request.stream:
        issues.append(
            Issue(
                "stream_options",
                "is only allowed when stream is true",
                None,
                "set stream: true, or leave stream_options out",
            )
        )
    if (
        isinstance(request, ChatRequest)
        and request.top_logprobs is not None
        and not request.logprobs
    ):
        issues.append(Issue("top_logprobs", "needs logprobs: true", request.top_logprobs))
    if (
        isinstance(request, ChatRequest)
        and request.max_tokens is not None
        and request.max_completion_tokens is not None
    ):
        issues.append(
            Issue(
                "max_tokens",
                "give max_tokens or max_completion_tokens, not both",
                request.max_tokens,
            )
        )
    return issues


# -- errors ----------------------------------------------------------------------------------

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_error",
    504: "timeout",
}


def list_page(data: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """A list call's answer: the page, its first and last ids, and whether more follow."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": more,
    }


def parse_request(data: Any, model: type[BaseModel]) -> Any:
    """The request shape from a decoded JSON body, or a ValidationError naming each field."""
    if not isinstance(data, dict):
        raise ValidationError([Issue(None, "the body must be a JSON object")])
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(issues_from_pydantic(exc), context="invalid request") from None


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and `{"error": {...}}` body for a Springboard error (any 5xx is generic;
    the caller logs the detail)."""
    if not isinstance(exc, SpringboardError):
        return 500, {
            "error": {
                "message": "internal error (see the server's log)",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    status = exc.http_status
    if isinstance(exc, ContextLengthError):  # OpenAI answers 400 context_length_exceeded
        status = 400
    param, message = exc.field, str(exc)
    if hasattr(exc, "issues") and exc.issues:  # one line per problem, the first one's param
        param = exc.issues[0].field
        message = "; ".join(i.describe() for i in exc.issues)
    code = {
        401: "invalid_api_key",
        404: "model_not_found" if param == "model" else "not_found",
    }.get(status, getattr(exc, "code", None))
    return status, {
        "error": {
            "message": message,
            "type": ERROR_TYPES.get(
                status, "invalid_request_error" if status < 500 else "server_error"
            ),
            "param": param,
            "code": code,
        }
    }


def unknown_model(model: str, known: list[str]) -> NotFoundError:
    return NotFoundError(
        f"the model {model!r} does not exist here",
        field="model",
        value=model,
        fix="models: " + (", ".join(known) or "none (deploy one)"),
    )


# -- responses (what the routes return; documented in the OpenAPI spec) ------------------------


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "springboard"
    root: str | None = Field(None, description="Springboard: the catalog model it serves.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
