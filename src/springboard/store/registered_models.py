"""Models registered at run time (fine-tuned results), stored as spec JSON.

The catalog reads them beside the shipped specs and validates them; training writes
them. This module only stores spec dictionaries (the store sits below the catalog).
Reading does not create the database when it does not exist yet, so `models list` on a
fresh machine stays read-only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from springboard.config import Settings, get_settings
from springboard.store.db import engine_for, session_scope
from springboard.store.schema import registered_models


def _database_exists(settings: Settings) -> bool:
    url = settings.resolved_database_url
    return (
        not url.startswith("sqlite")
        or (settings.home / "state.db").exists()
        or settings.database_url is not None
    )


def list_registered(settings: Settings | None = None) -> list[dict[str, Any]]:
    settings = settings or get_settings()
    if not _database_exists(settings):
        return []
    with engine_for(settings).connect() as conn:
        rows = conn.execute(select(registered_models.c.spec)).scalars().all()
    return list(rows)


def register(
    spec: dict[str, Any], note: str | None = None, settings: Settings | None = None
) -> None:
    """Add or replace a registered model (same id and version)."""
    with session_scope(settings) as conn:
        conn.execute(
            delete(registered_models).where(
                (registered_models.c.id == spec["id"])
                & (registered_models.c.version == spec["version"])
            )
        )
        conn.execute(
            registered_models.insert().values(
                id=spec["id"],
                version=spec["version"],
                spec=spec,
                created_at=datetime.now(UTC),
                note=note,
            )
        )


def database_exists(settings: Settings | None = None) -> bool:
    """Whether the state database is there (asking the store would create it)."""
    return _database_exists(settings or get_settings())


def versions_of(model_id: str, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The specs registered under `model_id` (every version); empty when none."""
    settings = settings or get_settings()
    if not _database_exists(settings):
        return []
    with engine_for(settings).connect() as conn:
        rows = conn.execute(
            select(registered_models.c.spec).where(registered_models.c.id == model_id)
        )
        return list(rows.scalars().all())


def unregister(model_id: str, settings: Settings | None = None) -> int:
    """Remove every version registered under `model_id`; how many rows went."""
    with session_scope(settings) as conn:
        result = conn.execute(delete(registered_models).where(registered_models.c.id == model_id))
    return result.rowcount
