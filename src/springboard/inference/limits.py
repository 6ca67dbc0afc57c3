"""Upper bounds on what one request may ask for, checked before any work is done.

A request for an absurd amount of work — `top_k` of 10**20, 3,000 returned sequences,
2,000 beams, a 20,000-item input list, a 6 MB prompt, an array nested 100,000 deep — is
refused with a 400 that names the field and the limit, before it is tokenized or
queued: it can neither crash the batch it would share nor hold the model long after its
caller has gone. The defaults are generous for real use; the Generator holds them
(`LoadOptions.limits`), so endpoints and batch jobs enforce the same ones, and an
endpoint changes them with the `SPRINGBOARD_MAX_*` variables (`serving.settings`).
This module only checks values; parsing payloads is `payloads`' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from springboard.errors import Issue, shown

INT64_MAX = 2**63 - 1
# A payload is at most a few levels deep ({"parameters": {"stop": ["..."]}}); anything far
# deeper is an attack on the recursive parsers and printers that would handle it.
MAX_NESTING = 32
# Stop strings are looked for after every token; a few short ones are what anyone needs.
MAX_STOP_SEQUENCES = 64
MAX_STOP_CHARS = 1000


class RequestLimits(BaseModel):
    """The most one request may ask for. Each bound is a multiple of real use, not a tuning knob."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Vocabularies hold 32k-256k tokens; past a few hundred the cut no longer changes
    # what is sampled, and `top_k: 0` (no cut) is always allowed.
    max_top_k: int = Field(
        1000, ge=1, le=INT64_MAX, description="Largest `top_k` (0, no cut, is always allowed)."
    )
    # Each returned sequence is a batch row; 16 is the default rolling batch size.
    max_return_sequences: int = Field(
        16, ge=1, le=4096, description="Most `num_return_sequences` per input."
    )
    # Beam search costs a row per beam; widths past ~10 rarely improve the answer.
    max_beams: int = Field(
        16,
        ge=1,
        le=4096,
        description="Most `num_beams` (also the beams a greedy `num_return_sequences` implies).",
    )
    # As many prompts as the default queue holds requests.
    max_inputs: int = Field(
        256,
        ge=1,
        le=1_000_000,
        description="Most prompts in a list input (`text_inputs`/`inputs`), and lines in a JSON Lines body.",
    )
    # ~25,000 tokens at ~4 characters a token: past every default context but the largest,
    # and about 0.1 s to tokenize; a 6 MB prompt took 6 s.
    max_prompt_chars: int = Field(
        100_000,
        ge=1,
        le=INT64_MAX,
        description="Longest prompt, in characters, checked before it is tokenized.",
    )


# The variable an endpoint sets each limit with (`serving.settings` reads them).
LIMIT_ENV: dict[str, str] = {
    "max_top_k": "SPRINGBOARD_MAX_TOP_K",
    "max_return_sequences": "SPRINGBOARD_MAX_RETURN_SEQUENCES",
    "max_beams": "SPRINGBOARD_MAX_BEAMS",
    "max_inputs": "SPRINGBOARD_MAX_INPUTS",
    "max_prompt_chars": "SPRINGBOARD_MAX_PROMPT_CHARS",
}

# payload field -> the limit on it
_FIELD_LIMITS = {
    "top_k": "max_top_k",
    "num_return_sequences": "max_return_sequences",
    "num_beams": "max_beams",
}
# integer fields without a limit of their own still have to fit the int64 of a tensor
_INT_FIELDS = ("max_length", "max_new_tokens", "batch_size", "no_repeat_ngram_size")


def raise_fix(limit: str, hint: str = "") -> str:
    """How to get past `limit`: the request's side first, then the deployment's."""
    head = f"{hint}; " if hint else ""
    return f"{head}an endpoint can allow more with {LIMIT_ENV[limit]}"


def over_limit(
    field: str, value: int, limit: str, limits: RequestLimits, *, hint: str = ""
) -> Issue:
    bound = getattr(limits, limit)
    return Issue(
        field,
        f"must be at most {bound} (limit {limit}); got {shown(value)}",
        value,
        raise_fix(limit, hint or f"send at most {bound}"),
    )


def decoding_issues(given: dict[str, Any], limits: RequestLimits) -> list[Issue]:
    """The type-checked decoding fields in `given` that exceed their limit or int64."""
    issues = []
    for name, limit in _FIELD_LIMITS.items():
        value = given.get(name)
        if isinstance(value, int) and value > getattr(limits, limit):
            hint = "0 samples from the whole vocabulary" if name == "top_k" else ""
            issues.append(over_limit(name, value, limit, limits, hint=hint))
    for name in _INT_FIELDS:
        value = given.get(name)
        if isinstance(value, int) and abs(value) > INT64_MAX:
            issues.append(
                Issue(
                    name,
                    f"must fit in 64 bits (at most {INT64_MAX}); got {shown(value)}",
                    value,
                    "ask for at most the model's context length"
                    if name in ("max_length", "max_new_tokens")
                    else None,
                )
            )
    return issues


def input_issues(name: str, value: Any, limits: RequestLimits) -> list[Issue]:
    """A raw input (a string or a list) with too many items or too long a prompt.

    Runs on the payload as sent, before validation, so a 20,000-item list costs one
    `len` rather than 20,000 validations."""
    if isinstance(value, list) and len(value) > limits.max_inputs:
        return [
            Issue(
                name,
                f"has {len(value)} items; at most {limits.max_inputs} are "
                "accepted (limit max_inputs)",
                len(value),
                raise_fix("max_inputs", "split it over several requests"),
            )
        ]
    return prompt_issues(
        name, value if isinstance(value, list) else [value], limits, listed=isinstance(value, list)
    )


def prompt_issues(
    name: str, prompts: Sequence[Any], limits: RequestLimits, *, listed: bool = True
) -> list[Issue]:
    """Prompts longer than `max_prompt_chars`, or not text a tokenizer accepts (a lone
    surrogate such as "\\ud800" is valid JSON but not Unicode text), each named
    `name[i]` (or `name` alone)."""
    issues = []
    bound = limits.max_prompt_chars
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            continue
        where = f"{name}[{i}]" if listed else name
        if len(prompt) > bound:
            issues.append(
                Issue(
                    where,
                    f"is {len(prompt)} characters; at most {bound} are "
                    "accepted (limit max_prompt_chars)",
                    len(prompt),
                    raise_fix("max_prompt_chars", "shorten the prompt"),
                )
            )
        elif not _is_text(prompt):
            issues.append(
                Issue(
                    where,
                    "contains an unpaired surrogate escape (\\ud800-\\udfff), which is not text",
                    None,
                    "escape whole characters only",
                )
            )
    return issues


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stop_issues(name: str, value: Any) -> list[Issue]:
    """A raw `stop` list with too many strings, or strings too long to look for."""
    if not isinstance(value, list):
        return []
    if len(value) > MAX_STOP_SEQUENCES:
        return [
            Issue(
                name,
                f"has {len(value)} strings; at most {MAX_STOP_SEQUENCES} are accepted",
                len(value),
                "keep the few that end an answer",
            )
        ]
    return [
        Issue(
            f"{name}[{i}]",
            f"is {len(s)} characters; at most {MAX_STOP_CHARS} are accepted",
            len(s),
            "a stop string only needs to be unambiguous",
        )
        for i, s in enumerate(value)
        if isinstance(s, str) and len(s) > MAX_STOP_CHARS
    ]


def nesting_issue(name: str | None, value: Any, limit: int = MAX_NESTING) -> Issue | None:
    """An issue when `value` nests lists/objects deeper than `limit` (checked without
    recursion, so any depth is safe to check)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return Issue(
                name,
                f"nests arrays/objects more than {limit} levels deep",
                None,
                'send a flat payload, e.g. {"inputs": "...", "parameters": {...}}',
            )
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None
