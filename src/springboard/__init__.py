"""Springboard: a self-hosted hub for large language models.

The SDK's names are imported lazily, so `import springboard` (and `springboard --help`)
stays fast and does not load torch until a model is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Model": "springboard.sdk",
    "JumpStartModel": "springboard.sdk",
    "Predictor": "springboard.sdk",
    "Transformer": "springboard.sdk",
    "Estimator": "springboard.sdk",
    "JumpStartEstimator": "springboard.sdk",
    "Template": "springboard.prompting",
    "Prompter": "springboard.prompting",
    "Generator": "springboard.inference",
    "LoadOptions": "springboard.inference",
    "Catalog": "springboard.catalog",
    "ModelSpec": "springboard.catalog",
    "SpringboardError": "springboard.errors",
    "ClientError": "springboard.errors",
    "ServerError": "springboard.errors",
    "ValidationError": "springboard.errors",
    "NotFoundError": "springboard.errors",
    "EulaNotAcceptedError": "springboard.errors",
    "ArtifactNotAvailableError": "springboard.errors",
    "ContextLengthError": "springboard.errors",
    "get_settings": "springboard.config",
}

__all__ = [*sorted(_EXPORTS), "catalog", "hyperparameters", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in ("catalog", "hyperparameters"):
        return import_module(f"springboard.{name}")
    raise AttributeError(f"module 'springboard' has no attribute {name!r}")
