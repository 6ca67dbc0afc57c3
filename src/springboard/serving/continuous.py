"""Continuous (iteration-level) batching for causal models.

Requests join the running batch between decoding steps and leave it as soon as they
finish, instead of waiting for a whole batch to end: a new arrival is prefilled on its
own, its key/value cache is left-padded to the batch's length and appended; finished
rows are dropped from the cache, and columns that only padding still uses are trimmed.
Each row keeps its own sampling settings, penalties, budget, stop strings and seeded RNG,
so a seeded request answers the same as in `Generator.generate`. Each new token is handed
to its request's `on_token` (streaming) and, when asked for, its logprobs are recorded.

A request whose caller has gone (`BatchRequest.cancel`) leaves at the next step, its cache rows
freed. When a prefill or a step fails, each request is prefilled again alone (from its
prompt and the tokens it has so far), so only the request that breaks the batch fails.

Requests this path cannot serve (beam search, n-gram or repetition penalties,
encoder-decoder models) run through the static path, `Generator.execute`.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from springboard import thread_budget
from springboard.errors import ClientError, GenerationError
from springboard.inference.generator import Generator, Planned
from springboard.inference.observers import LogprobRecorder, StepLogprob
from springboard.inference.payloads import TokenLogprob
from springboard.inference.rows import RowSampler, RowSpec, row_generator
from springboard.serving.batcher import Batcher, BatchRequest, RequestCancelledError

log = logging.getLogger("springboard.serving")


def supports_continuous(generator: Generator) -> bool:
    """Causal models whose cache is a plain per-layer key/value cache."""
    from springboard.catalog import Task

    model_type = getattr(generator.model.config, "model_type", "")
    return generator.task is Task.TEXT_GENERATION and model_type in (
        "llama",
        "mistral",
        "qwen2",
        "qwen3",
        "gemma",
        "phi3",
        "smollm3",
        "olmo",
        "granite",
    )


def _continuous(item: Planned) -> bool:
    p = item.params
    return p.num_beams == 1 and p.no_repeat_ngram_size == 0 and p.repetition_penalty == 1.0


@dataclass
class _Row:
    request: BatchRequest
    item_index: int
    seq_index: int
    spec: RowSpec
    prompt_ids: list[int]
    rng: torch.Generator | None
    tokens: list[int] = field(default_factory=list)
    logprobs: list[StepLogprob] = field(default_factory=list)  # when the row asks for them


@dataclass
class _RequestState:
    outputs: list[list[Any]]
    logprobs: list[list[list[TokenLogprob]] | None]
    pending: int


def _failure(exc: Exception) -> GenerationError:
    return exc if isinstance(exc, GenerationError) else GenerationError(f"generation failed: {exc}")


class ContinuousBatcher(Batcher):
    """A `Batcher` whose worker schedules rows step by step (one worker thread)."""

    def start(self) -> None:
        self._threads = self._threads[:1]  # one stepping loop owns the batch state
        self._reset()
        super().start()

    def stop(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while (self._rows or self._held is not None) and time.monotonic() < deadline:
            time.sleep(0.01)
        super().stop(max(0.0, deadline - time.monotonic()))

    def _reset(self) -> None:
        self._clear_batch()
        self._requests: dict[int, tuple[BatchRequest, _RequestState]] = {}
        self._held: BatchRequest | None = None

    def _clear_batch(self) -> None:
        self._rows: list[_Row] = []
        self._mask: torch.Tensor | None = None  # [rows, length], 1 = real token
        self._cache: Any = None
        self.metrics.active_rows.set(0)

    # -- scheduling ----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._drop_cancelled()
                self._admit(block=not self._rows)
                if self._rows:
                    thread_budget.revise()  # a job or server started or ended beside this one
                    self._step()
            except Exception as exc:  # a bug: fail the requests in the batch, keep serving
                log.exception("continuous batch failed")
                for request, _ in list(self._requests.values()):
                    self._fail(request, exc)
                self._requests.clear()
                self._clear_batch()

    def _next_request(self, block: bool) -> BatchRequest | None:
        if self._held is not None:
            request, self._held = self._held, None
            return request
        try:
            return self._queue.get(timeout=0.1) if block else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _admit(self, block: bool) -> None:
        limit = self.settings.max_rolling_batch_size
        new_rows: list[_Row] = []
        while len(self._rows) + len(new_rows) < limit:
            # Never wait for more arrivals here: measured, holding an idle batch back to
            # gather a wave cost more (fewer rows decoding) than the extra prefills save.
            request = self._next_request(block and not new_rows)
            if request is None:
                break
            if request.future.cancelled():
                continue  # its caller has gone
            if (self._rows or new_rows) and len(self._rows) + len(new_rows) + request.rows > limit:
                self._held = request  # wait for room rather than overfill the batch
                break
            if request.future.set_running_or_notify_cancel():
                new_rows.extend(self._rows_of(request))
        self.metrics.queue_depth.set(self._queue.qsize())
        if new_rows:
            self._start(new_rows, together=True)

    def _rows_of(self, request: BatchRequest) -> list[_Row]:
        """Rows to decode step by step; items the static path must run are run now."""
        request.started = time.monotonic()
        state = _RequestState(
            outputs=[[None] * item.rows for item in request.planned],
            logprobs=[
                None if item.params.logprobs is None else [[] for _ in range(item.rows)]
                for item in request.planned
            ],
            pending=0,
        )
        self._requests[id(request)] = (request, state)
        static = [i for i, item in enumerate(request.planned) if not _continuous(item)]
        if static:
            report = (
                None
                if request.on_token is None
                else (lambda k, j, t, lp: request.report(static[k], j, t, lp))
            )
            try:
                results = self.generator.execute(
                    [request.planned[i] for i in static],
                    cancelled=lambda _n: request.cancelled,
                    on_token=report,
                )
            except (GenerationError, ClientError) as exc:  # this request's own failure
                self._fail(request, exc)
                return []
            for i, result in zip(static, results, strict=True):
                state.outputs[i] = list(
                    zip(result.texts, result.output_tokens, result.finish_reasons, strict=True)
                )
                state.logprobs[i] = result.logprobs
        rows = []
        for i, item in enumerate(request.planned):
            if i in static:
                continue
            for j, spec in enumerate(item.row_specs()):
                rng = row_generator(spec.seed) if spec.do_sample and spec.seed is not None else None
                rows.append(_Row(request, i, j, spec, list(item.prompt_ids), rng))
        state.pending = len(rows)
        if not rows:
            self._complete(request)
        return rows

    def _start(self, rows: list[_Row], *, together: bool) -> None:
        """Prefill `rows` (together, or request by request); a request whose prefill
        fails alone fails, the others join the batch."""
        if together:
            try:
                self._prefill(rows)
                return
            except Exception as exc:  # noqa: BLE001 (a failed prefill falls back to one request at a time)
                if len({id(r.request) for r in rows}) == 1:
                    self._fail(rows[0].request, _failure(exc))
                    return
                log.warning(
                    "prefill of %d rows failed (%s); prefilling each request alone", len(rows), exc
                )
        by_request: dict[int, list[_Row]] = {}
        for row in rows:
            by_request.setdefault(id(row.request), []).append(row)
            if not row.tokens and row.rng is not None and row.spec.seed is not None:
                row.rng = row_generator(row.spec.seed)  # as if the failed try never drew
        for request_rows in by_request.values():
            try:
                self._prefill(request_rows)
            except Exception as exc:  # noqa: BLE001 (isolates one request's failure)
                log.error("a request failed on its own: %s", exc)
                self._fail(request_rows[0].request, _failure(exc))

    def _drop_cancelled(self) -> None:
        """Free the rows of requests whose caller has gone."""
        gone = [i for i, row in enumerate(self._rows) if row.request.cancelled]
        if not gone:
            return
        requests = {id(self._rows[i].request): self._rows[i].request for i in gone}
        self._remove(gone)
        self.metrics.cancelled_rows.inc(len(gone))
        for request in requests.values():
            self._fail(request, RequestCancelledError("the caller gave up on the request"))

    # -- model steps ---------------------------------------------------------------------

    def _prefill(self, rows: list[_Row]) -> None:
        """Run rows' prompts (and tokens so far) and choose their next token; the batch
        is only changed once that has worked."""
        from transformers import DynamicCache

        device = self.generator.device
        seqs = [r.prompt_ids + r.tokens for r in rows]
        width = max(len(s) for s in seqs)
        pad = self.generator.tokenizer.pad_token_id or 0
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.generator.model.config)
        with torch.inference_mode():
            out = self.generator.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
            )
        tokens, steps = self._choose(rows, out.logits[:, -1, :])
        self._merge(rows, mask, out.past_key_values)
        self._record(rows, tokens, steps, offset=len(self._rows) - len(rows))

    def _merge(self, rows: list[_Row], mask: torch.Tensor, cache: Any) -> None:
        if self._cache is None:
            self._rows, self._mask, self._cache = list(rows), mask, cache
        else:
            assert self._mask is not None
            width = max(self._mask.shape[1], mask.shape[1])
            for old, new in zip(self._cache.layers, cache.layers, strict=True):
                old.keys = torch.cat([_left_pad(old.keys, width), _left_pad(new.keys, width)])
                old.values = torch.cat([_left_pad(old.values, width), _left_pad(new.values, width)])
            self._mask = torch.cat(
                [_left_pad(self._mask, width, dim=1), _left_pad(mask, width, dim=1)]
            )
            self._rows.extend(rows)
        self.metrics.active_rows.set(len(self._rows))

    def _step(self) -> None:
        assert self._mask is not None
        rows = list(self._rows)
        try:
            last = torch.tensor([[r.tokens[-1]] for r in rows], device=self.generator.device)
            mask = torch.cat([self._mask, torch.ones_like(self._mask[:, :1])], dim=1)
            positions = mask.sum(dim=1, keepdim=True) - 1
            with torch.inference_mode():
                out = self.generator.model(
                    input_ids=last,
                    attention_mask=mask,
                    position_ids=positions,
                    past_key_values=self._cache,
                    use_cache=True,
                )
            tokens, steps = self._choose(rows, out.logits[:, -1, :])
        except Exception as exc:  # noqa: BLE001 (start every request again on its own)
            log.warning(
                "a step of %d rows failed (%s); prefilling each request alone", len(rows), exc
            )
            self._clear_batch()
            self._start(rows, together=False)
            return
        self._mask, self._cache = mask, out.past_key_values
        self._record(rows, tokens, steps, offset=0)

    def _choose(
        self, rows: list[_Row], logits: torch.Tensor
    ) -> tuple[list[int], list[StepLogprob | None]]:
        """Each row's next token, and its logprobs for the rows that asked for them."""
        specs = [r.spec for r in rows]
        scores = logits.float()
        recorder = LogprobRecorder.wanted(specs)
        if recorder is not None:
            recorder(None, scores)  # the model's own logits, before penalties and sampling
        sampler = RowSampler(specs, [r.rng for r in rows])
        counts = sampler.counts([r.tokens for r in rows], scores.shape[-1])
        chosen = sampler.process(scores, counts).argmax(dim=-1)
        steps: list[StepLogprob | None] = (
            recorder.take(chosen) if recorder is not None else [None] * len(rows)
        )
        return chosen.tolist(), steps

    def _record(
        self, rows: list[_Row], tokens: list[int], steps: list[StepLogprob | None], offset: int
    ) -> None:
        """Append each row's next token (and hand it to its request's listener), then retire
        the rows that are done."""
        self.metrics.batch_rows.observe(len(self._rows))
        finished = []
        for n, (row, token, step) in enumerate(zip(rows, tokens, steps, strict=True)):
            row.tokens.append(token)
            if step is not None:
                row.logprobs.append(step)
            if row.request.on_token is not None:
                row.request.report(row.item_index, row.seq_index, token, step)
            if self._done(row, token):
                finished.append(offset + n)
        if finished:
            self._retire(finished)

    def _done(self, row: _Row, token: int) -> bool:
        if token in self.generator.eos_ids or len(row.tokens) >= row.spec.max_new_tokens:
            return True
        if row.spec.stop:
            window = max(len(s.encode()) for s in row.spec.stop) + 2
            tail = self.generator.tokenizer.decode(row.tokens[-window:], skip_special_tokens=True)
            return any(s in tail for s in row.spec.stop)
        return False

    def _retire(self, indices: list[int]) -> None:
        for index in indices:
            row = self._rows[index]
            _, state = self._requests[id(row.request)]
            sequence = self.generator.finish_sequence(
                row.tokens, row.spec.max_new_tokens, row.spec.stop
            )
            state.outputs[row.item_index][row.seq_index] = sequence
            kept = state.logprobs[row.item_index]
            if kept is not None:
                kept[row.seq_index] = self.generator.token_logprobs(row.logprobs[: sequence[1]])
            state.pending -= 1
            if state.pending == 0:
                self._complete(row.request)
        self._remove(indices)

    def _remove(self, indices: list[int]) -> None:
        """Drop rows from the batch and their key/value cache."""
        assert self._mask is not None
        gone = set(indices)
        keep = [i for i in range(len(self._rows)) if i not in gone]
        if not keep:
            self._clear_batch()
            return
        self._rows = [self._rows[i] for i in keep]
        self._cache.batch_select_indices(torch.tensor(keep, device=self._mask.device))
        self._mask = self._mask[keep]
        used = self._mask.sum(dim=0).nonzero()
        first = int(used[0]) if len(used) else 0
        if first > 0:  # columns only padding still occupies
            self._mask = self._mask[:, first:]
            for layer in self._cache.layers:
                layer.keys = layer.keys[:, :, first:, :]
                layer.values = layer.values[:, :, first:, :]
        self.metrics.active_rows.set(len(self._rows))

    def _complete(self, request: BatchRequest) -> None:
        _, state = self._requests.pop(id(request))
        request.finished = time.monotonic()
        self.settle(
            request,
            [
                item.result(outputs, logprobs)
                for item, outputs, logprobs in zip(
                    request.planned, state.outputs, state.logprobs, strict=True
                )
            ],
        )

    def _fail(self, request: BatchRequest, exc: BaseException) -> None:
        self._requests.pop(id(request), None)
        request.finished = time.monotonic()
        if not request.future.done():
            request.future.set_exception(exc)


def _left_pad(tensor: torch.Tensor, width: int, dim: int = 2) -> torch.Tensor:
    """Pad `tensor` with zeros on the left of `dim` up to `width`."""
    missing = width - tensor.shape[dim]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)
