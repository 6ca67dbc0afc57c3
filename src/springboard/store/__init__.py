"""The state database: SQLAlchemy engine, sessions, ordered migrations.

A SQLite file under `SPRINGBOARD_HOME` by default (WAL mode, so a server process and the
CLI can read and write at once), PostgreSQL when `SPRINGBOARD_DATABASE_URL` says so.
Tables belong to the features that use them (registered models, endpoints, jobs); this
package only creates them, in order, once.
"""

from springboard.store import endpoint_records, job_records
from springboard.store.db import engine_for, session_scope
from springboard.store.schema import metadata

__all__ = ["endpoint_records", "engine_for", "job_records", "metadata", "session_scope"]
