"""Chat messages into one prompt, through the model's chat template.

Messages come as OpenAI's clients send them: `role` system | developer | user | assistant,
`content` a string or a list of text parts. The template is the tokenizer's own
(`chat_template`, rendered by transformers' sandboxed jinja with `apply_chat_template`) or a
deployment's file (`OPTION_CHAT_TEMPLATE`); a model with neither is refused, saying how to
give one. Tools, images and audio are not messages this module takes: it refuses them by
name. Generating from the prompt is the caller's business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from springboard.errors import ClientError, Issue, ValidationError

ROLES = ("system", "developer", "user", "assistant")


def message_texts(messages: Any) -> list[dict[str, str]]:
    """The messages as `{"role", "content"}` with text content, or every problem at once."""
    if not isinstance(messages, list) or not messages:
        raise ValidationError(
            [
                Issue(
                    "messages",
                    "must be a non-empty list of messages",
                    None,
                    'e.g. [{"role": "user", "content": "Hello"}]',
                )
            ]
        )
    issues: list[Issue] = []
    out: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            issues.append(Issue(where, "must be an object with role and content"))
            continue
        role, content = message.get("role"), message.get("content")
        for key in message:
            if key not in ("role", "content", "name"):
                issues.append(
                    Issue(
                        f"{where}.{key}",
                        "is not supported (Springboard takes text messages: role, content, name)",
                        None,
                    )
                )
        if role not in ROLES:
            issues.append(
                Issue(
                    f"{where}.role",
                    f"must be one of {', '.join(ROLES)}",
                    role if isinstance(role, str) else None,
                )
            )
        text = _text(content, f"{where}.content", issues)
        if text is not None and role in ROLES:
            out.append({"role": "system" if role == "developer" else role, "content": text})
    if issues:
        raise ValidationError(issues, context="invalid messages")
    return out


def _text(content: Any, where: str, issues: list[Issue]) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if (
                isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            ):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else None
                issues.append(
                    Issue(
                        f"{where}[{j}]",
                        f"content parts of type {kind!r} are not supported (text parts only)",
                        None,
                    )
                )
                return None
        return "".join(parts)
    issues.append(Issue(where, "must be a string or a list of text parts", None))
    return None


class ChatTemplate:
    """Renders messages into the prompt a model was trained to continue."""

    def __init__(self, tokenizer: Any, model: str, *, template_path: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.template = Path(template_path).read_text() if template_path else None
        self.source = template_path or "the tokenizer"

    @property
    def available(self) -> bool:
        return self.template is not None or bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, messages: Any) -> str:
        """The prompt for `messages`, ending where the assistant's reply begins."""
        texts = message_texts(messages)
        if not self.available:
            raise ClientError(
                f"{self.model} has no chat template, so it cannot take messages",
                field="messages",
                fix="use /v1/completions with a prompt, or deploy with "
                "OPTION_CHAT_TEMPLATE=/path/to/template.jinja (a Jinja chat template)",
            )
        try:
            prompt = self.tokenizer.apply_chat_template(
                texts, chat_template=self.template, tokenize=False, add_generation_prompt=True
            )
        except Exception as exc:  # noqa: BLE001 (the template's own checks, e.g. roles must alternate)
            raise ClientError(
                f"the chat template ({self.source}) refused these messages: {exc}",
                field="messages",
                fix="see what the model's chat template accepts",
            ) from None
        return prompt if isinstance(prompt, str) else str(prompt)
