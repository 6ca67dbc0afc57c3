"""The endpoint's own streaming: a payload with `"stream": true` is answered in JSON Lines
as it is generated (as TGI and the managed hubs' LMI containers stream).

Each line is `{"index": i, "token": {"text": "..."}}` — `i` numbers the returned sequences
(`prompt * num_return_sequences + sequence`) — and each sequence ends with a line that also
carries `"generated_text"` (the whole text, equal to the unstreamed answer) and
`"details": {"finish_reason", "generated_tokens", "input_tokens"}`. A failure after the
first line is a last line `{"error": {...}}`. This module only shapes lines; the tokens come
from `EndpointService.stream`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from springboard.serving.protocol import dumps
from springboard.serving.service import public_error
from springboard.serving.streams import started

MEDIA_TYPE = "application/jsonlines"


def wants_stream(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("stream") is True


async def open_stream(service: Any, payload: dict[str, Any]) -> AsyncIterator[bytes]:
    """Check and queue the request (raising as an unstreamed request would), wait for its
    first event, and return the lines to send."""
    fields = {k: v for k, v in payload.items() if k != "stream"}
    request = await asyncio.to_thread(
        service.generator.parse, fields, limits=service.settings.request_limits()
    )
    planned = await service.plan(request.prompts, request.params)
    events = await started(service.stream(planned))
    return _lines(events, request.params.num_return_sequences)


async def _lines(events: Any, per_item: int) -> AsyncIterator[bytes]:
    texts: dict[int, list[str]] = {}
    try:
        async for first in events:
            out = b""
            for event in [first, *events.ready_now()]:  # what is ready goes in one write
                index = event.item * per_item + event.seq
                texts.setdefault(index, []).append(event.text)
                line: dict[str, Any] = {"index": index, "token": {"text": event.text}}
                if event.finish_reason is not None:
                    line["generated_text"] = "".join(texts.pop(index))
                    line["details"] = {
                        "finish_reason": event.finish_reason,
                        "generated_tokens": event.output_tokens,
                        "input_tokens": event.input_tokens,
                    }
                if event.text or event.finish_reason is not None:
                    out += dumps(line) + b"\n"
            if out:
                yield out
    except Exception as exc:  # noqa: BLE001 (the stream ends with an error line, never a dropped connection)
        yield dumps({"error": public_error(exc, uuid.uuid4().hex).to_dict()}) + b"\n"
    finally:
        await events.aclose()
