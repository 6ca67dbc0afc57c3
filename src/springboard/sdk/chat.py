"""`ChatSession`: a conversation with an endpoint, its history kept here, each reply
streamed from the endpoint's OpenAI chat route as it is generated.

The history grows by a user message and the assistant's reply per turn; a reply that was
interrupted (the caller stopped reading it) is not kept, so the next turn starts clean.
What a terminal shows is the CLI's business (`springboard chat`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from springboard.serving import client


class ChatSession:
    """Chat with endpoint `endpoint_name`; `parameters` (temperature, max_tokens, top_p,
    seed, stop, ...) go with every request as OpenAI chat fields."""

    def __init__(self, endpoint_name: str, *, system: str | None = None, **parameters: Any) -> None:
        self.endpoint_name = endpoint_name
        self.system = system
        self.parameters = {k: v for k, v in parameters.items() if v is not None}
        self.history: list[dict[str, str]] = []

    def messages(self, text: str) -> list[dict[str, str]]:
        start = [{"role": "system", "content": self.system}] if self.system else []
        return [*start, *self.history, {"role": "user", "content": text}]

    def send(self, text: str) -> Iterator[str]:
        """Stream the reply to `text`; the turn joins the history once the reply is whole."""
        pieces = []
        for piece in client.stream_chat(self.endpoint_name, self.messages(text), **self.parameters):
            pieces.append(piece)
            yield piece
        self.history += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": "".join(pieces)},
        ]

    def reset(self) -> None:
        self.history.clear()
