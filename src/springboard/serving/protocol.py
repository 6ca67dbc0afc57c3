"""The endpoint's wire formats: request content types and error bodies.

Requests: `application/json` (one payload), `application/jsonlines` (one payload per
line, one answer per line), `application/x-text` / `text/plain` (the text is the input).
Errors: `{"error": {"code", "message", "field"}}`; on the managed runtime's path
(`/endpoints/{name}/invocations`) also the runtime's own shape — a 424 `ModelError` with
`OriginalStatusCode` and `OriginalMessage` and an `x-amzn-ErrorType` header — so its
client libraries raise their usual exceptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from springboard.errors import ClientError, NotFoundError, SpringboardError

JSON = "application/json"
JSONLINES = ("application/jsonlines", "application/x-jsonlines", "application/jsonl")
TEXT = ("application/x-text", "text/plain")
SUPPORTED = (JSON, *JSONLINES, *TEXT)

MODEL_ERROR_TYPE = "ModelError:http://internal.amazon.com/coral/com.amazonaws.sagemaker/"
UNAVAILABLE_TYPE = "ServiceUnavailable:http://internal.amazon.com/coral/com.amazon.coral.service/"
VALIDATION_TYPE = "ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/"


class UnsupportedMediaTypeError(ClientError):
    code = "unsupported_media_type"
    http_status = 415


class PayloadTooLargeError(ClientError):
    code = "payload_too_large"
    http_status = 413


class UnauthorizedError(ClientError):
    code = "unauthorized"
    http_status = 401


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


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header; raise 415 when unsupported."""
    kind = (content_type or JSON).split(";")[0].strip().lower() or JSON
    if kind not in SUPPORTED:
        raise UnsupportedMediaTypeError(
            f"content type '{kind}' is not supported", field="Content-Type", value=kind,
            fix="send one of " + ", ".join(SUPPORTED))
    return kind


def decode_json(body: bytes, *, where: str = "body") -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClientError(f"{where} is not valid JSON: {exc}", field=where,
                          fix='send e.g. {"text_inputs": "hello"}') from None


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def error_reply(exc: SpringboardError, *, runtime_shape: bool,
                headers: dict[str, str] | None = None) -> Reply:
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
            body.update({
                "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
                "message": f'Received {side} error ({status}) from primary with message "{exc}".',
                "OriginalStatusCode": status,
                "OriginalMessage": json.dumps({"error": exc.to_dict()}),
            })
            status = 424
    return Reply(status=status, body=dumps(body), headers=headers)


def unknown_endpoint_reply(name: str, served: str) -> Reply:
    """The runtime's answer for a name this server does not serve (a ValidationError)."""
    exc = NotFoundError(f"endpoint {name} is not served here", field="name", value=name,
                        fix=f"this server is endpoint {served}")
    body = {"error": exc.to_dict(), "message": f"Endpoint {name} not found."}
    return Reply(400, dumps(body), headers={"x-amzn-ErrorType": VALIDATION_TYPE})
