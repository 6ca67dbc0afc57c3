"""Calling an endpoint over HTTP, as the CLI's `invoke` and the SDK's `Predictor` do.

Error responses come back as typed errors (`EndpointClientError` for 4xx,
`EndpointServerError` for 5xx) carrying the server's message and field.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from springboard.errors import ClientError, ServerError, SpringboardError
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
    exc: SpringboardError = cls(f"HTTP {response.status_code}: {error.get('message', '')}",
                                field=error.get("field"))
    exc.http_status = response.status_code
    exc.code = error.get("code", exc.code)
    raise exc


def invoke(name: str, body: bytes | str | dict[str, Any] | list[Any], *,
           content_type: str = "application/json", timeout: float = 600.0) -> httpx.Response:
    """POST `body` to endpoint `name`'s /invocations; raise typed errors for 4xx/5xx."""
    url = url_of(name)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    headers = {"Content-Type": content_type}
    if os.environ.get("SPRINGBOARD_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['SPRINGBOARD_API_KEY']}"
    try:
        response = httpx.post(f"{url}/invocations", content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise EndpointServerError(f"could not reach endpoint {name} at {url}: {exc}",
                                  field="name", value=name,
                                  fix=f"check `springboard endpoints describe {name}`") from exc
    _raise_for(response)
    return response


def decode(response: httpx.Response) -> Any:
    """The response body: JSON, or a list of JSON values for JSON Lines."""
    if "jsonlines" in response.headers.get("content-type", ""):
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return response.json()
