"""The endpoint's wire formats: request content types and error bodies.

Requests: `application/json` (one payload; also what `curl -d` sends, labelled
`application/x-www-form-urlencoded`), `application/jsonlines` (one payload per line, one
answer per line), `application/x-text` / `text/plain` (the text is the input).
Errors: `{"error": {"code", "message", "field"}}`; on the managed runtime's path
(`/endpoints/{name}/invocations`) also the runtime's own shape — a 424 `ModelError` with
`OriginalStatusCode` and `OriginalMessage` and an `x-amzn-ErrorType` header — so its
client libraries raise their usual exceptions.
Every body is strict JSON (no bare NaN/Infinity), and a body too deep to parse is a 400.
`wait_for_disconnect` tells, from the ASGI receive channel, when a client has gone.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from springboard.errors import (
    ClientError,
    NotFoundError,
    SpringboardError,
    UnsupportedMediaTypeError,
)

JSON = "application/json"
JSONLINES = ("application/jsonlines", "application/x-jsonlines", "application/jsonl")
TEXT = ("application/x-text", "text/plain")
SUPPORTED = (JSON, *JSONLINES, *TEXT)

MODEL_ERROR_TYPE = "ModelError:http://internal.amazon.com/coral/com.amazonaws.sagemaker/"
UNAVAILABLE_TYPE = "ServiceUnavailable:http://internal.amazon.com/coral/com.amazon.coral.service/"
VALIDATION_TYPE = "ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/"


class TimeoutError_(SpringboardError):
    code = "timeout"
    http_status = 504


@dataclass
class Reply:
    """A response the routes send as is."""

    status: int
    body: bytes
    media_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


# `curl -d '{...}'` labels a JSON body with this type unless told otherwise: read it as JSON.
CURL_DEFAULT = "application/x-www-form-urlencoded"


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header; raise 415 when unsupported."""
    kind = (content_type or JSON).split(";")[0].strip().lower() or JSON
    if kind == CURL_DEFAULT:
        return JSON
    if kind not in SUPPORTED:
        raise UnsupportedMediaTypeError(
            f"content type '{kind}' is not supported",
            field="Content-Type",
            value=kind,
            fix="send one of " + ", ".join(SUPPORTED),
        )
    return kind


def decode_json(body: bytes, *, where: str = "body") -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:  # not JSON, not UTF-8, or an integer of over 4,300 digits
        raise ClientError(
            f"{where} is not valid JSON: {exc}",
            field=where,
            fix='send e.g. {"text_inputs": "hello"}',
        ) from None
    except RecursionError:
        raise ClientError(
            f"{where} nests arrays/objects too deeply to parse",
            field=where,
            fix='send a flat payload, e.g. {"text_inputs": "hello"}',
        ) from None


def dumps(data: Any) -> bytes:
    """Strict JSON: NaN and infinities (which bare JSON cannot hold) become the strings
    "NaN", "Infinity", "-Infinity"; values too deep to print are cut."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError):  # ValueError: also a lone surrogate
        return json.dumps(_safe(data), ensure_ascii=True, allow_nan=False).encode()


_DEPTH = 16


def _safe(value: Any, depth: int = 0) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return f"<a {value.bit_length()}-bit integer>"  # may be too long to print at all
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if depth >= _DEPTH:
        return f"<{type(value).__name__} nested too deep to show>"
    if isinstance(value, dict):
        return {str(k): _safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe(v, depth + 1) for v in value]
    return repr(value)


async def wait_for_disconnect(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
) -> None:
    """Return once the server reports the client gone (`http.disconnect`). Call it only
    after the body has been read: it takes the messages that follow."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return
        await asyncio.sleep(0.05)  # nothing else should come; never spin on it


def error_reply(
    exc: SpringboardError, *, runtime_shape: bool, headers: dict[str, str] | None = None
) -> Reply:
    """The error response; the managed runtime's shape on its path."""
    headers = dict(headers or {})
    body: dict[str, Any] = {"error": exc.to_dict()}
    status = exc.http_status
    if status == 503:
        headers.setdefault("Retry-After", "1")
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if runtime_shape:
        if status == 503:
            headers["x-amzn-ErrorType"] = UNAVAILABLE_TYPE
            body["message"] = str(exc)
        elif status != 401:
            side = "client" if status < 500 else "server"
            headers["x-amzn-ErrorType"] = MODEL_ERROR_TYPE
            body.update(
                {
                    "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
                    "message": f'Received {side} error ({status}) from primary with message "{exc}".',
                    "OriginalStatusCode": status,
                    "OriginalMessage": dumps({"error": exc.to_dict()}).decode(),
                }
            )
            status = 424
    return Reply(status=status, body=dumps(body), headers=headers)


def unknown_endpoint_reply(name: str, served: str) -> Reply:
    """The runtime's answer for a name this server does not serve (a ValidationError)."""
    exc = NotFoundError(
        f"endpoint {name} is not served here",
        field="name",
        value=name,
        fix=f"this server is endpoint {served}",
    )
    body = {"error": exc.to_dict(), "message": f"Endpoint {name} not found."}
    return Reply(400, dumps(body), headers={"x-amzn-ErrorType": VALIDATION_TYPE})
