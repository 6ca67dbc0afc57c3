"""Inference payloads: the request and response shapes of both task formats.

text2text (`{"text_inputs": ..., "max_length": ...}` → `{"generated_texts": [...]}`) and
text-generation (`{"inputs": ..., "parameters": {...}}` → `[{"generated_text": ...}]`).
Unknown keys are refused with the list of allowed ones and a did-you-mean (`max_tokens` ->
`max_new_tokens`, `prompt` -> the task's prompt key); every problem is reported at once.
Sizes are checked first (`limits`): a payload nested too deep, a list with too many
inputs or a prompt too long is refused before anything else looks at it.
`prompt_key`, `payload_for` and `task_of_payload` are the one statement of which key holds
the prompt for which task (`text_inputs` for text2text, `inputs` for text-generation).
Turning prompts into text is the Generator's job; this module only parses and renders.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from springboard.catalog.spec import Task
from springboard.errors import Issue, ValidationError, issues_from_pydantic
from springboard.inference.limits import (
    MAX_NESTING,
    RequestLimits,
    decoding_issues,
    input_issues,
    nesting_issue,
    over_limit,
    stop_issues,
)
from springboard.inference.params import DecodingParams, resolve_decoding

# task -> the payload key that holds the prompt(s)
PROMPT_KEYS: dict[Task, str] = {Task.TEXT2TEXT: "text_inputs", Task.TEXT_GENERATION: "inputs"}


def prompt_key(task: Task | str) -> str:
    """Where a payload for a model of `task` (a `Task` or its value) holds its prompt(s)."""
    return PROMPT_KEYS[Task(task)]


def payload_for(
    task: Task | str, prompts: str | list[str], parameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A payload for a model of `task`: text2text takes its parameters beside the prompt,
    text-generation under `parameters`."""
    task = Task(task)
    if task is Task.TEXT2TEXT:
        return {**(parameters or {}), prompt_key(task): prompts}
    return {prompt_key(task): prompts, "parameters": dict(parameters or {})}


def task_of_payload(payload: Mapping[str, Any]) -> Task | None:
    """The task whose shape `payload` has, told by its prompt key (None: neither's)."""
    return next((task for task, key in PROMPT_KEYS.items() if key in payload), None)


class _Payload(BaseModel):
    # NaN/inf pass every `<`/`>` rule in `params` (NaN compares false), so refuse them here.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Decoding(_Payload):
    """Fields shared by both formats (types only; rules live in `params`)."""

    max_length: int | None = Field(
        None, description="Max tokens: output (text2text) or prompt+output (causal)."
    )
    max_new_tokens: int | None = Field(None, description="Max generated tokens, prompt excluded.")
    num_return_sequences: int | None = Field(None, description="Sequences returned per input.")
    num_beams: int | None = Field(None, description="Beams for beam search (1 = none).")
    no_repeat_ngram_size: int | None = Field(
        None, description="Forbid repeating n-grams of this size (> 1)."
    )
    temperature: float | None = Field(None, description="Sampling temperature; 0 means greedy.")
    early_stopping: bool | None = Field(
        None, description="Beam search stops when every beam is done."
    )
    do_sample: bool | None = Field(None, description="Sample instead of greedy/beam decoding.")
    top_k: int | None = Field(None, description="Sample from the k most likely tokens (0 = all).")
    top_p: float | None = Field(None, description="Nucleus sampling mass, in (0, 1].")
    seed: int | None = Field(None, description="Seed for reproducible sampling, per request.")
    stop: list[str] | None = Field(None, description="Stop generating at any of these strings.")
    batch_size: int | None = Field(
        None, description="Split a list input into micro-batches of this size."
    )
    repetition_penalty: float | None = Field(None, description="Penalty > 1 discourages repeats.")


class Text2TextRequest(_Decoding):
    """`{"text_inputs": str | [str], <decoding fields>}`."""

    text_inputs: str | list[str]


class TextGenerationParameters(_Decoding):
    return_full_text: bool | None = Field(None, description="Prepend the prompt to the output.")
    details: bool | None = Field(None, description="Add token counts, finish reason and seed.")


class TextGenerationRequest(_Payload):
    """`{"inputs": str | [str], "parameters": {...}}`."""

    inputs: str | list[str]
    parameters: TextGenerationParameters = TextGenerationParameters()


@dataclass(frozen=True)
class ParsedRequest:
    """A payload reduced to what the Generator needs."""

    task: Task
    prompts: list[str]
    is_list: bool
    params: DecodingParams
    batch_size: int | None
    return_full_text: bool = False
    details: bool = False


# Names other APIs use (OpenAI/completions, Bedrock, TGI) -> ours; `prompt` depends on the task.
ALIASES: dict[str, str] = {
    "max_tokens": "max_new_tokens",
    "stop_sequences": "stop",
    "n": "num_return_sequences",
}


def suggest_field(name: str, task: Task) -> str | None:
    """The field a payload for a model of `task` most likely meant by the unknown key
    `name` (a path as reported, e.g. `parameters.max_tokens`), as it should be sent."""
    prefix, _, key = name.rpartition(".")
    if key == "prompt":
        return prompt_key(task)
    decoding = TextGenerationParameters if task is Task.TEXT_GENERATION else Text2TextRequest
    known = [f for f in decoding.model_fields if f not in PROMPT_KEYS.values()]
    if task is Task.TEXT_GENERATION and not prefix:
        top = difflib.get_close_matches(key, ["inputs", "parameters"], 1, 0.75)
        if top:
            return top[0]
    close = difflib.get_close_matches(key, known, 1, 0.75)
    target = ALIASES.get(key) or (close[0] if close else None)
    if target is None:
        return None
    # text-generation keeps its decoding fields under `parameters`
    return f"parameters.{target}" if task is Task.TEXT_GENERATION else target


def _issues(exc: pydantic.ValidationError, model: type[BaseModel], task: Task) -> list[Issue]:
    def allowed(name: str | None) -> str:
        target = TextGenerationParameters if name and name.startswith("parameters.") else model
        return ", ".join(target.model_fields)

    issues = issues_from_pydantic(exc, allowed=allowed)
    for issue in issues:
        if issue.message == "unknown field" and issue.field:
            suggestion = suggest_field(issue.field, task)
            if suggestion and suggestion != issue.field:
                issue.fix = f"did you mean `{suggestion}`? " + (issue.fix or "")
    return issues


def _validate(
    model: type[_Payload],
    payload: dict[str, Any],
    task: Task,
    *,
    wrong: str,
    right: str,
    limits: RequestLimits,
) -> Any:
    """Validate types; on failure report them together with the rule violations of the
    fields that did have the right type, so one round trip shows every problem."""
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        issues = _issues(exc, model, task)
    if wrong in payload and right not in payload:
        issues.insert(
            0, Issue(wrong, f"this model is {task.value}: send `{right}`", None, _example(task))
        )
    prefix = "" if task is Task.TEXT2TEXT else "parameters."
    source = payload if task is Task.TEXT2TEXT else payload.get("parameters")
    if isinstance(source, dict):
        bad = {(i.field or "").removeprefix(prefix).split(".")[0] for i in issues}
        typed = {k: v for k, v in source.items() if k in _Decoding.model_fields and k not in bad}
        try:
            values = _Decoding.model_validate(typed).model_dump(exclude_none=True)
        except pydantic.ValidationError:
            values = {}
        for issue in resolve_decoding(values)[1] + decoding_issues(values, limits):
            issue.field = prefix + (issue.field or "")
            issues.append(issue)
    raise ValidationError(issues, context="invalid request")


def _check_inputs(name: str, value: str | list[str]) -> list[Issue]:
    if isinstance(value, list) and not value:
        return [Issue(name, "must not be an empty list", value)]
    return []


def _size_issues(payload: dict[str, Any], limits: RequestLimits) -> list[Issue]:
    """Limits checked on the payload as sent, before validation does work in proportion
    to its size: the number of inputs and stop strings, nesting depth, prompt lengths."""
    issues = []
    for name in PROMPT_KEYS.values():
        if name in payload:
            issues += input_issues(name, payload[name], limits)
    parameters = payload.get("parameters")
    for prefix, fields in (("", payload), ("parameters.", parameters)):
        if isinstance(fields, dict) and "stop" in fields:
            issues += stop_issues(prefix + "stop", fields["stop"])
    if issues:
        return issues
    return [
        issue
        for key, value in payload.items()
        if (issue := nesting_issue(str(key), value, MAX_NESTING - 1)) is not None
    ]


def parse_request(
    payload: Any,
    task: Task,
    defaults: dict[str, Any] | None = None,
    limits: RequestLimits | None = None,
) -> ParsedRequest:
    """Validate `payload` for a model of `task`; defaults (from the catalog) fill gaps.

    `limits` (the defaults when None) bound what the payload may ask for. Raises
    `ValidationError` listing every problem, each naming its field.
    """
    if not isinstance(payload, dict):
        raise ValidationError(
            [
                Issue(
                    None,
                    f"the payload must be a JSON object; got {type(payload).__name__}",
                    _preview(payload),
                    _example(task),
                )
            ]
        )
    limits = limits or RequestLimits()
    if too_big := _size_issues(payload, limits):
        raise ValidationError(too_big, context="invalid request")
    defaults = dict(defaults or {})
    if task is Task.TEXT2TEXT:
        request = _validate(
            Text2TextRequest,
            payload,
            task,
            wrong=prompt_key(Task.TEXT_GENERATION),
            right=prompt_key(task),
            limits=limits,
        )
        fields = request.model_dump(exclude={"text_inputs"}, exclude_none=True)
        inputs, prefix, extras = request.text_inputs, "", {}
    else:
        request_tg = _validate(
            TextGenerationRequest,
            payload,
            task,
            wrong=prompt_key(Task.TEXT2TEXT),
            right=prompt_key(task),
            limits=limits,
        )
        fields = request_tg.parameters.model_dump(exclude_none=True)
        extras = {k: fields.pop(k) for k in ("return_full_text", "details") if k in fields}
        inputs, prefix = request_tg.inputs, "parameters."
    name = prompt_key(task)
    # A length the user gave replaces the default length of the other kind.
    if "max_length" in fields or "max_new_tokens" in fields:
        defaults.pop("max_length", None)
        defaults.pop("max_new_tokens", None)
    merged = {**defaults, **fields}
    # A greedy or beam-search request must not inherit sampling defaults it did not ask for.
    beams = (fields.get("num_beams") or 1) > 1 and "do_sample" not in fields
    if fields.get("do_sample") is False or fields.get("temperature") == 0 or beams:
        for key in ("temperature", "top_p", "top_k"):
            if key not in fields:
                merged.pop(key, None)
    params, issues = resolve_decoding(merged)
    issues += decoding_issues(fields, limits)
    if (
        params.num_beams > limits.max_beams
        and "num_beams" not in fields
        and not any(i.field == "num_return_sequences" for i in issues)
    ):
        issues.append(
            over_limit(
                "num_return_sequences",
                params.num_return_sequences,
                "max_beams",
                limits,
                hint="greedy decoding returns several sequences by beam "
                "search, one beam each: set do_sample to true, or ask for fewer",
            )
        )
    for issue in issues:
        if issue.field:
            issue.field = prefix + issue.field
    issues = _check_inputs(name, inputs) + issues
    if issues:
        raise ValidationError(issues, context="invalid request")
    is_list = isinstance(inputs, list)
    return ParsedRequest(
        task=task,
        prompts=list(inputs) if is_list else [inputs],
        is_list=is_list,
        params=params,
        batch_size=merged.get("batch_size"),
        return_full_text=bool(extras.get("return_full_text", False)),
        details=bool(extras.get("details", False)),
    )


def _preview(value: Any) -> Any:
    """A non-object payload, shortened for the error body (it may be megabytes)."""
    if isinstance(value, (str, list)) and len(value) > 100:
        return f"a {type(value).__name__} of length {len(value)}"
    return value


def _example(task: Task) -> str:
    if task is Task.TEXT2TEXT:
        return 'e.g. {"text_inputs": "Translate to German: hello", "max_length": 50}'
    return 'e.g. {"inputs": "Once upon a time", "parameters": {"max_new_tokens": 32}}'


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token and how likely the model found it.

    `logprob` is the log-softmax of the model's logits at that step, before temperature,
    top-k/top-p and the presence/frequency penalties (so it says what the model thinks,
    not how it was sampled). `top` holds the likeliest alternatives as (token id, text,
    logprob), most likely first. `text` is the token decoded alone (a piece of a
    multi-byte character decodes to U+FFFD)."""

    token_id: int
    text: str
    logprob: float
    top: list[tuple[int, str, float]]


@dataclass(frozen=True)
class GenerationResult:
    """What the Generator produced for one prompt: its sequences and their costs.

    `logprobs`, when the request asked for them, holds per sequence one entry per output
    token (as many as `output_tokens` counts, the end-of-sequence token included)."""

    texts: list[str]
    input_tokens: int
    output_tokens: list[int]
    finish_reasons: list[str]
    seed: int | None = None
    logprobs: list[list[TokenLogprob]] | None = None


def render_response(request: ParsedRequest, results: list[GenerationResult]) -> Any:
    """The response body for `request`, in its task's format."""
    nrs = request.params.num_return_sequences
    if request.task is Task.TEXT2TEXT:
        per_input: list[Any] = [r.texts[0] if nrs == 1 else r.texts for r in results]
        if not request.is_list:
            per_input = results[0].texts
        return {"generated_texts": per_input}

    def entries(prompt: str, result: GenerationResult) -> list[dict[str, Any]]:
        out = []
        for i, text in enumerate(result.texts):
            entry: dict[str, Any] = {
                "generated_text": prompt + text if request.return_full_text else text
            }
            if request.details:
                entry["details"] = {
                    "finish_reason": result.finish_reasons[i],
                    "generated_tokens": result.output_tokens[i],
                    "prompt_tokens": result.input_tokens,
                    "seed": result.seed,
                }
            out.append(entry)
        return out

    rendered = [entries(p, r) for p, r in zip(request.prompts, results, strict=True)]
    if not request.is_list:
        return rendered[0]
    return [e[0] if nrs == 1 else e for e in rendered]
