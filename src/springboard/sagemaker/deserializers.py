"""Deserializers, as the managed SDK's: `deserialize(stream, content_type)` -> a value,
where `stream` has `read()` and `close()` (a botocore body, or the bytes Springboard got)."""

from __future__ import annotations

import codecs
import json
from typing import Any


class BaseDeserializer:
    ACCEPT: tuple[str, ...] = ("*/*",)

    @property
    def accept(self) -> tuple[str, ...]:
        return self.ACCEPT

    def deserialize(self, stream: Any, content_type: str) -> Any:
        raise NotImplementedError


class SimpleBaseDeserializer(BaseDeserializer):
    def __init__(self, accept: str | tuple[str, ...] = "*/*") -> None:
        self.ACCEPT = (accept,) if isinstance(accept, str) else tuple(accept)


def _read(stream: Any) -> bytes:
    try:
        return stream.read()
    finally:
        stream.close()


class BytesDeserializer(SimpleBaseDeserializer):
    def deserialize(self, stream: Any, content_type: str) -> bytes:
        return _read(stream)


class StringDeserializer(SimpleBaseDeserializer):
    def __init__(self, encoding: str = "UTF-8", accept: str = "application/json") -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str) -> str:
        return codecs.decode(_read(stream), self.encoding)


class JSONDeserializer(SimpleBaseDeserializer):
    def __init__(self, accept: str = "application/json") -> None:
        super().__init__(accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        return json.loads(_read(stream).decode())


class JSONLinesDeserializer(SimpleBaseDeserializer):
    def __init__(self, accept: str = "application/jsonlines") -> None:
        super().__init__(accept)

    def deserialize(self, stream: Any, content_type: str) -> list[Any]:
        return [json.loads(line) for line in _read(stream).decode().splitlines() if line.strip()]


class StreamDeserializer(SimpleBaseDeserializer):
    """The stream itself and its content type (the caller reads and closes it)."""

    def deserialize(self, stream: Any, content_type: str) -> tuple[Any, str]:
        return stream, content_type
