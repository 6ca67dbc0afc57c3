"""The control plane's way to an endpoint: which InService endpoint a request names, and
one HTTP client that forwards a request to it and streams the answer back.

Every protocol the control plane routes (the OpenAI gateway, the Bedrock runtime, the
SageMaker runtime's paths) resolves its target here and sends through `Upstream`, which
adds the server's own API key (`SPRINGBOARD_API_KEY`) and the caller's request id. It
translates nothing: each protocol's module shapes requests, answers and errors.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from springboard.errors import NotFoundError, ServerError, ValidationError


class EndpointUnavailableError(ServerError):
    code = "endpoint_unavailable"
    http_status = 503


def in_service() -> list[Any]:
    """The endpoints that are InService, as `EndpointInfo`s."""
    from springboard.serving import endpoints

    return [e for e in endpoints.list_endpoints() if e.status == "InService" and e.url]


def endpoint_for(model: str, *, field: str = "model", by_model_id: bool = True) -> Any:
    """The InService endpoint `model` names: an endpoint name first, then (with
    `by_model_id`) the catalog id or alias of the model one serves."""
    from springboard.catalog import Catalog

    live = in_service()
    for info in live:
        if info.name == model:
            return info
    if by_model_id:
        try:
            wanted: str | None = Catalog.load().get(model).id
        except (NotFoundError, ValidationError):
            wanted = None
        for info in live:
            if wanted is not None and info.model_id == wanted:
                return info
    raise NotFoundError(
        f"no InService endpoint is named {model!r}"
        + (" or serves that model" if by_model_id else ""),
        field=field,
        value=model,
        fix="InService endpoints: "
        + (", ".join(e.name for e in live) or "none (deploy one with `springboard deploy`)"),
    )


class Upstream:
    """Forwards requests to endpoints, streaming their answers (one connection pool)."""

    def __init__(self, api_key: str | None) -> None:
        self._api_key = api_key
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))

    async def send(
        self,
        target: Any,
        path: str,
        body: bytes,
        *,
        headers: dict[str, str] | None = None,
        request_id: str | None = None,
    ) -> httpx.Response:
        """POST `body` to `path` on the endpoint `target`; the response is open for
        streaming: close it (`aclose`) when done. Raises `EndpointUnavailableError` when
        the endpoint does not answer."""
        sent = {"content-type": "application/json", **(headers or {})}
        if self._api_key:
            sent["authorization"] = f"Bearer {self._api_key}"
        if request_id:
            sent["x-request-id"] = request_id
        try:
            return await self._client.send(
                self._client.build_request("POST", target.url + path, content=body, headers=sent),
                stream=True,
            )
        except httpx.TransportError:
            raise EndpointUnavailableError(
                f"endpoint {target.name} did not answer",
                field="model",
                value=target.name,
                fix=f"see `springboard endpoints describe {target.name}`",
            ) from None


def relay(answer: httpx.Response, passed: tuple[str, ...]) -> StreamingResponse:
    """The endpoint's answer as it comes (status, the headers named in `passed`, bytes
    unbuffered); the upstream response is closed when it has been sent or the caller left."""
    headers = {k: v for k, v in answer.headers.items() if k.lower() in passed}
    return StreamingResponse(
        answer.aiter_raw(),
        status_code=answer.status_code,
        headers=headers,
        background=BackgroundTask(answer.aclose),
    )
