"""Cursor paging as OpenAI's list calls do it: the items after the one whose id is
`after`, at most `limit` of them, and whether more follow. Ordering is the caller's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from springboard.errors import NotFoundError

T = TypeVar("T")


def page(
    items: Sequence[T], id_of: Callable[[T], str], *, after: str | None, limit: int, what: str
) -> tuple[list[T], bool]:
    """A page of `items`; an `after` that names none of them is a NotFoundError."""
    start = 0
    if after is not None:
        ids = [id_of(item) for item in items]
        if after not in ids:
            raise NotFoundError(f"no {what} {after}", field="after", value=after)
        start = ids.index(after) + 1
    rest = items[start:]
    return list(rest[:limit]), len(rest) > limit
