"""The Generator: the one piece of code that turns prompts into text.

It loads a resolved model once, then serves `generate(prompts, params)`: it checks each
prompt against the context limit, groups requests whose settings can share a forward
pass, runs batched `model.generate` calls with per-row sampling, budgets and stop
strings, and returns texts with token counts and finish reasons. `predict(payload)` wraps
that with the payload schema. Endpoints, batch jobs and evaluation all call this class;
none of them decodes on its own.

Layers, each built on the one below: `_run_batch` (one `model.generate` call) →
`execute` (grouping, micro-batching) → `generate` (planning too) → `predict` (payload in,
response out). Servers share passes between requests with `execute_each`, which isolates
a request that breaks a pass and lets a request whose caller has gone stop early. Both
can report each token as it is generated (`on_token`, for streaming) and record logprobs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from springboard.catalog import Catalog, ModelSpec, Task, require_eula
from springboard.errors import ContextLengthError, GenerationError, Issue, ValidationError
from springboard.inference.limits import RequestLimits, prompt_issues
from springboard.inference.loading import LoadOptions, load
from springboard.inference.observers import (
    LogprobRecorder,
    Relay,
    RowObserver,
    RowReport,
    StepLogprob,
    TokenCallback,
    fan_out,
)
from springboard.inference.params import DecodingParams, beam_conflicts
from springboard.inference.payloads import (
    GenerationResult,
    ParsedRequest,
    TokenLogprob,
    parse_request,
    prompt_key,
    render_response,
)
from springboard.inference.planned import CANCELLED, Planned, mark_cancelled, require_streamable
from springboard.inference.rows import CancelStopper, RowSampler, RowSpec, RowStopper

__all__ = ["CANCELLED", "Cancelled", "Generator", "Planned", "TokenCallback"]

log = logging.getLogger("springboard.inference")

DEFAULT_MAX_NEW_TOKENS = 64

# `cancelled(i)` answers whether item `i` of the call is no longer wanted.
Cancelled = Callable[[int], bool]


class Generator:
    """A loaded model that answers generation requests in batches."""

    def __init__(
        self, spec: ModelSpec, model_dir: str | Path, options: LoadOptions | None = None
    ) -> None:
        self.spec = spec
        self.model_dir = Path(model_dir)
        self.options = options or LoadOptions()
        loaded = load(self.model_dir, spec.task, self.options)
        self.model, self.tokenizer, self.device = loaded.model, loaded.tokenizer, loaded.device
        self.context_length = self.options.context_length or spec.context_length
        if spec.task is Task.TEXT_GENERATION and loaded.max_positions:
            self.context_length = min(self.context_length, loaded.max_positions)
        config = self.model.generation_config
        eos = (
            config.eos_token_id if config.eos_token_id is not None else self.tokenizer.eos_token_id
        )
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self._pad_id = self.tokenizer.pad_token_id
        self._token_texts: dict[int, str] = {}  # id -> the token decoded alone

    @classmethod
    def from_catalog(
        cls,
        model_id: str,
        version: str = "*",
        *,
        model_dir: str | Path | None = None,
        accept_eula: bool = False,
        options: LoadOptions | None = None,
        catalog: Catalog | None = None,
    ) -> Generator:
        """Look `model_id` up, check its EULA, find its files, and load it."""
        from springboard.artifacts import resolve_model_dir

        spec = (catalog or Catalog.load()).get(model_id, version)
        require_eula(spec, accept_eula)
        folder = resolve_model_dir(spec, model_dir=model_dir)
        # the base class picks its backend from `options`; a subclass is that backend
        return (
            create_generator(spec, folder, options)
            if cls is Generator
            else cls(spec, folder, options)
        )

    @property
    def task(self) -> Task:
        return self.spec.task

    @property
    def input_field(self) -> str:
        return prompt_key(self.task)

    @property
    def limits(self) -> RequestLimits:
        return self.options.limits

    # -- payload level -------------------------------------------------------------------

    def parse(self, payload: Any, *, limits: RequestLimits | None = None) -> ParsedRequest:
        """Validate a payload for this model (catalog defaults fill the gaps) within
        `limits` (by default the ones it was loaded with)."""
        return parse_request(
            payload, self.task, self.spec.default_inference_parameters, limits or self.limits
        )

    def predict(self, payload: Any) -> Any:
        """Payload in, response body out: `{"generated_texts": ...}` or `[{"generated_text"}]`."""
        request = self.parse(payload)
        return render_response(request, self.run(request))

    def run(self, request: ParsedRequest) -> list[GenerationResult]:
        return self.generate(request.prompts, request.params, batch_size=request.batch_size)

    # -- prompt level --------------------------------------------------------------------

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts))["input_ids"]]

    def plan(
        self,
        prompts: Sequence[str],
        params: DecodingParams | Sequence[DecodingParams],
        *,
        limits: RequestLimits | None = None,
        input_field: str | None = None,
    ) -> list[Planned]:
        """Check every prompt against its budget and the context limit (and its length
        in characters against `limits`, before tokenizing it). Problems name the prompts
        `input_field` (by default the payload's, `inputs` or `text_inputs`)."""
        per_prompt = [params] * len(prompts) if isinstance(params, DecodingParams) else list(params)
        if len(per_prompt) != len(prompts):
            raise ValueError("one DecodingParams per prompt, or one for all")
        field = input_field or self.input_field
        issues = prompt_issues(field, prompts, limits or self.limits, listed=len(prompts) > 1)
        conflicts = {
            (i.field, i.message): i  # params built without resolve_decoding
            for p in per_prompt
            for i in beam_conflicts(p)
        }
        issues += conflicts.values()
        if issues:
            raise ValidationError(issues, context="invalid request")
        planned = []
        token_ids = self.tokenizer(list(prompts))["input_ids"]
        for i, (prompt, p, ids) in enumerate(zip(prompts, per_prompt, token_ids, strict=True)):
            n = len(ids)
            where = f"{field}[{i}]" if len(prompts) > 1 else field
            new = self._budget(p, n, where, issues)
            if new is None:
                continue
            if n + new > self.context_length:
                raise ContextLengthError(
                    f"{where} has {n} prompt tokens and asks for {new} new tokens: "
                    f"{n + new} exceeds the context length of {self.context_length}",
                    field=where,
                    value=n + new,
                    fix=f"shorten the input or lower max_new_tokens to {self.context_length - n}"
                    if n < self.context_length
                    else f"shorten the input: it alone is over the {self.context_length}-token limit",
                )
            seed = p.seed
            if p.do_sample and seed is None:
                seed = secrets.randbits(63)
            planned.append(Planned(i, prompt, p, tuple(ids), new, seed))
        if issues:
            raise ValidationError(issues, context="invalid request")
        return planned

    def _budget(
        self, p: DecodingParams, prompt_tokens: int, where: str, issues: list[Issue]
    ) -> int | None:
        if p.max_new_tokens is not None:
            return p.max_new_tokens
        if p.max_length is None:
            return DEFAULT_MAX_NEW_TOKENS
        if self.task is Task.TEXT2TEXT:
            return p.max_length
        new = p.max_length - prompt_tokens
        if new < 1:
            issues.append(
                Issue(
                    "max_length",
                    f"counts the prompt for this model, and {where} "
                    f"already has {prompt_tokens} tokens; got {p.max_length}",
                    p.max_length,
                    "raise max_length or use max_new_tokens",
                )
            )
            return None
        return new

    def generate(
        self,
        prompts: Sequence[str],
        params: DecodingParams | Sequence[DecodingParams],
        *,
        batch_size: int | None = None,
    ) -> list[GenerationResult]:
        """Generate for every prompt; one result per prompt, in order."""
        return self.execute(self.plan(prompts, params), batch_size=batch_size)

    def execute(
        self,
        planned: Sequence[Planned],
        *,
        batch_size: int | None = None,
        cancelled: Cancelled | None = None,
        on_token: TokenCallback | None = None,
    ) -> list[GenerationResult]:
        """Run checked prompts (possibly from many requests) in as few passes as allowed.

        Results come back in the order of `planned`. With `cancelled`, an item that is no
        longer wanted is skipped, or stopped between two tokens if already running (its
        sequences then end with finish reason "cancelled"); a pass whose every item is
        cancelled ends at once. With `on_token`, every generated token is reported as it
        comes (see `TokenCallback`; item = position in `planned`); beam search cannot be
        streamed (`ClientError` naming `num_beams`). Raises `GenerationError` when a pass
        fails.
        """
        if on_token is not None:
            require_streamable(planned)
        limit = min(batch_size or self.options.max_batch_size, self.options.max_batch_size)
        results: list[GenerationResult | None] = [None] * len(planned)
        for batch in self._batches(planned, limit):
            items = [planned[n] for n in batch]
            if cancelled is not None and all(cancelled(n) for n in batch):
                outcome = [item.cancelled_result() for item in items]
            else:
                gone = None if cancelled is None else (lambda k, b=batch: cancelled(b[k]))
                report = (
                    None
                    if on_token is None
                    else (lambda k, j, t, lp, b=batch: on_token(b[k], j, t, lp))
                )
                outcome = self._run_batch(items, gone, report)
            for n, result in zip(batch, outcome, strict=True):
                results[n] = result
        return [r for r in results if r is not None]

    def execute_each(
        self,
        groups: Sequence[Sequence[Planned]],
        *,
        batch_size: int | None = None,
        cancelled: Cancelled | None = None,
        on_token: Sequence[TokenCallback | None] | None = None,
    ) -> list[list[GenerationResult] | GenerationError]:
        """`execute` the items of several requests together; per request (group), its
        results or the `GenerationError` it raises on its own.

        When a shared pass fails, every group is run again alone, so one request that
        breaks a batch fails by itself and the others are answered. `cancelled(g)` says
        group `g` is no longer wanted; `on_token[g]`, when given, receives group `g`'s
        tokens (item = position in the group). A group run again does not report again
        the tokens it already reported (a run repeats itself: its seeds are fixed)."""
        owners = [(g, i) for g, group in enumerate(groups) for i in range(len(group))]
        flat = [item for group in groups for item in group]
        gone = None if cancelled is None else (lambda n: cancelled(owners[n][0]))
        relays = [Relay(c) if c is not None else None for c in on_token or [None] * len(groups)]
        report = fan_out(owners, relays) if any(relays) else None
        try:
            results = iter(
                self.execute(flat, batch_size=batch_size, cancelled=gone, on_token=report)
            )
            return [[next(results) for _ in group] for group in groups]
        except GenerationError as exc:
            if len(groups) == 1:
                return [exc]
            log.warning("a pass of %d requests failed (%s); running each alone", len(groups), exc)
        outcomes: list[list[GenerationResult] | GenerationError] = []
        for g, group in enumerate(groups):
            alone = None if cancelled is None else (lambda _n, g=g: cancelled(g))
            relay = relays[g]
            if relay is not None:
                relay.rerun()
            try:
                outcomes.append(
                    self.execute(group, batch_size=batch_size, cancelled=alone, on_token=relay)
                )
            except GenerationError as exc:
                outcomes.append(exc)
        return outcomes

    @staticmethod
    def _batches(planned: Sequence[Planned], limit: int) -> Iterator[list[int]]:
        """Positions in `planned`, grouped by settings that must be shared, then cut into
        batches of <= limit rows."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        for n, item in enumerate(planned):
            groups.setdefault(item.params.batch_key(), []).append(n)
        for positions in groups.values():
            batch: list[int] = []
            rows = 0
            for n in positions:
                if batch and rows + planned[n].rows > limit:
                    yield batch
                    batch, rows = [], 0
                batch.append(n)
                rows += planned[n].rows
            if batch:
                yield batch

    # -- batch level ---------------------------------------------------------------------

    def _run_batch(
        self,
        batch: list[Planned],
        cancelled: Cancelled | None = None,
        on_token: TokenCallback | None = None,
    ) -> list[GenerationResult]:
        import torch

        from springboard import thread_budget

        thread_budget.revise()  # a job or server started or ended beside this one
        rows: list[RowSpec] = []
        owners: list[tuple[int, int]] = []  # row -> (item, sequence)
        for k, item in enumerate(batch):
            for j, row in enumerate(item.row_specs()):
                rows.append(row)
                owners.append((k, j))
        try:  # anything that fails while running the pass fails the pass; keep the cause
            with torch.inference_mode():
                output, start, observer = self._generate(batch, rows, owners, cancelled, on_token)
        except Exception as exc:
            raise GenerationError(f"generation failed: {exc}") from exc
        first = batch[0].params
        sequences: list[list[tuple[str, int, str]]] = [[] for _ in batch]
        logprobs: list[list[list[TokenLogprob]] | None] = [
            None if item.params.logprobs is None else [] for item in batch
        ]
        if first.num_beams > 1:
            n = first.num_return_sequences
            for r in range(output.shape[0]):
                sequences[r // n].append(
                    self.finish_sequence(
                        output[r, start:].tolist(), batch[r // n].max_new_tokens, first.stop
                    )
                )
        else:
            for r, (k, _) in enumerate(owners):
                sequences[k].append(
                    self.finish_sequence(
                        output[r, start:].tolist(), rows[r].max_new_tokens, rows[r].stop
                    )
                )
                kept = logprobs[k]
                if kept is not None and observer is not None:
                    kept.append(self.token_logprobs(observer.records[r][: sequences[k][-1][1]]))
        if cancelled is not None:
            mark_cancelled(batch, sequences, cancelled)
        return [
            item.result(seqs, lps)
            for item, seqs, lps in zip(batch, sequences, logprobs, strict=True)
        ]

    def _generate(
        self,
        batch: list[Planned],
        rows: list[RowSpec],
        owners: list[tuple[int, int]],
        cancelled: Cancelled | None,
        on_token: TokenCallback | None,
    ) -> tuple[Any, int, RowObserver | None]:
        """One `model.generate` call: the output ids (on the CPU), where new tokens start,
        and the observer that saw them (when tokens are reported or logprobs recorded)."""
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        first = batch[0].params
        beam = first.num_beams > 1
        encoded = self.tokenizer.pad(
            {"input_ids": [list(batch[k].prompt_ids) for k, _ in owners]},
            return_tensors="pt",
            padding=True,
        ).to(self.device)
        start = 1 if self.task is Task.TEXT2TEXT else encoded["input_ids"].shape[1]
        base = self.model.generation_config
        config = GenerationConfig(
            max_new_tokens=max(r.max_new_tokens for r in rows),
            do_sample=False,
            num_beams=first.num_beams,
            num_return_sequences=first.num_return_sequences if beam else 1,
            no_repeat_ngram_size=first.no_repeat_ngram_size,
            repetition_penalty=first.repetition_penalty,
            early_stopping=first.early_stopping,
            pad_token_id=self._pad_id,
            eos_token_id=sorted(self.eos_ids) or None,
            bos_token_id=base.bos_token_id,
            decoder_start_token_id=base.decoder_start_token_id,
        )
        recorder = None if beam else LogprobRecorder.wanted(rows)
        processors = LogitsProcessorList([] if beam else [RowSampler(rows, start=start)])
        if recorder is not None:
            processors.insert(0, recorder)  # first: it sees the logits before ours change them
        stoppers = StoppingCriteriaList(
            []
            if beam
            else [
                RowStopper(
                    rows, start, lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True)
                )
            ]
        )
        if cancelled is not None:
            stoppers.append(
                CancelStopper(cancelled, len(batch), None if beam else [k for k, _ in owners])
            )
        observer = None
        if not beam and (recorder is not None or on_token is not None):
            report: RowReport | None = (
                None
                if on_token is None
                else (lambda r, token, step: on_token(*owners[r], token, step))
            )
            observer = RowObserver(
                list(stoppers), len(rows), self.eos_ids, report=report, recorder=recorder
            )
            stoppers = StoppingCriteriaList([observer])
        output = self.model.generate(
            **encoded,
            generation_config=config,
            logits_processor=processors,
            stopping_criteria=stoppers,
        )
        return output.cpu(), start, observer

    def token_logprobs(self, steps: Sequence[StepLogprob]) -> list[TokenLogprob]:
        """`steps` with each token's text (the token decoded alone; decodes are cached)."""
        text = self.token_text
        return [
            TokenLogprob(
                token_id=s.token_id,
                text=text(s.token_id),
                logprob=s.logprob,
                top=[(i, text(i), lp) for i, lp in s.top],
            )
            for s in steps
        ]

    def token_text(self, token_id: int) -> str:
        """One token decoded alone, as logprobs show it (special tokens included)."""
        text = self._token_texts.get(token_id)
        if text is None:
            text = self._token_texts[token_id] = self.tokenizer.decode([token_id])
        return text

    def finish_sequence(
        self, ids: list[int], limit: int, stop: tuple[str, ...]
    ) -> tuple[str, int, str]:
        """Cut one generated sequence at EOS / padding / stop string; count its tokens."""
        ids = ids[:limit]
        reason = "length"
        for pos, token in enumerate(ids):
            if token in self.eos_ids or token == self._pad_id:
                reason = "eos_token" if token in self.eos_ids else reason
                ids = ids[:pos]
                count = pos + (1 if reason == "eos_token" else 0)
                break
        else:
            count = len(ids)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        cuts = [text.find(s) for s in stop if s in text]
        if cuts:
            text, reason = text[: min(cuts)], "stop_sequence"
        return text, count, reason


def create_generator(
    spec: ModelSpec, model_dir: str | Path, options: LoadOptions | None = None
) -> Generator:
    """The one factory endpoints, batch jobs and the CLI load a model with: a `Generator`
    on the backend `options.backend` names (`auto`: the model's first deployment
    preset's, with its quantization unless `options.quantize` is given)."""
    options = options or LoadOptions()
    backend, quantize = options.backend, options.quantize
    if backend == "auto":
        preset = spec.deployment_presets[0] if spec.deployment_presets else None
        backend = preset.backend if preset else "torch"
        quantize = quantize or (preset.quantize if preset else None)
    if backend == "torch":
        if options.quantize:
            raise ValidationError(
                [
                    Issue(
                        "quantize",
                        f"applies to the ctranslate2 backend only, and {spec.id} runs on torch",
                        options.quantize,
                        "leave quantize out, or choose the ctranslate2 backend",
                    )
                ],
                context="invalid load options",
            )
        return Generator(spec, model_dir, options)
    from springboard.inference.ctranslate2_generator import CTranslate2Generator

    chosen = options.model_copy(update={"backend": backend, "quantize": quantize})
    return CTranslate2Generator(spec, model_dir, chosen)
