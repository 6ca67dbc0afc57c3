"""The user-facing SDK, named after the managed hub's so notebooks port by changing an
import: `Model` (alias `JumpStartModel`), `Predictor` and `Transformer`.

Names are imported lazily, so importing one SDK module (the CLI reads
`sdk.self_consistency.RunSettings` for its option defaults) does not load the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Estimator": "springboard.sdk.estimator",
    "JumpStartEstimator": "springboard.sdk.estimator",
    "JumpStartModel": "springboard.sdk.model",
    "Model": "springboard.sdk.model",
    "Predictor": "springboard.sdk.predictor",
    "Transformer": "springboard.sdk.transformer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'springboard.sdk' has no attribute {name!r}")
