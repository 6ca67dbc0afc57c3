"""What an uploaded file must hold, per purpose, checked line by line before it is kept.

`batch`: JSON Lines of requests, each `{"custom_id", "method": "POST", "url", "body"}` with
a unique `custom_id`, `url` `/v1/chat/completions` or `/v1/completions` and a `body`
object. `fine-tune`: JSON Lines of examples, each with `messages` (a list of
`{"role", "content"}`) or `prompt` and `completion` strings. Every problem is reported
with its line number and field (up to `MAX_ISSUES`), so one upload shows them all.
Whether a model can serve or learn from the lines is checked later, by the batch or the
fine-tuning job that uses the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from springboard.errors import Issue, ValidationError

PURPOSES = ("batch", "fine-tune")
BATCH_URLS = ("/v1/chat/completions", "/v1/completions")
ROLES = ("system", "user", "assistant")
MAX_ISSUES = 20


def _batch_line(line: dict[str, Any], where: str, seen: set[str]) -> list[Issue]:
    issues = []
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        issues.append(Issue(f"{where}.custom_id", "is required (a non-empty string)", custom_id))
    elif custom_id in seen:
        issues.append(
            Issue(f"{where}.custom_id", "repeats an earlier line's", custom_id, "make each unique")
        )
    else:
        seen.add(custom_id)
    if line.get("method") != "POST":
        issues.append(Issue(f"{where}.method", "must be POST", line.get("method")))
    if line.get("url") not in BATCH_URLS:
        issues.append(
            Issue(
                f"{where}.url", "is not a batch endpoint", line.get("url"), " or ".join(BATCH_URLS)
            )
        )
    if not isinstance(line.get("body"), dict):
        issues.append(
            Issue(f"{where}.body", "must be a JSON object (the request)", line.get("body"))
        )
    unknown = sorted(set(line) - {"custom_id", "method", "url", "body"})
    if unknown:
        issues.append(
            Issue(
                f"{where}.{unknown[0]}",
                "unknown field",
                None,
                "allowed: custom_id, method, url, body",
            )
        )
    return issues


def _fine_tune_line(line: dict[str, Any], where: str, _seen: set[str]) -> list[Issue]:
    if "messages" in line:
        messages = line["messages"]
        if not isinstance(messages, list) or not messages:
            return [Issue(f"{where}.messages", "must be a non-empty list", messages)]
        for i, message in enumerate(messages):
            if (
                not isinstance(message, dict)
                or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)
            ):
                return [
                    Issue(
                        f"{where}.messages[{i}]",
                        'must be {"role": "system" | "user" | "assistant", "content": "..."}',
                        message,
                    )
                ]
        if messages[-1].get("role") != "assistant":
            return [
                Issue(f"{where}.messages", "must end with the assistant's reply (what to learn)")
            ]
        return []
    issues = [
        Issue(f"{where}.{name}", "is required (a string), or give `messages`", line.get(name))
        for name in ("prompt", "completion")
        if not isinstance(line.get(name), str)
    ]
    return issues


CHECKS: dict[str, Callable[[dict[str, Any], str, set[str]], list[Issue]]] = {
    "batch": _batch_line,
    "fine-tune": _fine_tune_line,
}


def check(purpose: str, content: bytes) -> int:
    """The number of lines of `content` if it suits `purpose`; ValidationError otherwise."""
    if purpose not in CHECKS:
        raise ValidationError(
            [Issue("purpose", "is not supported", purpose, " or ".join(PURPOSES))]
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            [Issue("file", f"is not UTF-8 text (byte {exc.start})", None, "upload JSON Lines")]
        ) from None
    issues: list[Issue] = []
    seen: set[str] = set()
    count = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        count += 1
        where = f"line {number}"
        try:
            line = json.loads(raw)
        except ValueError as exc:
            issues.append(Issue(where, f"is not valid JSON ({exc})"))
        else:
            if isinstance(line, dict):
                issues += CHECKS[purpose](line, where, seen)
            else:
                issues.append(Issue(where, "must be a JSON object", type(line).__name__))
        if len(issues) >= MAX_ISSUES:
            issues.append(Issue("file", f"has more problems; the first {MAX_ISSUES} are shown"))
            break
    if not count and not issues:
        issues.append(
            Issue("file", "holds no lines", None, "upload JSON Lines, one request per line")
        )
    if issues:
        raise ValidationError(issues)
    return count
