"""The compiled CPU backend: the Generator's interface over a CTranslate2 model.

`CTranslate2Generator` is a `Generator` whose passes run on the engine instead of
`model.generate`: a `ctranslate2.Translator` for text2text (T5) models, a
`ctranslate2.Generator` for causal (Llama family) ones, from the compiled-model cache
(`springboard.compiled`, converted on first use). Planning, payloads, grouping, micro-
batching and `execute_each` are the Generator's own, so endpoints and batch jobs use it
unchanged; only `_run_batch` (one pass) and the parameter check differ.

How the payload parameters map (anything else is refused by `plan`, naming the parameter
and the backend):
- budgets (max_new_tokens / max_length), stop strings, cancellation and streaming: the
  engine's per-step callback, which ends each row at its own budget or stop string. The
  callback runs Python (and takes the GIL) for every token of every row, which under an
  endpoint's load cost ~15% of its throughput (64 clients, int8: 56 against 66
  requests/s), so a call whose rows share one budget and have no stop strings and no
  listener runs without it: a caller who has gone then stops its rows at the end of the
  engine call instead of at the next token (its answer is dropped either way);
- temperature / top_k / top_p: the engine's sampling settings, which are per call, so
  rows with different settings run in separate calls;
- num_beams, num_return_sequences (beams or samples), no_repeat_ngram_size,
  repetition_penalty: the engine's own options; early_stopping: the engine's beam search
  always ends as soon as its best beams are finished (as `early_stopping=true`);
- seed: the engine seeds its random generator per worker thread when it starts, not per
  call (OpenNMT/CTranslate2#1757), so a seeded sampled request runs alone on an engine
  instance started after seeding: the same text on every run, at the cost of loading the
  compiled weights again for that request;
- logprobs, presence_penalty, frequency_penalty: refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from springboard.catalog import ModelSpec, Task
from springboard.compiled import CompiledVariant, check_quantize, compile_model
from springboard.config import get_settings
from springboard.errors import GenerationError, Issue, ModelLoadError, ValidationError
from springboard.inference.generator import Cancelled, Generator
from springboard.inference.limits import RequestLimits
from springboard.inference.loading import LoadOptions
from springboard.inference.observers import TokenCallback
from springboard.inference.params import DecodingParams
from springboard.inference.payloads import GenerationResult
from springboard.inference.planned import Planned, mark_cancelled, require_streamable

__all__ = ["BACKEND", "CTranslate2Generator"]

log = logging.getLogger("springboard.inference")

BACKEND = "ctranslate2"
# Parameters the engine cannot honour, with their "off" value.
_UNSUPPORTED = {"logprobs": None, "presence_penalty": 0.0, "frequency_penalty": 0.0}
_SEEDED_LOCK = threading.Lock()  # the engine's seed is process-wide
# Rows per engine chunk: the engine sorts a call's rows by length and runs chunks of this
# many, so short prompts are not decoded token by token beside long ones (a batch of 64
# prompts of 5-40 words: ~25% more tokens/s than one chunk of 64).
ENGINE_CHUNK = 16


@dataclass
class CompiledModel:
    """The loaded engine and what the rest of Springboard may ask of a model (`config`)."""

    engine: Any
    variant: CompiledVariant
    config: Any = field(default_factory=SimpleNamespace)


@dataclass
class _Call:
    """One engine call: rows (item, sequence) and the sampling settings they share."""

    rows: list[tuple[int, int]]
    sampling: tuple[int, float, float]  # top_k (1 = greedy), top_p, temperature
    seed: int | None = None  # run alone on a freshly seeded engine


class CTranslate2Generator(Generator):
    """A compiled model that answers generation requests in batches, on the CPU."""

    backend = BACKEND

    def __init__(
        self,
        spec: ModelSpec,
        model_dir: str | Path,
        options: LoadOptions | None = None,
        *,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        # Not Generator.__init__: it would load the torch weights.
        self.spec = spec
        self.model_dir = Path(model_dir)
        self.options = options or LoadOptions()
        self.quantization = check_quantize(self.options.quantize)
        variant = compile_model(spec, self.model_dir, self.quantization, on_progress=on_progress)
        if variant.cache_hit:
            log.info(
                "loading %s %s from the compiled-model cache: %s",
                spec.id,
                spec.version,
                variant.path,
            )
        self.threads = _threads()
        self.tokenizer = _load_tokenizer(self.model_dir, spec.task)
        self.device = "cpu"
        self.model = CompiledModel(
            engine=self._engine(variant.path),
            variant=variant,
            config=SimpleNamespace(model_type=BACKEND),  # never the continuous batcher's
        )
        self.context_length = self.options.context_length or spec.context_length
        eos, max_positions = _model_facts(self.model_dir)
        if spec.task is Task.TEXT_GENERATION and max_positions:
            self.context_length = min(self.context_length, max_positions)
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self._pad_id = self.tokenizer.pad_token_id
        self._token_texts: dict[int, str] = {}

    @property
    def variant(self) -> CompiledVariant:
        return self.model.variant

    def _engine(self, path: Path, *, parallel: bool | None = None) -> Any:
        """The engine, its thread budget spent as the work wants it: for batch work (jobs)
        as parallel batches of one thread each — a job's batch is cut into chunks of
        `ENGINE_CHUNK` rows, and these run side by side (measured on 2 cores, int8 T5, 64
        records: 151 records/s against 47 with both threads on one chunk at a time, whose
        small matrices split badly) — else all threads on each batch (an endpoint's
        latency). `parallel=False`: one batch at a time whatever the options (a seeded
        call: each engine thread would draw the same numbers, in no fixed order)."""
        import ctranslate2

        kind = ctranslate2.Translator if self.spec.task is Task.TEXT2TEXT else ctranslate2.Generator
        if parallel is None:
            parallel = self.options.parallel_batches
        inter, intra = (self.threads, 1) if parallel else (1, self.threads)
        try:
            return kind(
                str(path),
                device="cpu",
                compute_type=self.quantization,
                inter_threads=inter,
                intra_threads=intra,
            )
        except Exception as exc:  # a damaged cache entry or an engine refusal, cause kept
            raise ModelLoadError(
                f"could not load the compiled model in {path}: {exc}",
                field="model_dir",
                value=str(path),
            ) from exc

    # -- planning: refuse what the engine cannot do ---------------------------------------

    def plan(
        self,
        prompts: Sequence[str],
        params: DecodingParams | Sequence[DecodingParams],
        *,
        limits: RequestLimits | None = None,
        input_field: str | None = None,
    ) -> list[Planned]:
        per_prompt = [params] if isinstance(params, DecodingParams) else list(params)
        issues = {
            name: Issue(
                name,
                f"is not supported by the {BACKEND} backend",
                getattr(p, name),
                f"leave {name} out, or serve the model with the torch backend",
            )
            for p in per_prompt
            for name, off in _UNSUPPORTED.items()
            if getattr(p, name) != off
        }
        if issues:
            raise ValidationError(list(issues.values()), context="invalid request")
        return super().plan(prompts, params, limits=limits, input_field=input_field)

    # -- one pass ---------------------------------------------------------------------------

    def _run_batch(
        self,
        batch: list[Planned],
        cancelled: Cancelled | None = None,
        on_token: TokenCallback | None = None,
    ) -> list[GenerationResult]:
        if on_token is not None:
            require_streamable(batch)
        try:
            if batch[0].params.num_beams > 1:
                sequences = self._beam_search(batch)
            else:
                sequences = [[] for _ in batch]
                for call in _calls(batch):
                    for (k, _), seq in zip(
                        call.rows, self._decode(batch, call, cancelled, on_token), strict=True
                    ):
                        sequences[k].append(seq)
        except Exception as exc:  # anything that fails while running the pass fails it
            raise GenerationError(f"generation failed ({BACKEND}): {exc}") from exc
        if cancelled is not None:
            mark_cancelled(batch, sequences, cancelled)
        return [item.result(seqs) for item, seqs in zip(batch, sequences, strict=True)]

    def _tokens(self, item: Planned) -> list[str]:
        return list(self.tokenizer.convert_ids_to_tokens(list(item.prompt_ids)))

    def _ids(self, tokens: Sequence[str]) -> list[int]:
        return list(self.tokenizer.convert_tokens_to_ids(list(tokens)))

    def _beam_search(self, batch: list[Planned]) -> list[list[tuple[str, int, str]]]:
        first = batch[0].params
        options = {
            "beam_size": first.num_beams,
            "num_hypotheses": first.num_return_sequences,
            "no_repeat_ngram_size": first.no_repeat_ngram_size,
            "repetition_penalty": first.repetition_penalty,
            "end_token": sorted(self.eos_ids) or None,
            "return_end_token": True,
        }
        longest = max(item.max_new_tokens for item in batch)
        sources = [self._tokens(item) for item in batch]
        hypotheses = self._call(self.model.engine, sources, longest, options)
        return [
            [self.finish_sequence(ids, item.max_new_tokens, first.stop) for ids in found]
            for item, found in zip(batch, hypotheses, strict=True)
        ]

    def _decode(
        self,
        batch: list[Planned],
        call: _Call,
        cancelled: Cancelled | None,
        on_token: TokenCallback | None,
    ) -> list[tuple[str, int, str]]:
        """Greedy or sampled rows of one call; each ends at its own budget or stop."""
        items = [batch[k] for k, _ in call.rows]
        first = items[0].params
        top_k, top_p, temperature = call.sampling
        options: dict[str, Any] = {
            "beam_size": 1,
            "sampling_topk": top_k,
            "sampling_topp": top_p,
            "sampling_temperature": temperature,
            "no_repeat_ngram_size": first.no_repeat_ngram_size,
            "repetition_penalty": first.repetition_penalty,
            "end_token": sorted(self.eos_ids) or None,
            "return_end_token": True,
        }
        budgets = [item.max_new_tokens for item in items]
        stops = [item.params.stop for item in items]
        if on_token is not None or any(stops) or len(set(budgets)) > 1:  # see the module doc
            options["callback"] = _RowControl(self, call.rows, budgets, stops, cancelled, on_token)
        sources = [self._tokens(item) for item in items]
        if call.seed is None:
            found = self._call(self.model.engine, sources, max(budgets), options)
        else:
            import ctranslate2

            with _SEEDED_LOCK:  # the seed takes effect for engine threads started after it
                ctranslate2.set_random_seed(call.seed % 2**32)
                engine = self._engine(self.variant.path, parallel=False)
            try:
                found = self._call(engine, sources, max(budgets), options)
            finally:
                del engine
        return [
            self.finish_sequence(ids[0], item.max_new_tokens, item.params.stop)
            for item, ids in zip(items, found, strict=True)
        ]

    def _call(
        self, engine: Any, sources: list[list[str]], longest: int, options: dict[str, Any]
    ) -> list[list[list[int]]]:
        """Run the engine; per source, the ids of each returned sequence."""
        if self.spec.task is Task.TEXT2TEXT:
            results = engine.translate_batch(
                sources,
                max_decoding_length=longest,
                max_input_length=0,
                max_batch_size=ENGINE_CHUNK,
                **options,
            )
            return [[self._ids(h) for h in r.hypotheses] for r in results]
        results = engine.generate_batch(
            sources,
            max_length=longest,
            include_prompt_in_result=False,
            max_batch_size=ENGINE_CHUNK,
            **options,
        )
        return [[list(ids) for ids in r.sequences_ids] for r in results]


class _RowControl:
    """The engine's per-step callback: reports each token and ends a row at its budget,
    on one of its stop strings, or when its caller has gone (returning True stops it)."""

    def __init__(
        self,
        generator: CTranslate2Generator,
        rows: list[tuple[int, int]],
        budgets: list[int],
        stops: list[tuple[str, ...]],
        cancelled: Cancelled | None,
        on_token: TokenCallback | None,
    ) -> None:
        self.generator = generator
        self.rows = rows
        self.budgets = budgets
        self.stops = stops
        self.cancelled = cancelled
        self.on_token = on_token
        self.tokens: list[list[int]] = [[] for _ in rows]
        self.window = [max((len(s.encode()) for s in row), default=0) + 2 for row in stops]

    def __call__(self, step: Any) -> bool:
        r = step.batch_id
        k, j = self.rows[r]
        tokens = self.tokens[r]
        tokens.append(step.token_id)
        if self.on_token is not None:
            self.on_token(k, j, step.token_id, None)
        if len(tokens) >= self.budgets[r]:
            return True
        if self.cancelled is not None and self.cancelled(k):
            return True
        if self.stops[r]:
            tail = self.generator.tokenizer.decode(
                tokens[-self.window[r] :], skip_special_tokens=True
            )
            return any(s in tail for s in self.stops[r])
        return False


def _calls(batch: list[Planned]) -> list[_Call]:
    """Split a pass into engine calls: rows sharing sampling settings run together; a
    row of a seeded sampled request runs alone with its request (see the module doc)."""
    shared: dict[tuple[int, float, float], _Call] = {}
    alone: list[_Call] = []
    for k, item in enumerate(batch):
        p = item.params
        sampling = (p.top_k or 0, p.top_p, p.temperature) if p.do_sample else (1, 1.0, 1.0)
        rows = [(k, j) for j in range(item.rows)]
        if p.do_sample and p.seed is not None:
            alone.append(_Call(rows, sampling, seed=p.seed))
        else:
            shared.setdefault(sampling, _Call([], sampling)).rows.extend(rows)
    return [*shared.values(), *alone]


def _threads() -> int:
    """The process's thread budget (torch's threads were set from it at start)."""
    import torch

    return max(1, torch.get_num_threads())


def _load_tokenizer(model_dir: Path, task: Task) -> Any:
    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True, trust_remote_code=get_settings().trust_remote_code
        )
    except Exception as exc:  # any loader failure is reported the same way, cause kept
        raise ModelLoadError(
            f"could not load the tokenizer in {model_dir}: {exc}",
            field="model_dir",
            value=str(model_dir),
        ) from exc
    tokenizer.padding_side = "right" if task is Task.TEXT2TEXT else "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def _model_facts(model_dir: Path) -> tuple[Any, int | None]:
    """The end-of-sequence id(s) the torch path would use, and the position limit."""
    from transformers import AutoConfig, GenerationConfig

    try:
        eos = GenerationConfig.from_pretrained(model_dir, local_files_only=True).eos_token_id
    except OSError:
        eos = None
    config = AutoConfig.from_pretrained(
        model_dir, local_files_only=True, trust_remote_code=get_settings().trust_remote_code
    )
    if eos is None:
        eos = getattr(config, "eos_token_id", None)
    positions = getattr(config, "max_position_embeddings", None) or getattr(
        config, "n_positions", None
    )
    return eos, positions
