"""The model catalog: which models exist, their versions, licences and hyperparameters.

`springboard.catalog.list_models(filter=...)`, `get_model(id, version)`,
`retrieve_default(id)` and `validate_hyperparameters(id, values)` are the SDK's entry
points; the data lives in `specs/*.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from springboard.catalog.eula import require_eula
from springboard.catalog.filters import parse_filter
from springboard.catalog.hyperparameters import retrieve_default as _defaults
from springboard.catalog.hyperparameters import validate as _validate
from springboard.catalog.registry import Catalog, load_spec_file
from springboard.catalog.spec import (
    DeploymentPreset,
    HardwareProfile,
    HyperparameterSpec,
    ModelSpec,
    Source,
    SourceKind,
    Task,
)

__all__ = [
    "Catalog",
    "DeploymentPreset",
    "HardwareProfile",
    "HyperparameterSpec",
    "ModelSpec",
    "Source",
    "SourceKind",
    "Task",
    "get_model",
    "list_models",
    "load_catalog",
    "load_spec_file",
    "parse_filter",
    "require_eula",
    "retrieve_default",
    "validate_hyperparameters",
]


def load_catalog() -> Catalog:
    """The catalog as configured now (shipped specs, user specs, registered models)."""
    return Catalog.load()


def list_models(filter: str | None = None, *, all_versions: bool = False) -> list[ModelSpec]:
    return load_catalog().list(filter, all_versions=all_versions)


def get_model(model_id: str, version: str = "*") -> ModelSpec:
    return load_catalog().get(model_id, version)


def retrieve_default(model_id: str, version: str = "*") -> dict[str, Any]:
    """Default training hyperparameters of a catalog model."""
    return _defaults(get_model(model_id, version))


def validate_hyperparameters(
    model_id: str, values: Mapping[str, Any], version: str = "*"
) -> dict[str, Any]:
    """Coerce and check `values`; return them merged over the defaults."""
    return _validate(get_model(model_id, version), values)
