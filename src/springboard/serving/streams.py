"""Streaming one request's tokens from the model's worker thread to an asyncio consumer.

The worker only hands token ids over (`TokenFeed`: a deque, and through a `LoopWaker` one
wake-up of the event loop per burst of tokens for all the streams on it, not one per token
or per stream); the consumer's task turns them into text (`EventBuilder`, an
`IncrementalDecoder` per sequence), so a streaming client costs the model thread a list
append per token. `TokenStream` is the async iterator of `TokenEvent`s that
`EndpointService.stream` returns; it owns the batch requests it was split into.

Rules of the events, per sequence (item, seq):
- one event per token when the request asked for logprobs (its `text` is what that token
  made safe to show, possibly ''; its `logprobs` that token's entry, the end-of-sequence
  token included); without logprobs, one event per burst of tokens that released text;
- exactly one final event, with `finish_reason` ("stop" for an end-of-sequence token or
  a stop string, "length", "cancelled"), the rest of the text, any logprobs not yet sent,
  and the token counts. The texts of a sequence's events join into the text the same
  request gets without streaming; its logprobs into its `GenerationResult.logprobs`.
Timeout: `timeout` seconds may pass between two deliveries of the worker (tokens or a
request's end; the first wait includes the queue), not over the whole stream, so a long
answer that keeps coming is never cut. A stream stopped early — `aclose()`, leaving
`async with`, or the task awaiting it being cancelled (the client disconnected) —
cancels its requests: queued work is dropped and running rows stop at the next step.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from springboard.inference.detokenize import IncrementalDecoder
from springboard.inference.generator import CANCELLED, Generator, Planned, TokenCallback
from springboard.inference.observers import StepLogprob
from springboard.inference.payloads import GenerationResult, TokenLogprob
from springboard.serving.batcher import BatchRequest
from springboard.serving.metrics import ServerMetrics
from springboard.serving.protocol import TimeoutError_

# Generator finish reasons -> the stream's.
FINISH_REASONS = {
    "eos_token": "stop",
    "stop_sequence": "stop",
    "length": "length",
    CANCELLED: "cancelled",
}

_Token = tuple[int, int, int, StepLogprob | None]  # item, seq, token id, logprob
_End = int  # the number of a request that has ended


@dataclass
class TokenEvent:
    """New text of one sequence (`item`: position in the planned list, `seq`: which of
    its returned sequences). The final event of a sequence has `finish_reason` and the
    token counts; `logprobs` is None when the request did not ask for them."""

    item: int
    seq: int
    text: str
    logprobs: list[TokenLogprob] | None = None
    finish_reason: str | None = None
    output_tokens: int | None = None
    input_tokens: int | None = None


class LoopWaker:
    """Wakes the streams of one event loop that have news, with one call into the loop
    per burst (a continuous batch reports all its rows' tokens at each step)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._due: list[asyncio.Event] = []
        self._scheduled = False

    def wake(self, ready: asyncio.Event) -> None:
        """Set `ready` on the loop soon (from any thread)."""
        with self._lock:
            self._due.append(ready)
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self._run)

    def wake_later(self, ready: asyncio.Event, delay: float) -> None:
        """Set `ready` on the loop after `delay` seconds (from any thread)."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.call_later, delay, ready.set)

    def _run(self) -> None:
        with self._lock:
            due, self._due, self._scheduled = self._due, [], False
        for ready in due:
            ready.set()


class TokenFeed:
    """Carries tokens and request ends from the worker thread to one stream's task.

    With an `interval` (seconds), tokens that come sooner than that after the consumer's
    last take are held, so the consumer wakes (and its client gets a write) at most once
    per interval; the first token and a request's end always wake it at once, and held
    tokens are delivered when the interval is up even if no other token comes (a model
    slower than the interval, or n choices whose first tokens come one after another)."""

    def __init__(self, waker: LoopWaker, interval: float = 0.0) -> None:
        self._waker = waker
        self._interval = interval
        self._taken_at = -math.inf  # when the consumer last took something
        self._items: collections.deque[_Token | _End] = collections.deque()
        self._lock = threading.Lock()
        self._waking = False  # a wake-up is on its way
        self._timed = False  # a wake-up is set for when the interval is up
        self._ready = asyncio.Event()

    def listener(self, offset: int) -> TokenCallback:
        """The `on_token` of a request whose first item is item `offset` of the stream."""
        hold = self._interval > 0

        def on_token(item: int, seq: int, token: int, step: StepLogprob | None) -> None:
            self._put((offset + item, seq, token, step), hold=hold)

        return on_token

    def ender(self, number: int) -> Callable[[Future[Any]], None]:
        """A done-callback for the future of request `number`."""
        return lambda _future: self._put(number)

    def _put(self, entry: _Token | _End, *, hold: bool = False) -> None:
        with self._lock:
            self._items.append(entry)
            if self._waking:
                return
            wait = self._interval - (time.monotonic() - self._taken_at) if hold else 0.0
            if wait > 0:  # held: a token past the interval, the end or the timer wakes it
                if self._timed:
                    return
                self._timed = True
            else:
                self._waking = True
        if wait > 0:
            self._waker.wake_later(self._ready, wait)
        else:
            self._waker.wake(self._ready)

    def take_now(self) -> list[_Token | _End]:
        """Everything delivered since the last take (maybe nothing)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._waking = self._timed = False
            if items:
                self._taken_at = time.monotonic()
            return items

    async def take(self) -> list[_Token | _End]:
        """Everything delivered since the last take; waits for at least one entry.
        Cancelling it loses nothing."""
        while True:
            items = self.take_now()
            if items:
                return items
            self._ready.clear()
            await self._ready.wait()


class EventBuilder:
    """Turns one stream's tokens and results into `TokenEvent`s."""

    def __init__(self, generator: Generator, planned: Sequence[Planned]) -> None:
        self._generator = generator
        self._planned = planned
        self._decoders: dict[tuple[int, int], IncrementalDecoder] = {}
        self._ended: set[tuple[int, int]] = set()
        self._sent: collections.Counter[tuple[int, int]] = collections.Counter()
        self._eos = generator.eos_ids
        self._pad = generator.tokenizer.pad_token_id

    def _decoder(self, key: tuple[int, int]) -> IncrementalDecoder:
        decoder = self._decoders.get(key)
        if decoder is None:
            decoder = IncrementalDecoder(
                self._generator.tokenizer, self._planned[key[0]].params.stop
            )
            self._decoders[key] = decoder
        return decoder

    def tokens(self, entries: Sequence[_Token]) -> list[TokenEvent]:
        """Events for newly generated tokens. As `finish_sequence` does, a sequence's text
        ends at its end-of-sequence token (counted) or padding (not counted)."""
        events: list[TokenEvent] = []
        bursts: dict[tuple[int, int], list[int]] = {}
        eos, pad = self._eos, self._pad
        for item, seq, token, step in entries:
            key = (item, seq)
            if key in self._ended:
                continue
            end = token in eos
            if end or token == pad:
                self._ended.add(key)
                if not end:
                    continue
            if self._planned[item].params.logprobs is None:
                if not end:
                    bursts.setdefault(key, []).append(token)
                continue
            text = "" if end else self._decoder(key).push([token])
            self._sent[key] += 1
            events.append(
                TokenEvent(
                    item,
                    seq,
                    text,
                    self._generator.token_logprobs([step] if step is not None else []),
                )
            )
        for (item, seq), burst in bursts.items():
            text = self._decoder((item, seq)).push(burst)
            if text:
                events.append(TokenEvent(item, seq, text))
        return events

    def finish(self, offset: int, results: Sequence[GenerationResult]) -> list[TokenEvent]:
        """The final event of every sequence of a request whose first item is `offset`."""
        events = []
        for n, result in enumerate(results):
            for seq, final in enumerate(result.texts):
                key = (offset + n, seq)
                logprobs = (
                    None if result.logprobs is None else result.logprobs[seq][self._sent[key] :]
                )
                reason = result.finish_reasons[seq]
                events.append(
                    TokenEvent(
                        key[0],
                        seq,
                        self._decoder(key).finish(final),
                        logprobs,
                        finish_reason=FINISH_REASONS.get(reason, reason),
                        output_tokens=result.output_tokens[seq],
                        input_tokens=result.input_tokens,
                    )
                )
        return events


class TokenStream:
    """The events of one streamed request: `async for event in stream`.

    Stop early with `aclose()` or by leaving `async with stream:`; its requests are then
    cancelled. A cancelled `__anext__` is taken as the client leaving too, so do not wrap
    it in `asyncio.wait_for` (shield a task instead, e.g. for keep-alives). Raises what a
    request raises (`GenerationError`, ...) and `TimeoutError_` after `timeout` seconds
    without news from the worker."""

    def __init__(
        self,
        requests: list[tuple[int, BatchRequest]],
        feed: TokenFeed,
        builder: EventBuilder,
        *,
        timeout: float,
        metrics: ServerMetrics,
    ) -> None:
        self._requests = requests
        self._feed = feed
        self._builder = builder
        self._timeout = timeout
        self._metrics = metrics
        self._ready: collections.deque[TokenEvent] = collections.deque()
        self._running = set(range(len(requests)))
        self._closed = False

    def __aiter__(self) -> TokenStream:
        return self

    async def __aenter__(self) -> TokenStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def __anext__(self) -> TokenEvent:
        while not self._ready:
            if self._closed or not self._running:
                self._closed = True
                raise StopAsyncIteration
            try:
                entries = self._feed.take_now()
                if not entries:
                    async with asyncio.timeout(self._timeout):
                        entries = await self._feed.take()
            except TimeoutError:
                self._abandon("timeout")
                raise TimeoutError_(
                    f"no token came for {self._timeout:g} s",
                    field="SAGEMAKER_MODEL_SERVER_TIMEOUT",
                    fix="ask for fewer tokens, or deploy with a larger "
                    "SAGEMAKER_MODEL_SERVER_TIMEOUT",
                ) from None
            except asyncio.CancelledError:
                self._abandon("client_gone")
                raise
            try:
                self._absorb(entries)
            except BaseException:
                self._abandon(None)
                raise
        return self._ready.popleft()

    def ready_now(self) -> list[TokenEvent]:
        """The events that are ready without waiting, to send together with the last one
        (one write per burst instead of one per event)."""
        if not self._closed and self._running:
            entries = self._feed.take_now()
            if entries:
                try:
                    self._absorb(entries)
                except BaseException:
                    self._abandon(None)
                    raise
        ready = list(self._ready)
        self._ready.clear()
        return ready

    def put_back(self, event: TokenEvent) -> None:
        """Make `event` the next one again (after a look at the first)."""
        self._ready.appendleft(event)

    async def aclose(self) -> None:
        """Stop: cancel the requests still running (nothing if the stream has ended)."""
        self._abandon("client_gone")

    def _absorb(self, entries: list[_Token | _End]) -> None:
        tokens: list[_Token] = []
        for entry in entries:
            if not isinstance(entry, int):
                tokens.append(entry)
                continue
            self._ready.extend(self._builder.tokens(tokens))
            tokens = []
            offset, request = self._requests[entry]
            self._running.discard(entry)
            results = request.future.result()  # raises the request's own error
            self._metrics.tokens.labels(direction="in").inc(sum(r.input_tokens for r in results))
            self._metrics.tokens.labels(direction="out").inc(
                sum(sum(r.output_tokens) for r in results)
            )
            self._ready.extend(self._builder.finish(offset, results))
        self._ready.extend(self._builder.tokens(tokens))

    def _abandon(self, reason: str | None) -> None:
        """Cancel the requests still running; count the request as given up for `reason`."""
        if self._closed:
            return
        self._closed = True
        running = [self._requests[n][1] for n in self._running]
        for request in running:
            request.cancel()
        if running and reason is not None:
            self._metrics.cancelled_requests.labels(reason=reason).inc()

    def __del__(self) -> None:  # a stream dropped without aclose() must not keep decoding
        if not getattr(self, "_closed", True) and self._running:
            for n in self._running:
                self._requests[n][1].cancel()


async def started(stream: TokenStream) -> TokenStream:
    """`stream` with its first event already awaited (and put back), so a refusal or a
    failure before any token (a full queue, ...) is raised here, while an HTTP status can
    still say it."""
    try:
        stream.put_back(await stream.__anext__())
    except StopAsyncIteration:
        pass
    except BaseException:
        await stream.aclose()
        raise
    return stream
