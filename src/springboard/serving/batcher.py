"""Dynamic batching: concurrent requests are queued and merged into batched passes.

Requests arrive already checked (`Generator.plan`), so a malformed request never reaches
a batch. A worker thread takes the oldest request, gathers whatever else is waiting (up to
`max_rolling_batch_size` rows, waiting at most `batch_wait_ms` for more), and runs them
through `Generator.execute_each`, which keeps incompatible settings in separate passes
and, when a pass fails, runs each request alone so only the one that breaks it fails.
A request whose caller has gone (`BatchRequest.cancel`: the 504, a disconnect) is dropped from the
queue, or its rows stop at the next token. A request with `on_token` hears of each token as
it is generated (streaming); beam search cannot stream and is refused at `submit`. The queue is bounded: when full, `submit`
raises `OverloadedError` (HTTP 503) instead of building an unbounded backlog. Several
workers may share the one model (`SAGEMAKER_MODEL_SERVER_WORKERS`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from springboard.errors import ClientError, GenerationError, ServerError
from springboard.inference.generator import CANCELLED, Generator, Planned, TokenCallback
from springboard.inference.observers import StepLogprob
from springboard.inference.payloads import GenerationResult
from springboard.inference.planned import require_streamable
from springboard.serving.metrics import ServerMetrics
from springboard.serving.settings import DeploymentSettings

log = logging.getLogger("springboard.serving")


class OverloadedError(ServerError):
    """The request queue is full; the client should retry later."""

    code = "overloaded"
    http_status = 503


class RequestCancelledError(ClientError):
    """The caller gave up on the request (timeout or disconnect); nobody awaits the answer."""

    code = "cancelled"
    http_status = 499


@dataclass
class BatchRequest:
    """Checked prompts waiting for (or in) a batch, and the future of their results.

    `on_token(item, seq, token_id, logprob)` (`TokenCallback`; item = position in
    `planned`), when set, is called from the worker thread for every generated token,
    the last (end-of-sequence) one included, before the future resolves."""

    planned: list[Planned]
    future: Future[list[GenerationResult]] = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)
    started: float = 0.0
    finished: float = 0.0
    cancelled: bool = False  # read by the worker between tokens
    on_token: TokenCallback | None = None

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.planned)

    def cancel(self) -> None:
        """The caller has gone: drop the request if it is still queued, else stop its rows."""
        self.cancelled = True
        self.future.cancel()

    def report(self, item: int, seq: int, token: int, logprob: StepLogprob | None) -> None:
        """Pass a token to `on_token`; a listener that fails is taken as gone."""
        if self.on_token is None or self.cancelled:
            return
        try:
            self.on_token(item, seq, token, logprob)
        except Exception:
            log.exception("a token listener failed; cancelling its request")
            self.cancel()


class Batcher:
    """Merges queued requests into batched `Generator.execute` calls on worker threads."""

    def __init__(
        self,
        generator: Generator,
        settings: DeploymentSettings,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self.generator = generator
        self.settings = settings
        self.metrics = metrics or ServerMetrics()
        self._queue: queue.Queue[BatchRequest] = queue.Queue(maxsize=settings.max_queue_size)
        self._stopping = threading.Event()
        self._last_rows, self._last_secs, self._last_end = 0, 0.0, 0.0  # the last batch
        self._threads = [
            threading.Thread(target=self._loop, name=f"batcher-{i}", daemon=True)
            for i in range(settings.model_server_workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def submit(
        self, planned: list[Planned], *, on_token: TokenCallback | None = None
    ) -> BatchRequest:
        """Queue checked prompts; `request.future` resolves to one result per prompt, and
        `on_token` (if given) hears each token as it comes. Raises `ClientError` naming
        `num_beams` when tokens of beam search are asked for."""
        if on_token is not None:
            require_streamable(planned)
        request = BatchRequest(planned, on_token=on_token)
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            raise OverloadedError(
                f"the endpoint is at capacity ({self.settings.max_queue_size} requests queued)",
                fix="retry after a short wait, or raise SPRINGBOARD_MAX_QUEUE_SIZE",
            ) from None
        self.metrics.queue_depth.set(self._queue.qsize())
        return request

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop the workers."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stopping.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _gather(self, first: BatchRequest) -> list[BatchRequest]:
        """The first request plus what else arrives in time to share its batch.

        Clients served by the last batch usually come straight back, spread over some
        milliseconds; starting without them splits them into a small batch and a big
        one that then alternate for good. So while the last batch's rows have not come
        back, wait a little for them (at most 15% of that batch's time), then at most
        `batch_wait_ms` for stragglers.
        """
        requests, rows = [first], first.rows
        limit = self.settings.max_rolling_batch_size
        now = time.monotonic()
        returning = now - self._last_end < max(0.25, self._last_secs)
        target = min(limit, self._last_rows) if returning else 0
        straggle = now + self.settings.batch_wait_ms / 1000
        fill = max(straggle, now + 0.15 * self._last_secs)
        while rows < limit:
            deadline = fill if rows < target else straggle
            try:
                request = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                if rows < target and time.monotonic() < straggle:
                    continue
                break
            if request.future.cancelled():
                continue  # its caller has gone; it takes no room
            requests.append(request)
            rows += request.rows
        return requests

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            requests = [j for j in self._gather(first) if j.future.set_running_or_notify_cancel()]
            self.metrics.queue_depth.set(self._queue.qsize())
            if requests:
                self._run(requests)

    def _run(self, requests: list[BatchRequest]) -> None:
        rows = sum(j.rows for j in requests)
        started = time.monotonic()
        self.metrics.active_rows.inc(rows)
        try:
            outcomes: list[list[GenerationResult] | BaseException] = list(
                self.generator.execute_each(
                    [request.planned for request in requests],
                    batch_size=self.settings.max_rolling_batch_size,
                    cancelled=lambda n: requests[n].cancelled,
                    on_token=[request.report if request.on_token else None for request in requests],
                )
            )
        except Exception as exc:  # a bug, not a failed pass: fail these requests, keep the worker
            log.exception("batch of %d rows failed", rows)
            outcomes = [exc] * len(requests)
        finally:
            self.metrics.active_rows.dec(rows)
        finished = time.monotonic()
        self._last_rows = rows
        self._last_secs, self._last_end = finished - started, finished
        self.metrics.batch_rows.observe(rows)
        for request, outcome in zip(requests, outcomes, strict=True):
            request.started, request.finished = started, finished
            self.settle(request, outcome)

    def settle(
        self, request: BatchRequest, outcome: list[GenerationResult] | BaseException
    ) -> None:
        """Answer a request: its results, its own error, or (caller gone) a cancellation."""
        if isinstance(outcome, BaseException):
            if isinstance(outcome, GenerationError):
                log.error("a request failed on its own: %s", outcome)
            request.future.set_exception(outcome)
        elif request.cancelled:
            self.metrics.cancelled_rows.inc(sum(r.finish_reasons.count(CANCELLED) for r in outcome))
            request.future.set_exception(RequestCancelledError("the caller gave up on the request"))
        else:
            request.future.set_result(outcome)
