"""Calling an endpoint over HTTP, as the CLI's `invoke` and `chat` and the SDK's
`Predictor` do: one request, a streamed one (JSON lines), or a streamed chat reply
(the endpoint's OpenAI route, server-sent events).

Error responses come back as typed errors (`EndpointClientError` for 4xx,
`EndpointServerError` for 5xx) carrying the server's message and field. The API key, when
one is set, is the servers' own setting (`SPRINGBOARD_API_KEY`), sent as a bearer token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from springboard.errors import ClientError, ServerError, SpringboardError
from springboard.http_server import configured_api_key
from springboard.serving.endpoints import url_of


class EndpointClientError(ClientError):
    code = "endpoint_client_error"


class EndpointServerError(ServerError):
    code = "endpoint_server_error"


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json().get("error", {})
    except (json.JSONDecodeError, AttributeError):
        error = {"message": response.text[:500]}
    cls = EndpointClientError if response.status_code < 500 else EndpointServerError
    exc: SpringboardError = cls(
        f"HTTP {response.status_code}: {error.get('message', '')}", field=error.get("field")
    )
    exc.http_status = response.status_code
    exc.code = error.get("code", exc.code)
    raise exc


def _headers(content_type: str) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    key = configured_api_key()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _unreachable(name: str, url: str, exc: Exception) -> EndpointServerError:
    return EndpointServerError(
        f"could not reach endpoint {name} at {url}: {exc}",
        field="name",
        value=name,
        fix=f"check `springboard endpoints describe {name}`",
    )


def invoke(
    name: str,
    body: bytes | str | dict[str, Any] | list[Any],
    *,
    content_type: str = "application/json",
    timeout: float = 600.0,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `body` to endpoint `name`'s /invocations; raise typed errors for 4xx/5xx.
    `headers` go with it (e.g. X-Amzn-SageMaker-Custom-Attributes)."""
    url = url_of(name)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    try:
        response = httpx.post(
            f"{url}/invocations",
            content=body,
            headers={**_headers(content_type), **(headers or {})},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise _unreachable(name, url, exc) from exc
    _raise_for(response)
    return response


@contextmanager
def _streamed(
    name: str, path: str, body: dict[str, Any], timeout: float
) -> Iterator[httpx.Response]:
    url = url_of(name)
    try:
        with httpx.stream(
            "POST",
            f"{url}{path}",
            content=json.dumps(body),
            headers=_headers("application/json"),
            timeout=httpx.Timeout(10.0, read=timeout),
        ) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            yield response
    except httpx.HTTPError as exc:
        raise _unreachable(name, url, exc) from exc


def stream_invoke(
    name: str, payload: dict[str, Any], *, timeout: float = 600.0
) -> Iterator[dict[str, Any]]:
    """POST `payload` with `"stream": true` to /invocations; yield each JSON line as it
    comes (`{"index", "token": {"text"}}`, and per sequence a last line with
    `generated_text` and `details`)."""
    with _streamed(name, "/invocations", {**payload, "stream": True}, timeout) as response:
        for line in response.iter_lines():
            if line.strip():
                data = json.loads(line)
                if "error" in data and "token" not in data:
                    raise _line_error(data["error"])
                yield data


def stream_chat(
    name: str, messages: list[dict[str, str]], *, timeout: float = 600.0, **parameters: Any
) -> Iterator[str]:
    """Stream a chat completion from endpoint `name` (its OpenAI route): yield the reply's
    text pieces as they are generated."""
    body = {"model": name, "messages": messages, "stream": True, **parameters}
    with _streamed(name, "/v1/chat/completions", body, timeout) as response:
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line[len("data: ") :]
            if data == "[DONE]":
                return
            event = json.loads(data)
            if "error" in event:
                raise _line_error(event["error"])
            for choice in event.get("choices", []):
                if choice.get("delta", {}).get("content"):
                    yield choice["delta"]["content"]


def _line_error(error: dict[str, Any]) -> SpringboardError:
    return EndpointServerError(
        error.get("message", "the endpoint failed mid-stream"),
        field=error.get("param") or error.get("field"),
    )


def decode(response: httpx.Response) -> Any:
    """The response body: JSON, or a list of JSON values for JSON Lines."""
    if "jsonlines" in response.headers.get("content-type", ""):
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return response.json()
