"""Ordered, named schema migrations (as simonw/llm keeps them): each runs once, in order,
and is recorded in `schema_migrations`. Add new ones at the end; never edit an old one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from springboard.store.schema import endpoints, jobs, migrations_table, registered_models

Migration = Callable[[Connection], None]


def m001_initial(conn: Connection) -> None:
    registered_models.create(conn, checkfirst=True)


def m002_endpoints(conn: Connection) -> None:
    endpoints.create(conn, checkfirst=True)


def m003_jobs(conn: Connection) -> None:
    jobs.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", m001_initial),
    ("m002_endpoints", m002_endpoints),
    ("m003_jobs", m003_jobs),
]


def migrate(conn: Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now."""
    migrations_table.create(conn, checkfirst=True)
    done = set(conn.execute(select(migrations_table.c.name)).scalars())
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        step(conn)
        conn.execute(migrations_table.insert().values(name=name, applied_at=datetime.now(UTC)))
        applied.append(name)
    return applied
