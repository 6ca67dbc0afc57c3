"""Chat-completions replies for the endpoint benchmark: request bodies, and reading each reply
(one JSON object, or server-sent events read line by line as they arrive) into its token
count, text, finish reason and time to first token.

While reading, it checks each reply against the shape OpenAI's API gives it (SSE framing,
chunk objects, where `usage` and `finish_reason` go, the closing `data: [DONE]`) and lists
what differs, so the benchmark can report it; a difference never stops the run. It sends
nothing itself: `_load.py` sends the load and times it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Reply:
    tokens: int  # completion tokens, from the reply's usage
    text: str | None = None
    finish: str | None = None  # finish_reason
    ttft: float | None = None  # s from sending to the first chunk with content (streams)
    chunks: int = 0  # data events with content (streams)
    problems: list[str] = field(default_factory=list)


def chat_body(model: str, *, stream: bool, max_tokens: int) -> Callable[[str], dict]:
    """The request for one prompt, sent as the only user message, greedy."""
    def body(prompt: str) -> dict:
        out: dict[str, Any] = {"model": model,
                               "messages": [{"role": "user", "content": prompt}],
                               "max_tokens": max_tokens, "temperature": 0.0}
        if stream:
            out.update(stream=True, stream_options={"include_usage": True})
        return out
    return body


def read_chat(response: httpx.Response) -> Reply:
    """A non-streamed `chat.completion`."""
    problems: list[str] = []
    data = response.json()
    if data.get("object") != "chat.completion":
        problems.append(f"object is {data.get('object')!r}, not 'chat.completion'")
    choices = data.get("choices") or []
    if len(choices) != 1:
        problems.append(f"{len(choices)} choices for n=1")
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    if message.get("role") != "assistant":
        problems.append(f"message.role is {message.get('role')!r}")
    usage = data.get("usage") or {}
    if "completion_tokens" not in usage:
        problems.append("no usage.completion_tokens")
    return Reply(int(usage.get("completion_tokens", 0)), message.get("content"),
                 choice.get("finish_reason"), problems=problems)


async def read_chat_stream(response: httpx.Response, sent: float) -> Reply:
    """A streamed answer read event by event (`aiter_lines`), asked with
    `stream_options.include_usage`; `sent` is when the request left (monotonic)."""
    problems: list[str] = []
    media = response.headers.get("content-type", "")
    if not media.startswith("text/event-stream"):
        problems.append(f"Content-Type {media!r}, not text/event-stream")
    pieces: list[str] = []
    ttft: float | None = None
    usage: dict | None = None
    finish: str | None = None
    chunks = finishes = events = 0
    ids: set[str] = set()
    done = after_done = False
    role_first: bool | None = None
    async for line in response.aiter_lines():
        if not line:
            continue  # the blank line that ends an event
        if done:
            after_done = True
            continue
        if not line.startswith("data: "):
            problems.append(f"a line that is not `data: ...`: {line[:40]!r}")
            continue
        payload = line[len("data: "):]
        if payload == "[DONE]":
            done = True
            continue
        event = json.loads(payload)
        events += 1
        if "error" in event:
            raise RuntimeError(f"error event in the stream: {json.dumps(event)[:300]}")
        if event.get("object") != "chat.completion.chunk":
            problems.append(f"chunk object is {event.get('object')!r}")
        ids.add(event.get("id"))
        choices = event.get("choices")
        if choices is None:
            problems.append("a chunk without `choices`")
            choices = []
        if event.get("usage"):
            if usage is not None:
                problems.append("usage sent twice")
            usage = event["usage"]
            if choices:
                problems.append("usage on a chunk with choices (OpenAI: a last chunk of its "
                                "own, choices [])")
        elif "usage" not in event:
            problems.append("chunks lack `usage: null` although include_usage was asked")
        elif usage is not None and choices:
            problems.append("a chunk with choices after the usage chunk")
        for choice in choices:
            delta = choice.get("delta") or {}
            if role_first is None:
                role_first = delta.get("role") == "assistant"
            if finish is not None:
                problems.append("a choice chunk after the one with finish_reason")
            content = delta.get("content")
            if content:
                chunks += 1
                pieces.append(content)
                if ttft is None:
                    ttft = time.monotonic() - sent
            if choice.get("finish_reason") is not None:
                finish = choice["finish_reason"]
                finishes += 1
    if not done:
        problems.append("no `data: [DONE]` at the end")
    if after_done:
        problems.append("events after `data: [DONE]`")
    if role_first is False:
        problems.append("the first delta has no role 'assistant'")
    if finishes != 1:
        problems.append(f"{finishes} chunks with a finish_reason (OpenAI: exactly 1)")
    if len(ids) > 1:
        problems.append("chunks of one answer carry different ids")
    if usage is None or "completion_tokens" not in usage:
        problems.append("no usage chunk (stream_options.include_usage)")
        usage = {}
    return Reply(int(usage.get("completion_tokens", 0)), "".join(pieces), finish, ttft, chunks,
                 problems)


def describe_replies(replies: list[Reply], max_tokens: int) -> list[str]:
    """Lines on tokens per reply, finish reasons and shape problems."""
    tokens = sorted(r.tokens for r in replies)
    finishes = Counter(r.finish for r in replies)
    early = sum(1 for t in tokens if t < max_tokens)
    lines = [f"  replies: tokens per request min {tokens[0]}, median {tokens[len(tokens) // 2]}, "
             f"max {tokens[-1]}; {early} of {len(tokens)} ended before {max_tokens}; "
             "finish_reason " + ", ".join(f"{k} {v}" for k, v in sorted(finishes.items(),
                                                                      key=str))]
    if any(r.ttft is not None for r in replies):  # streamed
        lines[0] += f"; {sum(r.chunks for r in replies) / len(replies):.1f} content chunks/req"
        silent = sum(1 for r in replies if r.ttft is None and r.tokens)
        if silent:  # e.g. byte tokens that never make a whole character, held back for good
            lines[0] += f"; {silent} streamed no content at all (their tokens still counted)"
    problems = Counter(p for r in replies for p in set(r.problems))
    if problems:
        lines.append("  OpenAI shape: " + "; ".join(f"{text} ({n} of {len(replies)} replies)"
                                                    for text, n in problems.most_common()))
    else:
        lines.append(f"  OpenAI shape: as OpenAI sends it ({len(replies)} replies checked)")
    return lines


def compare_texts(plain: dict[str, str | None], streamed: dict[str, str | None]) -> str:
    """How many prompts got the same greedy text streamed as not."""
    common = [p for p in plain if p in streamed]
    same = sum(1 for p in common if plain[p] == streamed[p])
    return f"  streamed text == non-streamed text for {same} of {len(common)} prompts"
