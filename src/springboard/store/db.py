"""Engines and sessions for the state database, created lazily, migrated on first use.

A SQLite database is a private file: the home folder 0700, `state.db` created 0600 before
SQLite opens it (SQLite gives its `-wal` and `-shm` files the database's mode), and
looser ones left by an older version tightened. Migrations run once per database even
when several processes or threads open a new one at the same moment: one engine per URL
per process, and the first migrator holds the database's write lock while it works.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url

from springboard import permissions
from springboard.config import Settings, get_settings
from springboard.store.migrations import migrate


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_MIGRATION_LOCK_ID = 0x5B_0001  # PostgreSQL advisory lock key held while migrating


def _engine(url: str) -> Engine:
    with _engines_lock:  # two threads opening the database first must not both migrate
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
    return engine


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    with engine.connect() as conn:
        # Another process may be migrating the same new database: take its write lock
        # first, so this one waits, then finds every migration applied.
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
        migrate(conn)
        conn.commit()
    return engine


def engine_for(settings: Settings | None = None) -> Engine:
    """The migrated engine for the configured database (one per URL per process)."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        permissions.ensure_home(settings.home)
        _private_sqlite_file(url)
    return _engine(url)


def _private_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite does (it would use 0644), and tighten
    one (and its -wal/-shm) that an older version left readable."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports the missing folder in its own words
    permissions.create_private(path)  # an empty file is a valid, empty database
    for suffix in ("-wal", "-shm"):
        permissions.tighten(Path(f"{path}{suffix}"))


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on error."""
    with engine_for(settings).begin() as conn:
        yield conn
