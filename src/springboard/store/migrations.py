"""Ordered, named schema migrations (as simonw/llm keeps them): each runs once, in order,
and is recorded in `schema_migrations`. Add new ones at the end; never edit an old one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from springboard.store.schema import (
    REDACTED,
    endpoints,
    files,
    jobs,
    jobs_kind_name,
    migrations_table,
    registered_models,
)

Migration = Callable[[Connection], None]


def m001_initial(conn: Connection) -> None:
    registered_models.create(conn, checkfirst=True)


def m002_endpoints(conn: Connection) -> None:
    endpoints.create(conn, checkfirst=True)


def m003_jobs(conn: Connection) -> None:
    jobs.create(conn, checkfirst=True)


# The deployment settings as m004 knew them (a migration must not change with later code).
_M004_SETTINGS = frozenset(
    {
        "OPTION_N_POSITIONS",
        "OPTION_MAX_ROLLING_BATCH_SIZE",
        "OPTION_DTYPE",
        "OPTION_TENSOR_PARALLEL_DEGREE",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT",
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "SPRINGBOARD_MAX_QUEUE_SIZE",
        "SPRINGBOARD_MAX_PAYLOAD_MB",
        "SPRINGBOARD_BATCH_WAIT_MS",
        "OPTION_ROLLING_BATCH",
    }
)


def m004_redact_endpoint_env(conn: Connection) -> None:
    """Earlier versions kept every `deploy --env` value (HF_TOKEN=... too); keep only the
    deployment settings' values, and the other variables' names."""
    rows = conn.execute(select(endpoints.c.name, endpoints.c.env)).all()
    for name, env in rows:
        redacted = {k: v if k in _M004_SETTINGS else REDACTED for k, v in (env or {}).items()}
        if redacted != env:
            conn.execute(update(endpoints).where(endpoints.c.name == name).values(env=redacted))


def m005_unique_job_names(conn: Connection) -> None:
    """Job names become unique per kind. Earlier versions let transform and training jobs
    share a name: the oldest keeps it, a later one becomes NAME-ID."""
    seen: set[tuple[str, str]] = set()
    rows = conn.execute(
        select(jobs.c.id, jobs.c.kind, jobs.c.name).order_by(jobs.c.created_at, jobs.c.id)
    ).all()
    for job_id, kind, name in rows:
        if (kind, name) in seen:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(name=f"{name[: 99 - len(job_id)]}-{job_id}")
            )
        seen.add((kind, name))
    jobs_kind_name.create(conn, checkfirst=True)


def m006_files(conn: Connection) -> None:
    files.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", m001_initial),
    ("m002_endpoints", m002_endpoints),
    ("m003_jobs", m003_jobs),
    ("m004_redact_endpoint_env", m004_redact_endpoint_env),
    ("m005_unique_job_names", m005_unique_job_names),
    ("m006_files", m006_files),
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
