"""What an endpoint does with an invocation: decode, check, queue, await, render.

The HTTP routes hand the raw body and content type here and send back the `Reply`; this
is also where request ids, timing headers and metrics are produced. A bad request, or
one over the deployment's request limits, is refused before it reaches the batch queue,
so it never affects other requests. Decoding, validating and tokenizing run on a worker
thread, so a big prompt never stalls the event loop (`/ping` answers meanwhile). A
request whose caller has gone — the 504 timeout, or the client disconnecting — is
cancelled: its queued work is dropped and its rows stop decoding.

Protocol layers that build their own requests (the OpenAI API) use the layer below
`invoke`: `plan` (check and tokenize), then `generate` (queue and await the results) or
`stream` (queue and iterate over `TokenEvent`s as tokens come, `serving.streams`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from springboard.catalog import ModelSpec
from springboard.errors import (
    ClientError,
    Issue,
    PayloadTooLargeError,
    ServerError,
    SpringboardError,
    ValidationError,
)
from springboard.http_server import internal_error
from springboard.inference.generator import Generator, Planned
from springboard.inference.params import DecodingParams
from springboard.inference.payloads import GenerationResult, ParsedRequest, render_response
from springboard.inference.planned import require_streamable
from springboard.serving.batcher import Batcher, BatchRequest, RequestCancelledError
from springboard.serving.metrics import ServerMetrics
from springboard.serving.protocol import (
    JSONLINES,
    TEXT,
    Reply,
    TimeoutError_,
    decode_json,
    dumps,
    error_reply,
    media_type,
)
from springboard.serving.settings import DeploymentSettings
from springboard.serving.streams import EventBuilder, LoopWaker, TokenFeed, TokenStream

T = TypeVar("T")

log = logging.getLogger("springboard.serving")


class NotReadyError(ServerError):
    code = "model_loading"
    http_status = 503


@dataclass
class _Outcome:
    body: Any
    input_tokens: int
    output_tokens: int
    model_ms: float
    queue_ms: float


class EndpointService:
    """One endpoint's model, batcher and metrics, and the invocation logic over them."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        settings: DeploymentSettings,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.settings = settings
        self.metrics = metrics or ServerMetrics()
        self.generator: Generator | None = None
        self.batcher: Batcher | None = None
        self.load_error: str | None = None
        self.scheduler: str | None = None  # chosen when the model is attached
        self._loop_waker: tuple[asyncio.AbstractEventLoop, LoopWaker] | None = None

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    def attach(self, generator: Generator) -> None:
        """Start serving with a loaded generator, batching as the settings say."""
        from springboard.serving.continuous import ContinuousBatcher, supports_continuous

        mode = self.settings.rolling_batch
        if mode == "continuous" and not supports_continuous(generator):
            raise ValidationError(
                [
                    Issue(
                        "OPTION_ROLLING_BATCH",
                        f"continuous batching does not support {self.spec.id} "
                        f"({generator.task.value}, {generator.model.config.model_type})",
                        mode,
                        "use OPTION_ROLLING_BATCH=dynamic or auto",
                    )
                ]
            )
        continuous = mode != "dynamic" and supports_continuous(generator)
        batcher = (ContinuousBatcher if continuous else Batcher)(
            generator, self.settings, self.metrics
        )
        batcher.start()
        self.generator, self.batcher = generator, batcher
        self.scheduler = "continuous" if continuous else "dynamic"
        backend = getattr(generator, "backend", "torch")  # the backend `auto` resolved to
        quantization = getattr(generator, "quantization", None) or self.settings.dtype
        self.metrics.backend.labels(backend=backend, quantization=quantization).set(1)

    def shutdown(self) -> None:
        if self.batcher is not None:
            self.batcher.stop()

    async def invoke(
        self,
        body: bytes,
        content_type: str | None,
        *,
        runtime_shape: bool,
        request_id: str | None = None,
        until_gone: Callable[[], Awaitable[Any]] | None = None,
    ) -> Reply:
        """Answer one invocation. `until_gone()`, when given, returns once the client has
        disconnected; the work is then cancelled and a 499 (sent to nobody) comes back."""
        started = time.monotonic()
        request_id = request_id or uuid.uuid4().hex
        headers = {"X-Request-Id": request_id, "X-Springboard-Model-Id": self.spec.id}
        try:
            reply = await _unless_gone(self._invoke(body, content_type, headers), until_gone)
        except Exception as exc:  # noqa: BLE001 (a bug must still answer JSON, never drop the connection)
            reply = error_reply(
                public_error(exc, request_id), runtime_shape=runtime_shape, headers=headers
            )
        elapsed = time.monotonic() - started
        reply.headers["X-Springboard-Total-Time-Ms"] = f"{elapsed * 1000:.1f}"
        self.record_request(reply.status, elapsed)
        return reply

    def record_request(self, status: int, seconds: float) -> None:
        """Count one answered request in the metrics (by HTTP status) and its latency."""
        self.metrics.requests.labels(status=str(status)).inc()
        self.metrics.latency.observe(seconds)

    # -- the layer protocol translations call -------------------------------------------

    async def plan(
        self,
        prompts: Sequence[str],
        params: DecodingParams | Sequence[DecodingParams],
        *,
        input_field: str | None = None,
    ) -> list[Planned]:
        """Check and tokenize prompts within this deployment's limits, off the event loop.
        Raises `ClientError`s (`ValidationError`, `ContextLengthError`) naming the
        prompts `input_field` (by default the payload's field)."""
        generator = self._serving()[0]
        return await asyncio.to_thread(
            generator.plan,
            list(prompts),
            params,
            limits=self.settings.request_limits(),
            input_field=input_field,
        )

    async def generate(
        self,
        planned: list[Planned],
        *,
        until_gone: Callable[[], Awaitable[Any]] | None = None,
    ) -> list[GenerationResult]:
        """Queue planned prompts and await one result each, in order. After
        SAGEMAKER_MODEL_SERVER_TIMEOUT the work is cancelled and `TimeoutError_` (504)
        raised; when `until_gone()` returns first (the client left), the work is
        cancelled and `RequestCancelledError` raised. Counts the tokens in the metrics."""
        self._serving()
        results, _ = await _unless_gone(self._run(planned, self._split_size(planned)), until_gone)
        self._count_tokens(
            sum(r.input_tokens for r in results), sum(sum(r.output_tokens) for r in results)
        )
        return results

    def stream(self, planned: list[Planned]) -> TokenStream:
        """Queue planned prompts and return the async iterator of their `TokenEvent`s
        (rules in `serving.streams`). Call it from the event loop; refusals (beam search:
        `ClientError` naming `num_beams`; a full queue: 503) are raised here, before any
        event."""
        generator, batcher = self._serving()
        require_streamable(planned)
        feed = TokenFeed(self._waker(), self.settings.stream_interval_ms / 1000)
        size = self._split_size(planned)
        batch_requests: list[tuple[int, BatchRequest]] = []
        try:
            for n, start in enumerate(range(0, len(planned), size)):
                batch_request = batcher.submit(
                    planned[start : start + size], on_token=feed.listener(start)
                )
                batch_request.future.add_done_callback(feed.ender(n))
                batch_requests.append((start, batch_request))
        except SpringboardError:
            for _, batch_request in batch_requests:
                batch_request.cancel()
            raise
        return TokenStream(
            batch_requests,
            feed,
            EventBuilder(generator, planned),
            timeout=self.settings.model_server_timeout,
            metrics=self.metrics,
        )

    def _waker(self) -> LoopWaker:
        """The waker of the running event loop (one per loop, shared by its streams)."""
        loop = asyncio.get_running_loop()
        if self._loop_waker is None or self._loop_waker[0] is not loop:
            self._loop_waker = (loop, LoopWaker(loop))
        return self._loop_waker[1]

    def _serving(self) -> tuple[Generator, Batcher]:
        if self.generator is None or self.batcher is None:
            raise NotReadyError(
                f"endpoint {self.name} is still loading its model",
                fix="retry when GET /ping answers 200",
            )
        return self.generator, self.batcher

    async def _invoke(
        self, body: bytes, content_type: str | None, headers: dict[str, str]
    ) -> Reply:
        self._serving()
        limit = int(self.settings.max_payload_mb * 1024 * 1024)
        if len(body) > limit:
            raise PayloadTooLargeError(
                f"the request body is {len(body)} bytes; this endpoint accepts at most {limit}",
                field="body",
                value=len(body),
                fix="split the inputs over several requests",
            )
        kind = media_type(content_type)
        if kind in JSONLINES:
            lines = [line for line in body.splitlines() if line.strip()]
            most = self.settings.max_inputs
            if len(lines) > most:
                raise ClientError(
                    f"the JSON Lines body has {len(lines)} lines; at most {most} are accepted "
                    "(limit max_inputs)",
                    field="body",
                    value=len(lines),
                    fix="split it over several requests; an endpoint can allow more with "
                    "SPRINGBOARD_MAX_INPUTS",
                )
            outcomes = await asyncio.gather(
                *(self._line(line, n, headers["X-Request-Id"]) for n, line in enumerate(lines))
            )
            self._usage_headers(headers, [o for o in outcomes if isinstance(o, _Outcome)])
            answers = [o.body if isinstance(o, _Outcome) else o for o in outcomes]
            return Reply(
                200,
                b"\n".join(dumps(a) for a in answers) + b"\n",
                media_type="application/jsonlines",
                headers=headers,
            )
        if kind in TEXT:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ClientError("the text body is not UTF-8", field="body") from None
            outcome = await self._payload(lambda: {self._input_field(): text})
            outcome.body = {"generated_text": _first_text(outcome.body)}
        else:
            outcome = await self._payload(functools.partial(decode_json, body))
        self._usage_headers(headers, [outcome])
        return Reply(200, dumps(outcome.body), headers=headers)

    async def _line(self, line: bytes, number: int, request_id: str) -> _Outcome | dict[str, Any]:
        where = f"line {number + 1}"
        try:
            return await self._payload(
                functools.partial(decode_json, line, where=where), where=where
            )
        except SpringboardError as exc:  # this line's own failure; its siblings go on
            return {"error": public_error(exc, f"{request_id}/{number + 1}").to_dict()}

    def _input_field(self) -> str:
        assert self.generator is not None
        return self.generator.input_field

    def _prepare(
        self, payload: Callable[[], Any], where: str
    ) -> tuple[ParsedRequest, list[Planned]]:
        """Decode, validate (within the deployment's limits) and tokenize: the part of a
        request whose cost grows with its size, so it runs on a worker thread."""
        assert self.generator is not None
        limits = self.settings.request_limits()
        try:
            request = self.generator.parse(payload(), limits=limits)
        except RecursionError:  # a parser deeper than our own nesting check
            raise ClientError(
                f"{where} nests arrays/objects too deeply",
                field=where,
                fix='send a flat payload, e.g. {"inputs": "hello"}',
            ) from None
        return request, self.generator.plan(request.prompts, request.params, limits=limits)

    def _split_size(self, planned: Sequence[Planned], batch_size: int | None = None) -> int:
        """Prompts per batch request: `batch_size`, and no more rows than one batch holds, so a
        list input cannot take over a continuous batch in one prefill."""
        rows = max(planned[0].rows, 1) if planned else 1
        return max(1, min(batch_size or len(planned), self.settings.max_rolling_batch_size // rows))

    async def _payload(self, payload: Callable[[], Any], *, where: str = "body") -> _Outcome:
        try:
            request, planned = await asyncio.to_thread(self._prepare, payload, where)
        except asyncio.CancelledError:  # the client has gone
            self._cancel([], "client_gone")
            raise
        results, batch_requests = await self._run(
            planned, self._split_size(planned, request.batch_size)
        )
        return _Outcome(
            body=render_response(request, results),
            input_tokens=sum(r.input_tokens for r in results),
            output_tokens=sum(sum(r.output_tokens) for r in results),
            # the span the model worked on it (its batch requests may share passes)
            model_ms=(
                max(j.finished for j in batch_requests) - min(j.started for j in batch_requests)
            )
            * 1000,
            queue_ms=max((j.started - j.enqueued) for j in batch_requests) * 1000,
        )

    async def _run(
        self, planned: list[Planned], size: int
    ) -> tuple[list[GenerationResult], list[BatchRequest]]:
        """Queue `planned` in batch requests of `size` prompts and await their results, in order."""
        batcher = self._serving()[1]
        batch_requests: list[BatchRequest] = []
        try:
            batch_requests = [
                batcher.submit(planned[i : i + size]) for i in range(0, len(planned), size)
            ]
            waiting = [
                asyncio.wrap_future(batch_request.future) for batch_request in batch_requests
            ]
            try:
                parts = await asyncio.wait_for(
                    asyncio.gather(*waiting), timeout=self.settings.model_server_timeout
                )
            except TimeoutError:
                self._cancel(batch_requests, "timeout")
                raise TimeoutError_(
                    f"the request took longer than {self.settings.model_server_timeout:g} s",
                    field="SAGEMAKER_MODEL_SERVER_TIMEOUT",
                    fix="ask for fewer tokens, or deploy with a larger SAGEMAKER_MODEL_SERVER_TIMEOUT",
                ) from None
        except asyncio.CancelledError:  # the client has gone
            self._cancel(batch_requests, "client_gone")
            raise
        except SpringboardError:
            for (
                batch_request
            ) in batch_requests:  # e.g. the queue filled up after the first micro-batch
                batch_request.cancel()
            raise
        return [r for part in parts for r in part], batch_requests

    def _cancel(self, batch_requests: list[BatchRequest], reason: str) -> None:
        """Nobody waits for these batch requests any more: drop them from the queue or stop their rows."""
        for batch_request in batch_requests:
            batch_request.cancel()
        self.metrics.cancelled_requests.labels(reason=reason).inc()

    def _count_tokens(self, tokens_in: int, tokens_out: int) -> None:
        self.metrics.tokens.labels(direction="in").inc(tokens_in)
        self.metrics.tokens.labels(direction="out").inc(tokens_out)

    def _usage_headers(self, headers: dict[str, str], outcomes: list[_Outcome]) -> None:
        tokens_in = sum(o.input_tokens for o in outcomes)
        tokens_out = sum(o.output_tokens for o in outcomes)
        self._count_tokens(tokens_in, tokens_out)
        headers.update(
            {
                "X-Springboard-Input-Tokens": str(tokens_in),
                "X-Springboard-Output-Tokens": str(tokens_out),
                "X-Springboard-Model-Time-Ms": f"{sum(o.model_ms for o in outcomes):.1f}",
                "X-Springboard-Queue-Time-Ms": f"{max((o.queue_ms for o in outcomes), default=0):.1f}",
            }
        )


async def _unless_gone(work: Awaitable[T], until_gone: Callable[[], Awaitable[Any]] | None) -> T:
    """`work`'s answer, or `RequestCancelledError` once `until_gone()` returns first (the
    work is then cancelled, which cancels its batch requests)."""
    if until_gone is None:
        return await work
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(until_gone())
    try:
        done, _ = await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the server itself is stopping
        task.cancel()
        gone.cancel()
        raise
    gone.cancel()
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)  # let it cancel its batch requests
    raise RequestCancelledError(
        "the client disconnected before the answer was ready", field="connection"
    )


def public_error(exc: BaseException, request_id: str) -> SpringboardError:
    """What the caller may see of `exc`: a client error or an overload as it is; any other
    failure as a bare "internal error" with the request id, the detail going to the log
    (a model's or library's message can name files and internals)."""
    if isinstance(exc, SpringboardError) and (
        exc.http_status < 500 or exc.http_status in (503, 504)
    ):
        return exc
    log.error(
        "request %s failed: %s: %s",
        request_id,
        type(exc).__name__,
        exc,
        exc_info=not isinstance(exc, SpringboardError),
    )
    return internal_error(request_id)


def _first_text(body: Any) -> str:
    if isinstance(body, dict):
        texts = body["generated_texts"]
        return texts[0] if isinstance(texts[0], str) else texts[0][0]
    return body[0]["generated_text"]
