"""The OpenAI routes of one endpoint: `GET /v1/models`, `POST /v1/completions`,
`POST /v1/chat/completions` — plain JSON, or server-sent events with `stream: true`.

Each route parses (protocol), translates (translation), calls the endpoint's
`EndpointService` (plan → generate | stream) and renders. A request for another model is
a 404 naming the models served here; a client that goes away mid-stream has its rows freed
by the service. The gateway on `springboard serve` forwards to these routes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from springboard.api.openai import sse
from springboard.api.openai.protocol import (
    ChatRequest,
    CompletionRequest,
    ModelCard,
    ModelList,
    error_body,
    parse_request,
    unknown_model,
)
from springboard.api.openai.translation import (
    Plan,
    chunk,
    delta_choice,
    plan_chat,
    plan_completion,
    response,
    usage,
)
from springboard.errors import ContextLengthError
from springboard.prompting.chat import ChatTemplate
from springboard.serving.protocol import decode_json, wait_for_disconnect
from springboard.serving.service import public_error
from springboard.serving.streams import TokenStream, started


def error_response(exc: BaseException, request_id: str | None = None) -> JSONResponse:
    """An OpenAI error body; a server failure shows only a request id (the log has the rest)."""
    status, body = error_body(public_error(exc, request_id or uuid.uuid4().hex))
    return JSONResponse(
        body, status_code=status, headers={"Retry-After": "1"} if status == 503 else None
    )


def parse_body(raw: bytes, model: type[pydantic.BaseModel]) -> Any:
    """The request shape from a JSON body, or a ValidationError naming each field."""
    return parse_request(decode_json(raw), model)


def create_router(service: Any) -> APIRouter:
    """The routes for an endpoint's `EndpointService` (named after the endpoint)."""
    router = APIRouter(prefix="/v1", tags=["OpenAI"])
    created = int(time.time())
    names = {service.name, service.spec.id, *service.spec.aliases}
    chat: dict[str, ChatTemplate] = {}

    def card() -> ModelCard:
        return ModelCard(id=service.name, created=created, root=service.spec.id)

    def check_model(model: str) -> None:
        if model not in names:
            raise unknown_model(model, [service.name])
        if not service.ready:
            from springboard.serving.service import NotReadyError

            raise NotReadyError(
                f"endpoint {service.name} is still loading its model",
                fix="retry when GET /ping answers 200",
            )

    def template() -> ChatTemplate:
        if "t" not in chat:
            chat["t"] = ChatTemplate(
                service.generator.tokenizer,
                service.spec.id,
                template_path=getattr(service.settings, "chat_template", None),
            )
        return chat["t"]

    @router.get("/models", response_model=ModelList, summary="The model this endpoint serves")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [card().model_dump()]}

    @router.get("/models/{model}", response_model=ModelCard, summary="One model")
    async def model(model: str) -> Response:
        if model not in names:
            return error_response(unknown_model(model, [service.name]))
        return JSONResponse(card().model_dump())

    def counted(reply: Response, started: float) -> Response:
        """Counted in the endpoint's request metrics as invocations are (a stream: until
        its first bytes are ready)."""
        service.record_request(reply.status_code, time.monotonic() - started)
        return reply

    @router.post("/completions", summary="Completions (plain or streamed)")
    async def completions(request: Request) -> Response:
        started = time.monotonic()
        try:
            body = parse_body(await request.body(), CompletionRequest)
            check_model(body.model)
            plan = plan_completion(body, model=body.model, limits=service.settings.request_limits())
            return counted(await run(plan, request), started)
        except Exception as exc:  # noqa: BLE001 (every failure answers as an OpenAI error object)
            return counted(error_response(exc, request.headers.get("x-request-id")), started)

    @router.post("/chat/completions", summary="Chat completions (plain or streamed)")
    async def chat_completions(request: Request) -> Response:
        started = time.monotonic()
        try:
            body = parse_body(await request.body(), ChatRequest)
            check_model(body.model)
            prompt = template().render(body.messages)
            plan = plan_chat(
                body,
                prompt,
                model=body.model,
                limits=service.settings.request_limits(),
                chat_stop=service.spec.chat_stop,
                context_length=service.generator.context_length,
            )
            return counted(await run(plan, request), started)
        except Exception as exc:  # noqa: BLE001 (every failure answers as an OpenAI error object)
            return counted(error_response(exc, request.headers.get("x-request-id")), started)

    async def run(plan: Plan, request: Request) -> Response:
        try:
            planned = await service.plan(
                plan.prompts,
                plan.params,
                input_field="messages" if plan.kind == "chat" else "prompt",
            )
        except ContextLengthError as exc:  # the fix in OpenAI's words
            exc.fix = (exc.fix or "").replace("max_new_tokens", "max_tokens")
            raise
        if not plan.stream:
            results = await service.generate(
                planned, until_gone=lambda: wait_for_disconnect(request.receive)
            )
            return JSONResponse(response(plan, results, hidden=service.generator.eos_ids))
        events = await started(service.stream(planned))
        return StreamingResponse(
            _stream(plan, events, service.generator.eos_ids),
            media_type=sse.MEDIA_TYPE,
            headers=sse.HEADERS,
        )

    return router


async def _stream(plan: Plan, events: TokenStream, hidden: set[int]) -> AsyncIterator[bytes]:
    """The chunks of one streamed answer, the events ready together written at once; the
    service cancels the work if this stops early (the client went away). Tokens in
    `hidden` (end of sequence) have no logprobs entry, as OpenAI shows none for them."""
    offsets = [0] * plan.choices
    totals = [0, 0]  # prompt and completion tokens

    def render(event: Any) -> bytes:
        index = plan.choice(event.item, event.seq)
        if event.finish_reason is not None:
            totals[1] += event.output_tokens
            if event.seq == 0 and plan.counted_prompt(event.item):
                totals[0] += event.input_tokens
        entries = (
            [e for e in event.logprobs if e.token_id not in hidden]
            if event.logprobs is not None
            else None
        )
        if event.finish_reason is None and not event.text and not entries:
            return b""
        choice = delta_choice(
            plan,
            index,
            event.text,
            reason=event.finish_reason,
            entries=entries,
            offset=offsets[index],
        )
        offsets[index] += len(event.text)
        return sse.event(chunk(plan, [choice]))

    # the role comes first, once per choice, with the first text
    head = (
        sse.event(
            chunk(plan, [delta_choice(plan, i, None, role=True) for i in range(plan.choices)])
        )
        if plan.kind == "chat"
        else b""
    )
    try:
        async for event in events:
            out = head + b"".join(render(e) for e in [event, *events.ready_now()])
            head = b""
            if out:
                yield out
        tail = (
            sse.event(chunk(plan, [], usage_totals=usage(*totals))) if plan.include_usage else b""
        )
        yield head + tail + sse.DONE
    except Exception as exc:  # noqa: BLE001 (after the headers: an error event, as OpenAI sends one)
        yield sse.event(json.loads(bytes(error_response(exc).body)))
    finally:
        await events.aclose()
