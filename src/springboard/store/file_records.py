"""Rows of the `files` table (uploaded files' metadata; the bytes are on disk, where
`springboard.files` keeps them). Only storage: what a file may hold is not checked here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from springboard.config import Settings
from springboard.store.db import engine_for, session_scope
from springboard.store.schema import files


def insert(row: dict[str, Any], settings: Settings | None = None) -> None:
    with session_scope(settings) as conn:
        conn.execute(files.insert().values(**row))


def get(file_id: str, settings: Settings | None = None) -> dict[str, Any] | None:
    with engine_for(settings).connect() as conn:
        row = conn.execute(select(files).where(files.c.id == file_id)).mappings().first()
    return dict(row) if row else None


def ids(settings: Settings | None = None) -> set[str]:
    """Every file's id."""
    with engine_for(settings).connect() as conn:
        return set(conn.execute(select(files.c.id)).scalars())


def page(
    *,
    purpose: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 20,
    newest_first: bool = True,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` rows in (created_at, id) order, starting after the row `after`."""
    order = (files.c.created_at, files.c.id)
    stmt = select(files).order_by(*(c.desc() for c in order) if newest_first else order)
    if purpose is not None:
        stmt = stmt.where(files.c.purpose == purpose)
    if after is not None:
        created, file_id = after
        if newest_first:
            stmt = stmt.where(
                (files.c.created_at < created)
                | ((files.c.created_at == created) & (files.c.id < file_id))
            )
        else:
            stmt = stmt.where(
                (files.c.created_at > created)
                | ((files.c.created_at == created) & (files.c.id > file_id))
            )
    with engine_for(settings).connect() as conn:
        rows = conn.execute(stmt.limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def remove(file_id: str, settings: Settings | None = None) -> bool:
    with session_scope(settings) as conn:
        return conn.execute(delete(files).where(files.c.id == file_id)).rowcount > 0
