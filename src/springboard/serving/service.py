"""What an endpoint does with an invocation: decode, check, queue, await, render.

The HTTP routes hand the raw body and content type here and send back the `Reply`; this
is also where request ids, timing headers and metrics are produced. A bad request is
refused before it reaches the batch queue, so it never affects other requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from springboard.catalog import ModelSpec
from springboard.errors import (ClientError, Issue, ServerError, SpringboardError,
                               ValidationError)
from springboard.inference.generator import Generator
from springboard.inference.payloads import GenerationResult, render_response
from springboard.serving.batcher import Batcher, Job
from springboard.serving.metrics import ServerMetrics
from springboard.serving.protocol import (JSONLINES, TEXT, PayloadTooLargeError, Reply,
                                          TimeoutError_, decode_json, dumps, error_reply,
                                          media_type)
from springboard.serving.settings import DeploymentSettings

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


class InvocationService:
    """One endpoint's model, batcher and metrics, and the invocation logic over them."""

    def __init__(self, name: str, spec: ModelSpec, settings: DeploymentSettings,
                 metrics: ServerMetrics | None = None) -> None:
        self.name = name
        self.spec = spec
        self.settings = settings
        self.metrics = metrics or ServerMetrics()
        self.generator: Generator | None = None
        self.batcher: Batcher | None = None
        self.load_error: str | None = None
        self.scheduler: str | None = None  # chosen when the model is attached

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    def attach(self, generator: Generator) -> None:
        """Start serving with a loaded generator, batching as the settings say."""
        from springboard.serving.continuous import ContinuousBatcher, supports_continuous

        mode = self.settings.rolling_batch
        if mode == "continuous" and not supports_continuous(generator):
            raise ValidationError([Issue(
                "OPTION_ROLLING_BATCH", f"continuous batching does not support {self.spec.id} "
                f"({generator.task.value}, {generator.model.config.model_type})", mode,
                "use OPTION_ROLLING_BATCH=dynamic or auto")])
        continuous = mode != "dynamic" and supports_continuous(generator)
        batcher = (ContinuousBatcher if continuous else Batcher)(generator, self.settings,
                                                                self.metrics)
        batcher.start()
        self.generator, self.batcher = generator, batcher
        self.scheduler = "continuous" if continuous else "dynamic"

    def shutdown(self) -> None:
        if self.batcher is not None:
            self.batcher.stop()

    async def invoke(self, body: bytes, content_type: str | None, *, runtime_shape: bool,
                     request_id: str | None = None) -> Reply:
        started = time.monotonic()
        request_id = request_id or uuid.uuid4().hex
        headers = {"X-Request-Id": request_id, "X-Springboard-Model-Id": self.spec.id}
        try:
            reply = await self._invoke(body, content_type, headers)
        except SpringboardError as exc:
            reply = error_reply(exc, runtime_shape=runtime_shape, headers=headers)
        except Exception as exc:  # a bug must still answer JSON, never drop the connection
            log.exception("request %s failed", request_id)
            reply = error_reply(ServerError(f"internal error: {type(exc).__name__}: {exc}"),
                                runtime_shape=runtime_shape, headers=headers)
        elapsed = time.monotonic() - started
        reply.headers["X-Springboard-Total-Time-Ms"] = f"{elapsed * 1000:.1f}"
        self.metrics.requests.labels(status=str(reply.status)).inc()
        self.metrics.latency.observe(elapsed)
        return reply

    async def _invoke(self, body: bytes, content_type: str | None,
                      headers: dict[str, str]) -> Reply:
        if not self.ready:
            raise NotReadyError(f"endpoint {self.name} is still loading its model",
                                fix="retry when GET /ping answers 200")
        limit = int(self.settings.max_payload_mb * 1024 * 1024)
        if len(body) > limit:
            raise PayloadTooLargeError(
                f"the request body is {len(body)} bytes; this endpoint accepts at most {limit}",
                field="body", value=len(body), fix="split the inputs over several requests")
        kind = media_type(content_type)
        if kind in JSONLINES:
            lines = [line for line in body.splitlines() if line.strip()]
            outcomes = await asyncio.gather(*(self._line(line, n) for n, line in enumerate(lines)))
            self._usage_headers(headers, [o for o in outcomes if isinstance(o, _Outcome)])
            answers = [o.body if isinstance(o, _Outcome) else o for o in outcomes]
            return Reply(200, b"\n".join(dumps(a) for a in answers) + b"\n",
                         media_type="application/jsonlines", headers=headers)
        if kind in TEXT:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ClientError("the text body is not UTF-8", field="body") from None
            outcome = await self._payload({self._input_field(): text})
            outcome.body = {"generated_text": _first_text(outcome.body)}
        else:
            outcome = await self._payload(decode_json(body))
        self._usage_headers(headers, [outcome])
        return Reply(200, dumps(outcome.body), headers=headers)

    async def _line(self, line: bytes, number: int) -> _Outcome | dict[str, Any]:
        try:
            return await self._payload(decode_json(line, where=f"line {number + 1}"))
        except ClientError as exc:
            return {"error": exc.to_dict()}

    def _input_field(self) -> str:
        assert self.generator is not None
        return self.generator.input_field

    async def _payload(self, payload: Any) -> _Outcome:
        assert self.generator is not None and self.batcher is not None
        request = self.generator.parse(payload)
        planned = self.generator.plan(request.prompts, request.params)
        size = request.batch_size or len(planned)
        jobs: list[Job] = [self.batcher.submit(planned[i:i + size])
                           for i in range(0, len(planned), size)]
        waiting = [asyncio.wrap_future(job.future) for job in jobs]
        try:
            parts = await asyncio.wait_for(asyncio.gather(*waiting),
                                           timeout=self.settings.model_server_timeout)
        except TimeoutError:
            for job in jobs:
                job.future.cancel()
            raise TimeoutError_(
                f"the request took longer than {self.settings.model_server_timeout:g} s",
                field="SAGEMAKER_MODEL_SERVER_TIMEOUT",
                fix="ask for fewer tokens, or deploy with a larger SAGEMAKER_MODEL_SERVER_TIMEOUT") from None
        results: list[GenerationResult] = [r for part in parts for r in part]
        return _Outcome(
            body=render_response(request, results),
            input_tokens=sum(r.input_tokens for r in results),
            output_tokens=sum(sum(r.output_tokens) for r in results),
            model_ms=sum((j.finished - j.started) for j in jobs) * 1000,
            queue_ms=max((j.started - j.enqueued) for j in jobs) * 1000)

    def _usage_headers(self, headers: dict[str, str], outcomes: list[_Outcome]) -> None:
        tokens_in = sum(o.input_tokens for o in outcomes)
        tokens_out = sum(o.output_tokens for o in outcomes)
        self.metrics.tokens.labels(direction="in").inc(tokens_in)
        self.metrics.tokens.labels(direction="out").inc(tokens_out)
        headers.update({
            "X-Springboard-Input-Tokens": str(tokens_in),
            "X-Springboard-Output-Tokens": str(tokens_out),
            "X-Springboard-Model-Time-Ms": f"{sum(o.model_ms for o in outcomes):.1f}",
            "X-Springboard-Queue-Time-Ms": f"{max((o.queue_ms for o in outcomes), default=0):.1f}",
        })


def _first_text(body: Any) -> str:
    if isinstance(body, dict):
        texts = body["generated_texts"]
        return texts[0] if isinstance(texts[0], str) else texts[0][0]
    return body[0]["generated_text"]
