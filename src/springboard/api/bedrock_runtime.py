"""The Bedrock runtime on the control plane: `InvokeModel`, `InvokeModelWithResponseStream`,
`Converse` and `ConverseStream`, so that boto3's `bedrock-runtime` client, pointed at
`springboard serve` with `endpoint_url`, calls Springboard endpoints unchanged.

`modelId` names an InService endpoint (its name, or the catalog id of the model one
serves). InvokeModel sends the body to the endpoint's `/invocations` as it is (the
endpoint's own payload, e.g. `{"inputs": ..., "parameters": {...}}`); the stream variant
asks for the endpoint's token stream and sends each line as a `chunk` event
(`{"bytes": <base64 of the line>}`). Converse goes through the endpoint's OpenAI chat route
(its chat template), translated by `api.converse`. Errors come back in the runtime's
shape (`x-amzn-errortype`, `{"message"}`), an endpoint's refusal under the name and
status the runtime's service model gives it; a failure after a stream has started is a
`modelStreamErrorException` event. The routes only parse, forward and translate.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from springboard.api import converse, eventstream
from springboard.api.bedrock import error_reply, error_response
from springboard.api.upstream import Upstream, endpoint_for
from springboard.errors import Issue, SpringboardError, ValidationError

# An endpoint's HTTP status -> (the runtime's error name, its status), from the service model.
UPSTREAM_ERRORS = {
    400: ("ValidationException", 400),
    401: ("AccessDeniedException", 403),
    403: ("AccessDeniedException", 403),
    404: ("ResourceNotFoundException", 404),
    408: ("ModelTimeoutException", 408),
    413: ("ValidationException", 400),
    415: ("ValidationException", 400),
    422: ("ValidationException", 400),
    429: ("ThrottlingException", 429),
    503: ("ServiceUnavailableException", 503),
    504: ("ModelTimeoutException", 408),
}
MODEL_ERROR = ("ModelErrorException", 424)
STREAM_ERROR = "modelStreamErrorException"


def _message(body: bytes) -> tuple[str, str | None]:
    """The message and the refused parameter of an endpoint's error body (either shape)."""
    try:
        error = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:500] or "the endpoint failed", None
    inner = error.get("error") if isinstance(error, dict) else None
    if isinstance(inner, dict):
        return str(inner.get("message", "")), inner.get("param") or inner.get("field")
    if isinstance(error, dict) and "message" in error:
        return str(error["message"]), None
    return str(error)[:500], None


async def _refusal(answer: httpx.Response, *, chat: bool) -> JSONResponse:
    """The endpoint's error answer in the runtime's shape."""
    body = await answer.aread()
    await answer.aclose()
    name, status = UPSTREAM_ERRORS.get(answer.status_code, MODEL_ERROR)
    message, param = _message(body)
    field = converse.bedrock_field(param) if chat else param
    if field and not message.startswith(field):
        message = f"{field}: {message}"
    if (name, status) == MODEL_ERROR:
        message = f"the model's endpoint answered {answer.status_code}: {message}"
    return error_reply(name, status, message)


def _stream_failure(message: str) -> bytes:
    return eventstream.exception(STREAM_ERROR, {"message": message, "originalStatusCode": 500})


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ValidationError([Issue("body", f"is not valid JSON ({exc})")]) from None
    if not isinstance(body, dict):
        raise ValidationError([Issue("body", "must be a JSON object", type(body).__name__)])
    return body


def create_runtime_router(api_key: str | None) -> APIRouter:
    """The runtime's routes; `api_key` (the control plane's) is what endpoints require."""
    router = APIRouter(tags=["Bedrock runtime"])
    upstream = Upstream(api_key)

    async def open_answer(
        model_id: str, path: str, body: bytes, request: Request, headers: dict[str, str]
    ) -> httpx.Response:
        target = endpoint_for(model_id, field="modelId")
        return await upstream.send(
            target, path, body, headers=headers, request_id=request.headers.get("x-request-id")
        )

    @router.post("/model/{modelId}/invoke", summary="InvokeModel: the endpoint's own payload")
    async def invoke_model(modelId: str, request: Request) -> Response:
        headers = {
            "content-type": request.headers.get("content-type") or "application/json",
            "accept": request.headers.get("accept") or "application/json",
        }
        try:
            answer = await open_answer(
                modelId, "/invocations", await request.body(), request, headers
            )
        except SpringboardError as exc:
            return error_response(exc)
        if answer.status_code != 200:
            return await _refusal(answer, chat=False)
        body = await answer.aread()
        await answer.aclose()
        return Response(body, media_type=answer.headers.get("content-type", "application/json"))

    @router.post(
        "/model/{modelId}/invoke-with-response-stream",
        summary="InvokeModelWithResponseStream: the endpoint's token stream as `chunk` events",
    )
    async def invoke_model_stream(modelId: str, request: Request) -> Response:
        try:
            payload = _json_object(await request.body())
            payload["stream"] = True
            answer = await open_answer(
                modelId, "/invocations", json.dumps(payload).encode(), request, {}
            )
        except SpringboardError as exc:
            return error_response(exc)
        if answer.status_code != 200:
            return await _refusal(answer, chat=False)

        async def chunks() -> AsyncIterator[bytes]:
            async for line in answer.aiter_lines():
                if not line:
                    continue
                if line.startswith('{"error"'):
                    yield _stream_failure(_message(line.encode())[0])
                    return
                encoded = base64.b64encode(line.encode()).decode()
                yield eventstream.json_event("chunk", {"bytes": encoded})

        return _event_stream(chunks(), answer, {"X-Amzn-Bedrock-Content-Type": "application/json"})

    async def open_chat(modelId: str, request: Request, *, stream: bool) -> Any:
        """The endpoint's open chat answer, or the runtime's error response."""
        try:
            chat = converse.to_chat(_json_object(await request.body()), modelId, stream=stream)
            answer = await open_answer(
                modelId, "/v1/chat/completions", json.dumps(chat).encode(), request, {}
            )
        except SpringboardError as exc:
            return error_response(exc)
        if answer.status_code != 200:
            return await _refusal(answer, chat=True)
        return answer

    @router.post("/model/{modelId}/converse", summary="Converse: a chat turn (text)")
    async def converse_route(modelId: str, request: Request) -> Response:
        started = time.monotonic()
        answer = await open_chat(modelId, request, stream=False)
        if isinstance(answer, Response):
            return answer
        reply = json.loads(await answer.aread())
        await answer.aclose()
        return JSONResponse(converse.from_chat(reply, _ms_since(started)))

    @router.post(
        "/model/{modelId}/converse-stream", summary="ConverseStream: a chat turn, streamed"
    )
    async def converse_stream(modelId: str, request: Request) -> Response:
        started = time.monotonic()
        answer = await open_chat(modelId, request, stream=True)
        if isinstance(answer, Response):
            return answer

        async def events() -> AsyncIterator[bytes]:
            translator = converse.StreamTranslator()
            async for line in answer.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[len("data: ") :])
                if "error" in chunk:
                    yield _stream_failure(str(chunk["error"].get("message", "the model failed")))
                    return
                for name, body in translator.events(chunk, _ms_since(started)):
                    yield eventstream.json_event(name, body)

        return _event_stream(events(), answer, {})

    return router


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


async def _guarded(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`events`, ended by a `modelStreamErrorException` event if the endpoint's answer
    breaks off (the status line has been sent: an HTTP error can no longer say it)."""
    try:
        async for event in events:
            yield event
    except httpx.HTTPError as exc:
        yield _stream_failure(f"the endpoint's stream broke off ({type(exc).__name__})")


def _event_stream(
    events: AsyncIterator[bytes], answer: httpx.Response, headers: dict[str, str]
) -> StreamingResponse:
    return StreamingResponse(
        _guarded(events),
        media_type=eventstream.MEDIA_TYPE,
        headers=headers,
        background=BackgroundTask(answer.aclose),
    )
