"""The managed SDK's exceptions that ported code catches."""

from __future__ import annotations

from typing import Any


class UnexpectedStatusException(ValueError):
    """A waited-for job ended in a status other than the allowed ones (as the managed SDK's:
    a `ValueError` with `allowed_statuses` and `actual_status`)."""

    def __init__(self, message: str, allowed_statuses: Any, actual_status: str) -> None:
        super().__init__(message)
        self.allowed_statuses = allowed_statuses
        self.actual_status = actual_status
