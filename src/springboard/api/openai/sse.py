"""Server-sent events as OpenAI streams them: `data: <json>\\n\\n` per chunk, a
`data: {"error": ...}` event for a failure after the stream began, `data: [DONE]\\n\\n` last.
"""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPE = "text/event-stream"
DONE = b"data: [DONE]\n\n"
# no proxy buffering, no caching: a token should reach the client when it is made
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data: Any) -> bytes:
    return (
        b"data: "
        + json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        + b"\n\n"
    )
