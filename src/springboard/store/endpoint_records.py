"""Rows of the `endpoints` table: insert, read, update, remove. No lifecycle logic —
that is `serving.endpoints`; this module only moves rows in and out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from springboard.config import Settings
from springboard.store.db import engine_for, session_scope
from springboard.store.schema import endpoints


class DuplicateNameError(Exception):
    """A row with that name exists already."""


def insert(row: dict[str, Any], settings: Settings | None = None) -> None:
    now = datetime.now(UTC)
    try:
        with session_scope(settings) as conn:
            conn.execute(endpoints.insert().values(**row, created_at=now, updated_at=now))
    except IntegrityError:
        raise DuplicateNameError(row["name"]) from None


def get(name: str, settings: Settings | None = None) -> dict[str, Any] | None:
    with engine_for(settings).connect() as conn:
        row = conn.execute(select(endpoints).where(endpoints.c.name == name)).mappings().first()
    return dict(row) if row else None


def list_all(settings: Settings | None = None) -> list[dict[str, Any]]:
    with engine_for(settings).connect() as conn:
        rows = conn.execute(select(endpoints).order_by(endpoints.c.created_at)).mappings().all()
    return [dict(r) for r in rows]


def update_row(name: str, settings: Settings | None = None, *,
               only_if_status: tuple[str, ...] | None = None, **values: Any) -> bool:
    """Update a row; with `only_if_status`, only when its status is one of those.

    Returns whether a row changed (a compare-and-set, so two processes cannot both win).
    """
    stmt = update(endpoints).where(endpoints.c.name == name)
    if only_if_status:
        stmt = stmt.where(endpoints.c.status.in_(only_if_status))
    with session_scope(settings) as conn:
        result = conn.execute(stmt.values(**values, updated_at=datetime.now(UTC)))
    return result.rowcount > 0


def remove(name: str, settings: Settings | None = None) -> None:
    with session_scope(settings) as conn:
        conn.execute(delete(endpoints).where(endpoints.c.name == name))
