"""AWS event-stream framing (`application/vnd.amazon.eventstream`): the binary messages the
runtime APIs stream (SageMaker `InvokeEndpointWithResponseStream`, Bedrock
`InvokeModelWithResponseStream` and `ConverseStream`), in the form botocore's
`EventStream` parser reads unchanged.

A message is: total length and headers length (uint32, big-endian), the CRC32 of those 8
bytes, the headers, the payload, and the CRC32 of everything before it. A header is its
name's length (1 byte), the name, the value type (7: string), the value's length (uint16)
and the value. Only encoding is here (our servers never read event streams), and only
string headers, which is all the runtime APIs send.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

MEDIA_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One framed message."""
    raw_headers = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 12 + len(raw_headers) + len(payload) + 4, len(raw_headers))
    framed = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw_headers + payload
    return framed + struct.pack(">I", zlib.crc32(framed))


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """An event (`:event-type` is the member name of the stream's shape, e.g. `PayloadPart`)."""
    return message(
        {":message-type": "event", ":event-type": event_type, ":content-type": content_type},
        payload,
    )


def json_event(event_type: str, body: dict[str, Any]) -> bytes:
    return event(event_type, json.dumps(body, separators=(",", ":")).encode())


def exception(exception_type: str, body: dict[str, Any]) -> bytes:
    """An error in the middle of a stream: botocore raises it from the iteration
    (`EventStreamError` naming `exception_type`)."""
    return message(
        {
            ":message-type": "exception",
            ":exception-type": exception_type,
            ":content-type": "application/json",
        },
        json.dumps(body, separators=(",", ":")).encode(),
    )
