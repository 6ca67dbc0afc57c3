"""Rows of the `jobs` table. Status changes go through `set_status`, a compare-and-set
on the current status, so two processes (a worker and `jobs stop`) cannot both win a
race. Which changes are legal is `jobs.states`' business, not this module's. A job's
name is unique among its kind (a unique index): a second insert raises
`DuplicateNameError`, however close together the two come."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from springboard.config import Settings
from springboard.store.db import engine_for, session_scope
from springboard.store.schema import jobs, jobs_kind_name


class DuplicateNameError(Exception):
    """A job of that kind with that name exists already."""


def insert(row: dict[str, Any], settings: Settings | None = None) -> None:
    now = datetime.now(UTC)
    try:
        with session_scope(settings) as conn:
            conn.execute(jobs.insert().values(**row, created_at=now, updated_at=now))
    except IntegrityError as exc:
        detail = str(exc.orig)
        if str(jobs_kind_name.name) in detail or "jobs.kind, jobs.name" in detail:
            raise DuplicateNameError(row["name"]) from None
        raise


def get(job_id: str, settings: Settings | None = None) -> dict[str, Any] | None:
    with engine_for(settings).connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return dict(row) if row else None


def find(
    *,
    kind: str | None = None,
    status: str | None = None,
    client_token: str | None = None,
    name: str | None = None,
    status_in: tuple[str, ...] | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Rows matching every filter given, oldest first."""
    stmt = select(jobs).order_by(jobs.c.created_at, jobs.c.id)
    for column, value in (
        (jobs.c.kind, kind),
        (jobs.c.status, status),
        (jobs.c.client_token, client_token),
        (jobs.c.name, name),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if status_in is not None:
        stmt = stmt.where(jobs.c.status.in_(status_in))
    with engine_for(settings).connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings().all()]


def update_row(job_id: str, settings: Settings | None = None, **values: Any) -> None:
    with session_scope(settings) as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(**values, updated_at=datetime.now(UTC))
        )


def update_columns(job_id: str, values: dict[str, Any], settings: Settings | None = None) -> None:
    """`update_row` for columns whose names its keywords take (`settings`)."""
    with session_scope(settings) as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(**values, updated_at=datetime.now(UTC))
        )


def set_status(
    job_id: str,
    expected: tuple[str, ...],
    status: str,
    settings: Settings | None = None,
    **values: Any,
) -> bool:
    """Move `job_id` to `status` only if its status is one of `expected`; report success."""
    with session_scope(settings) as conn:
        result = conn.execute(
            update(jobs)
            .where((jobs.c.id == job_id) & jobs.c.status.in_(expected))
            .values(status=status, **values, updated_at=datetime.now(UTC))
        )
    return result.rowcount > 0


def ids_starting_with(prefix: str, settings: Settings | None = None) -> list[str]:
    """Ids of the jobs whose id starts with `prefix` (`%` and `_` in it are literal), oldest
    first."""
    stmt = (
        select(jobs.c.id)
        .where(jobs.c.id.startswith(prefix, autoescape=True))
        .order_by(jobs.c.created_at, jobs.c.id)
    )
    with engine_for(settings).connect() as conn:
        return [str(r) for r in conn.execute(stmt).scalars().all()]


def delete_if_status(
    job_id: str, status_in: tuple[str, ...], settings: Settings | None = None
) -> bool:
    """Remove the row only while its status is one of `status_in` (a compare-and-set, so
    a job resumed meanwhile is kept); report whether it was removed."""
    with session_scope(settings) as conn:
        result = conn.execute(
            delete(jobs).where((jobs.c.id == job_id) & jobs.c.status.in_(status_in))
        )
    return result.rowcount > 0
