"""OpenAI requests into Springboard's generation requests, and results back into OpenAI's
responses and stream chunks.

One OpenAI request becomes prompts (the completion prompts, or the chat template applied to
the messages) and one `DecodingParams`: `max_tokens`/`max_completion_tokens` → new tokens,
`temperature` (OpenAI's default 1 samples; 0 is greedy), `top_p`, `n`, `stop`, `seed`,
`logprobs`/`top_logprobs`, `presence_penalty`, `frequency_penalty`. `n` sampled choices are
returned sequences of one prompt; `n` greedy choices are the prompt run `n` times (they are
equal). Choice `i` of prompt `p` has index `p * n + i`. Engine finish reasons become
OpenAI's: `stop` (end of sequence or a stop string) or `length`. This module neither reads
HTTP nor runs a model.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from springboard.api.openai.protocol import ChatRequest, CompletionRequest, _Request, unsupported
from springboard.errors import Issue, ValidationError
from springboard.inference.limits import RequestLimits, decoding_issues
from springboard.inference.params import DecodingParams, resolve_decoding

COMPLETIONS_DEFAULT_MAX_TOKENS = 16  # OpenAI's documented default for /v1/completions
FINISH = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}
# our names -> OpenAI's, for errors about the decoding settings
PARAM_NAMES = {
    "max_new_tokens": "max_tokens",
    "num_return_sequences": "n",
    "logprobs": "logprobs",
    "top_p": "top_p",
    "temperature": "temperature",
    "seed": "seed",
    "stop": "stop",
}


@dataclass
class Plan:
    """What one OpenAI request asks the model for."""

    kind: str  # "completion" | "chat"
    id: str
    created: int
    model: str
    prompts: list[str]  # one per planned item, in item order
    params: DecodingParams
    n: int
    per_item: int  # returned sequences per planned item (n, or 1 when greedy)
    logprobs: int | None  # top alternatives asked for (0 = the chosen token only)
    stream: bool
    include_usage: bool
    stop_extra: list[str] = field(default_factory=list)

    def choice(self, item: int, seq: int) -> int:
        return item * self.per_item + seq

    @property
    def choices(self) -> int:
        return len(self.prompts) * self.per_item

    def counted_prompt(self, item: int) -> bool:
        """Whether item's prompt tokens count in usage (a greedy prompt run n times counts once)."""
        return self.per_item == self.n or item % self.n == 0


def plan_completion(request: CompletionRequest, *, model: str, limits: RequestLimits) -> Plan:
    prompts = [request.prompt] if isinstance(request.prompt, str) else list(request.prompt)
    issues = unsupported(request)
    if not prompts:
        issues.append(Issue("prompt", "must not be an empty list"))
    max_tokens = request.max_tokens or COMPLETIONS_DEFAULT_MAX_TOKENS
    params, more = _decoding(request, max_tokens, request.logprobs, limits, extra_stop=[])
    _raise(issues + more)
    return _plan("completion", "cmpl", request, model, prompts, params, request.logprobs)


def plan_chat(
    request: ChatRequest,
    prompt: str,
    *,
    model: str,
    limits: RequestLimits,
    chat_stop: list[str],
    context_length: int,
) -> Plan:
    """`prompt` is the messages through the chat template; `chat_stop` ends the turn."""
    issues = unsupported(request)
    max_tokens = request.max_completion_tokens or request.max_tokens
    logprobs = (request.top_logprobs or 0) if request.logprobs else None
    params, more = _decoding(
        request, max_tokens, logprobs, limits, extra_stop=chat_stop, rest_of=context_length
    )
    _raise(issues + more)
    return _plan(
        "chat", "chatcmpl", request, model, [prompt], params, logprobs, stop_extra=chat_stop
    )


def _plan(
    kind: str,
    prefix: str,
    request: _Request,
    model: str,
    prompts: list[str],
    params: DecodingParams,
    logprobs: int | None,
    stop_extra: list[str] | None = None,
) -> Plan:
    per_item = request.n if params.do_sample else 1
    expanded = prompts if per_item == request.n else [p for p in prompts for _ in range(request.n)]
    options = request.stream_options
    return Plan(
        kind=kind,
        id=f"{prefix}-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=model,
        prompts=expanded,
        params=params,
        n=request.n,
        per_item=per_item,
        logprobs=logprobs,
        stream=request.stream,
        include_usage=bool(options and options.include_usage),
        stop_extra=list(stop_extra or []),
    )


def _decoding(
    request: _Request,
    max_tokens: int | None,
    logprobs: int | None,
    limits: RequestLimits,
    *,
    extra_stop: list[str],
    rest_of: int | None = None,
) -> tuple[DecodingParams, list[Issue]]:
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    if len(stop) > 4:
        return DecodingParams(), [Issue("stop", "takes at most 4 sequences", len(stop))]
    temperature = 1.0 if request.temperature is None else request.temperature
    sampling = temperature > 0
    values: dict[str, Any] = {
        "max_new_tokens": max_tokens,
        # no max given (chat): up to the rest of the context, as the reference servers do
        "max_length": rest_of if max_tokens is None else None,
        "temperature": temperature,
        "do_sample": sampling,
        "top_p": request.top_p if sampling else None,
        "num_return_sequences": request.n if sampling else None,
        "num_beams": 1,
        "seed": request.seed,
        "stop": [*stop, *(s for s in extra_stop if s not in stop)] or None,
        "logprobs": logprobs,
        "presence_penalty": request.presence_penalty or None,
        "frequency_penalty": request.frequency_penalty or None,
    }
    params, issues = resolve_decoding(values)
    issues += decoding_issues({k: v for k, v in values.items() if v is not None}, limits)
    for issue in issues:
        issue.field = PARAM_NAMES.get(issue.field or "", issue.field)
    return params, issues


def _raise(issues: list[Issue]) -> None:
    if issues:
        raise ValidationError(issues, context="invalid request")


# -- responses --------------------------------------------------------------------------------


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def finish_reason(reason: str | None) -> str | None:
    return None if reason is None else FINISH.get(reason, reason)


def completion_logprobs(entries: list[Any], offset: int = 0) -> dict[str, Any]:
    """The legacy completions `logprobs` object for a run of tokens."""
    tokens, offsets, position = [], [], offset
    for entry in entries:
        tokens.append(entry.text)
        offsets.append(position)
        position += len(entry.text)
    return {
        "tokens": tokens,
        "token_logprobs": [e.logprob for e in entries],
        "top_logprobs": [{text: lp for _, text, lp in e.top} for e in entries],
        "text_offset": offsets,
    }


def chat_logprobs(entries: list[Any]) -> dict[str, Any]:
    """The chat `logprobs` object: per token, its text, logprob, bytes and alternatives."""
    return {
        "content": [
            {
                "token": e.text,
                "logprob": e.logprob,
                "bytes": list(e.text.encode()),
                "top_logprobs": [
                    {"token": text, "logprob": lp, "bytes": list(text.encode())}
                    for _, text, lp in e.top
                ],
            }
            for e in entries
        ],
        "refusal": None,
    }


def response(
    plan: Plan, results: list[Any], *, hidden: Collection[int] = frozenset()
) -> dict[str, Any]:
    """The whole (non-streamed) answer: one choice per returned sequence. Tokens in
    `hidden` (end of sequence) get no logprobs entry."""
    choices: list[dict[str, Any]] = []
    prompt_tokens = completion_tokens = 0
    for item, result in enumerate(results):
        if plan.counted_prompt(item):
            prompt_tokens += result.input_tokens
        completion_tokens += sum(result.output_tokens)
        for seq, text in enumerate(result.texts):
            entries = (
                [e for e in result.logprobs[seq] if e.token_id not in hidden]
                if plan.logprobs is not None and result.logprobs
                else None
            )
            choice: dict[str, Any] = {
                "index": plan.choice(item, seq),
                "finish_reason": finish_reason(result.finish_reasons[seq]),
            }
            if plan.kind == "chat":
                choice["message"] = {"role": "assistant", "content": text, "refusal": None}
                choice["logprobs"] = chat_logprobs(entries) if entries is not None else None
            else:
                choice["text"] = text
                choice["logprobs"] = completion_logprobs(entries) if entries is not None else None
            choices.append(choice)
    choices.sort(key=lambda c: c["index"])
    return {
        "id": plan.id,
        "object": "chat.completion" if plan.kind == "chat" else "text_completion",
        "created": plan.created,
        "model": plan.model,
        "choices": choices,
        "usage": usage(prompt_tokens, completion_tokens),
        "system_fingerprint": None,
    }


def chunk(
    plan: Plan, choices: list[dict[str, Any]], *, usage_totals: dict[str, int] | None = None
) -> dict[str, Any]:
    """One stream chunk; with `include_usage`, every chunk has `usage` (null until the last)."""
    out: dict[str, Any] = {
        "id": plan.id,
        "object": "chat.completion.chunk" if plan.kind == "chat" else "text_completion",
        "created": plan.created,
        "model": plan.model,
        "choices": choices,
        "system_fingerprint": None,
    }
    if plan.include_usage:
        out["usage"] = usage_totals
    return out


def delta_choice(
    plan: Plan,
    index: int,
    text: str | None,
    *,
    role: bool = False,
    reason: str | None = None,
    entries: list[Any] | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """One choice of a stream chunk."""
    logprobs = None
    if entries is not None and plan.logprobs is not None:
        logprobs = (
            chat_logprobs(entries) if plan.kind == "chat" else completion_logprobs(entries, offset)
        )
    if plan.kind == "chat":
        delta: dict[str, Any] = (
            {"role": "assistant", "content": ""} if role else ({"content": text} if text else {})
        )
        return {
            "index": index,
            "delta": delta,
            "logprobs": logprobs,
            "finish_reason": finish_reason(reason),
        }
    return {
        "index": index,
        "text": text or "",
        "logprobs": logprobs,
        "finish_reason": finish_reason(reason),
    }
