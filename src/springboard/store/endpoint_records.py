"""Rows of the `endpoints` table, and the endpoint state machine they move through.

Statuses: `Creating` → `InService` | `Failed`, and `Deleting` while it drains. Every
status change goes through `transition`, which checks `TRANSITIONS` and applies the
change as a compare-and-set on the current status, so an illegal or racing change (a
server that finishes loading after its endpoint was marked Failed or is being deleted)
cannot happen; `update_row` with a `status` goes the same way. When a change happens is
`serving.endpoints`' and the server's business, not this module's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from springboard.config import Settings
from springboard.errors import ConflictError
from springboard.store.db import engine_for, session_scope
from springboard.store.schema import endpoints


class EndpointStatus(StrEnum):
    CREATING = "Creating"
    IN_SERVICE = "InService"
    FAILED = "Failed"
    DELETING = "Deleting"


E = EndpointStatus
TRANSITIONS: dict[EndpointStatus, frozenset[EndpointStatus]] = {
    E.CREATING: frozenset({E.IN_SERVICE, E.FAILED, E.DELETING}),
    E.IN_SERVICE: frozenset({E.FAILED, E.DELETING}),
    E.FAILED: frozenset({E.DELETING}),
    E.DELETING: frozenset({E.FAILED}),  # its process died before the row was removed
}
LIVE = frozenset({E.CREATING, E.IN_SERVICE, E.DELETING})  # a server process should be running


class DuplicateNameError(Exception):
    """A row with that name exists already."""


class IllegalEndpointTransitionError(ConflictError):
    """A status change the endpoint state machine does not allow."""


def sources(target: EndpointStatus) -> tuple[str, ...]:
    """Every status from which `target` may be reached."""
    return tuple(s.value for s, targets in TRANSITIONS.items() if target in targets)


def insert(row: dict[str, Any], settings: Settings | None = None) -> None:
    """Record a new endpoint; it starts `Creating`."""
    if row.get("status") != EndpointStatus.CREATING:
        raise ValueError(f"a new endpoint starts Creating, not {row.get('status')}")
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


def transition(
    name: str,
    target: EndpointStatus,
    settings: Settings | None = None,
    *,
    expected: tuple[str, ...] | None = None,
    message: str | None = None,
    **values: Any,
) -> bool:
    """Move an endpoint to `target` if its current status allows it (and, with
    `expected`, is one of those); return whether it moved."""
    allowed = sources(EndpointStatus(target))
    if expected is not None:
        allowed = tuple(s for s in allowed if s in expected)
    if not allowed:
        return False
    stmt = (
        update(endpoints)
        .where((endpoints.c.name == name) & endpoints.c.status.in_(allowed))
        .values(
            status=EndpointStatus(target).value,
            status_message=message,
            **values,
            updated_at=datetime.now(UTC),
        )
    )
    with session_scope(settings) as conn:
        return conn.execute(stmt).rowcount > 0


def require(
    name: str,
    target: EndpointStatus,
    settings: Settings | None = None,
    *,
    message: str | None = None,
    **values: Any,
) -> None:
    """Like `transition`, but a refusal is an error naming both statuses."""
    if not transition(name, target, settings, message=message, **values):
        current = (get(name, settings) or {}).get("status")
        raise IllegalEndpointTransitionError(
            f"endpoint {name} is {current}; it cannot become {EndpointStatus(target).value}",
            field="status",
            value=current,
            fix="allowed from: " + ", ".join(sources(target)),
        )


def update_row(
    name: str,
    settings: Settings | None = None,
    *,
    only_if_status: tuple[str, ...] | None = None,
    **values: Any,
) -> bool:
    """Update a row; with `only_if_status`, only when its status is one of those. A
    `status` among `values` is a `transition` (refused, returning False, when illegal).

    Returns whether a row changed (a compare-and-set, so two processes cannot both win).
    """
    if "status" in values:
        target = values.pop("status")
        message = values.pop("status_message", None)
        return transition(
            name,
            EndpointStatus(target),
            settings,
            expected=only_if_status,
            message=message,
            **values,
        )
    stmt = update(endpoints).where(endpoints.c.name == name)
    if only_if_status:
        stmt = stmt.where(endpoints.c.status.in_(only_if_status))
    with session_scope(settings) as conn:
        result = conn.execute(stmt.values(**values, updated_at=datetime.now(UTC)))
    return result.rowcount > 0


def remove(name: str, settings: Settings | None = None) -> None:
    with session_scope(settings) as conn:
        conn.execute(delete(endpoints).where(endpoints.c.name == name))
