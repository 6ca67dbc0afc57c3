"""Decoding parameters as the Generator sees them: one normalised form for both payload
formats, with the rules a user expects checked once, here.

Payload parsing (field names, response shapes) lives in `payloads`; this module only
knows what a set of decoding settings may be and how the fields interact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from springboard.errors import Issue

# Only these parameters change how a batched `model.generate` call behaves as a whole;
# requests that differ in them cannot share one forward pass. Everything else
# (temperature, top-k/p, seed, lengths, stop strings, logprobs, presence and frequency
# penalties) is applied per row.
BATCH_WIDE = ("num_beams", "no_repeat_ngram_size", "repetition_penalty", "early_stopping")

MAX_LOGPROBS = 20  # alternatives per token, as OpenAI allows
MAX_PENALTY = 2.0  # presence_penalty / frequency_penalty lie in [-2, 2] (OpenAI's range)
# Per-row settings beam search cannot honour: beams are scored on the shared sequence.
_PER_ROW_ONLY = ("logprobs", "presence_penalty", "frequency_penalty")


@dataclass(frozen=True)
class DecodingParams:
    """Validated decoding settings for one prompt."""

    max_new_tokens: int | None = None
    max_length: int | None = None  # counts the prompt for causal models, not for text2text
    num_return_sequences: int = 1
    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    early_stopping: bool = False
    # None: no logprobs; 0: the chosen token's logprob; N: also the N likeliest tokens.
    logprobs: int | None = None
    # OpenAI's penalties on tokens this sequence already generated (not the prompt):
    # presence once per token seen, frequency once per time it was seen.
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one `generate` call."""
        key = tuple(getattr(self, name) for name in BATCH_WIDE)
        # Beam search returns all sequences of a row from one call; lengths are shared.
        if self.num_beams > 1:
            key += (self.num_return_sequences, self.max_new_tokens, self.max_length)
        return key

    def with_seed(self, seed: int) -> DecodingParams:
        return replace(self, seed=seed)


def beam_conflicts(params: DecodingParams) -> list[Issue]:
    """Per-row settings asked for together with beam search, which cannot honour them."""
    if params.num_beams <= 1:
        return []
    defaults = DecodingParams()
    return [
        Issue(
            name,
            f"cannot be combined with beam search (num_beams={params.num_beams})",
            getattr(params, name),
            "use num_beams=1 (with do_sample for several sequences)",
        )
        for name in _PER_ROW_ONLY
        if getattr(params, name) != getattr(defaults, name)
    ]


def resolve_decoding(values: dict[str, Any]) -> tuple[DecodingParams, list[Issue]]:
    """Apply the cross-field rules to already type-checked `values` (None = not given).

    Returns the params and every rule broken, so callers can report all of them at once.
    """
    issues: list[Issue] = []
    given = {k: v for k, v in values.items() if v is not None}
    temperature = given.get("temperature")
    top_k, top_p = given.get("top_k"), given.get("top_p")
    if temperature is not None and temperature < 0:
        issues.append(
            Issue("temperature", f"must be >= 0 (0 means greedy); got {temperature}", temperature)
        )
    if top_p is not None and not 0 < top_p <= 1:
        issues.append(Issue("top_p", f"must be in (0, 1]; got {top_p}", top_p))
    if top_k is not None and top_k < 0:
        issues.append(Issue("top_k", f"must be >= 0 (0 disables it); got {top_k}", top_k))
    for name in ("max_length", "max_new_tokens", "num_return_sequences", "num_beams", "batch_size"):
        if name in given and given[name] < 1:
            issues.append(
                Issue(name, f"must be a positive integer; got {given[name]}", given[name])
            )
    ngram = given.get("no_repeat_ngram_size")
    if ngram is not None and ngram <= 1:
        issues.append(
            Issue(
                "no_repeat_ngram_size",
                f"must be > 1; got {ngram}",
                ngram,
                "leave it out to allow repeats",
            )
        )
    penalty = given.get("repetition_penalty")
    if penalty is not None and penalty <= 0:
        issues.append(Issue("repetition_penalty", f"must be > 0; got {penalty}", penalty))
    logprobs = given.get("logprobs")
    if logprobs is not None and not 0 <= logprobs <= MAX_LOGPROBS:
        issues.append(
            Issue(
                "logprobs",
                f"must be in 0..{MAX_LOGPROBS} (0 = the chosen token only); got {logprobs}",
                logprobs,
            )
        )
    for name in ("presence_penalty", "frequency_penalty"):
        value = given.get(name)
        if value is not None and not -MAX_PENALTY <= value <= MAX_PENALTY:  # NaN too
            issues.append(
                Issue(name, f"must be in [-{MAX_PENALTY:g}, {MAX_PENALTY:g}]; got {value}", value)
            )
    seed = given.get("seed")
    if seed is not None and not 0 <= seed < 2**63:
        issues.append(Issue("seed", f"must be in [0, 2^63); got {seed}", seed))

    # Sampling: explicit do_sample wins; otherwise asking for temperature/top-k/top-p means
    # sampling (as TGI does). Temperature 0 always means greedy.
    do_sample = given.get("do_sample")
    if do_sample is None:
        do_sample = (
            (temperature is not None and temperature > 0)
            or top_p is not None
            or (top_k is not None and top_k > 0)
        )
    if temperature == 0:
        do_sample = False
    nrs = given.get("num_return_sequences", 1)
    num_beams = given.get("num_beams")
    if num_beams is None:
        num_beams = nrs if (nrs > 1 and not do_sample) else 1
    elif nrs > num_beams and not do_sample:
        issues.append(
            Issue(
                "num_beams",
                f"must be >= num_return_sequences ({nrs}) for beam search; got {num_beams}",
                num_beams,
                f"set num_beams to at least {nrs}, or do_sample to true",
            )
        )
    if do_sample and num_beams > 1:
        issues.append(
            Issue(
                "num_beams",
                f"beam search (num_beams={num_beams}) cannot be combined with sampling",
                num_beams,
                "use num_beams=1 with do_sample, or do_sample=false with beams",
            )
        )
    stop = given.get("stop") or []
    if any(not s for s in stop):
        issues.append(Issue("stop", "stop sequences must be non-empty strings", stop))

    params = DecodingParams(
        max_new_tokens=given.get("max_new_tokens"),
        max_length=given.get("max_length"),
        num_return_sequences=nrs,
        num_beams=num_beams,
        do_sample=bool(do_sample),
        temperature=temperature if temperature else 1.0,
        top_k=top_k or 0,
        top_p=top_p if top_p is not None else 1.0,
        seed=seed,
        stop=tuple(stop),
        no_repeat_ngram_size=ngram or 0,
        repetition_penalty=penalty or 1.0,
        early_stopping=bool(given.get("early_stopping", False)),
        logprobs=logprobs,
        presence_penalty=float(given.get("presence_penalty", 0.0)),
        frequency_penalty=float(given.get("frequency_penalty", 0.0)),
    )
    if not any(i.field == "num_beams" for i in issues):
        issues += beam_conflicts(params)
    return params, issues
