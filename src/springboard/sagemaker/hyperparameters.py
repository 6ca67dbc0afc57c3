"""`hyperparameters.retrieve_default` and `validate`, as the managed SDK's: defaults as a
dict of strings (what the managed SDK returns), checked against the catalog's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from springboard.errors import Issue, ValidationError
from springboard.sdk.arguments import managed_hub_arguments


def _as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _required(model_id: str | None) -> str:
    if model_id is None:
        raise ValidationError([Issue("model_id", "is required", None, "name a catalog model")])
    return model_id


@managed_hub_arguments("hyperparameters.retrieve_default")
def retrieve_default(
    *, model_id: str | None = None, model_version: str | None = None
) -> dict[str, str]:
    """The model's default training hyperparameters, each as a string."""
    from springboard.catalog import retrieve_default as defaults

    values = defaults(_required(model_id), model_version or "*")
    return {name: _as_text(value) for name, value in values.items()}


@managed_hub_arguments("hyperparameters.validate")
def validate(
    *,
    model_id: str | None = None,
    model_version: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    validation_mode: str | None = None,
) -> None:
    """Raise `ValidationError` (every problem at once) when `hyperparameters` do not fit the
    model's schema; returns None, as the managed SDK's does."""
    from springboard.catalog import validate_hyperparameters

    validate_hyperparameters(_required(model_id), dict(hyperparameters or {}), model_version or "*")
