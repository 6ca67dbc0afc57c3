"""Serializers, as the managed SDK's: `serialize(data)` -> the request body, and the
`CONTENT_TYPE` it is sent as."""

from __future__ import annotations

import csv
import io
import json
from typing import Any


class BaseSerializer:
    CONTENT_TYPE = "application/octet-stream"

    @property
    def content_type(self) -> str:
        return self.CONTENT_TYPE

    def serialize(self, data: Any) -> Any:
        raise NotImplementedError


class SimpleBaseSerializer(BaseSerializer):
    def __init__(self, content_type: str | None = None) -> None:
        if content_type is not None:
            self.CONTENT_TYPE = content_type


class IdentitySerializer(SimpleBaseSerializer):
    """The data as it is (bytes or text)."""

    def serialize(self, data: Any) -> Any:
        return data


class JSONSerializer(SimpleBaseSerializer):
    CONTENT_TYPE = "application/json"

    def serialize(self, data: Any) -> str:
        if isinstance(data, (str, bytes)):
            return data.decode() if isinstance(data, bytes) else data
        return json.dumps(data)


class JSONLinesSerializer(SimpleBaseSerializer):
    CONTENT_TYPE = "application/jsonlines"

    def serialize(self, data: Any) -> str:
        if isinstance(data, (str, bytes)):
            return data.decode() if isinstance(data, bytes) else data
        return "\n".join(json.dumps(item) for item in data)


class StringSerializer(SimpleBaseSerializer):
    CONTENT_TYPE = "text/plain"

    def serialize(self, data: Any) -> str:
        return data if isinstance(data, str) else str(data)


class CSVSerializer(SimpleBaseSerializer):
    CONTENT_TYPE = "text/csv"

    def serialize(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        rows = data if data and isinstance(data[0], (list, tuple)) else [data]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().rstrip("\n")
