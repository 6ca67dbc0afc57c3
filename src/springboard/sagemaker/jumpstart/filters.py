"""`jumpstart.filters.And` / `Or`, as the managed SDK's: filter expressions joined into
one that the catalog's filter language reads (`task == text2text and ...`)."""

from __future__ import annotations


class _Joined(str):
    word = ""

    def __new__(cls, *operands: str) -> _Joined:
        return super().__new__(cls, f" {cls.word} ".join(f"({o})" for o in operands))


class And(_Joined):
    word = "and"


class Or(_Joined):
    word = "or"
