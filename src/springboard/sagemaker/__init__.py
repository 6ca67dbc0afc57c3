"""`springboard.sagemaker`: the managed hub's SDK, module for module, on Springboard.

A notebook written for the managed SDK ports by replacing `sagemaker` with
`springboard.sagemaker` in its import lines: `jumpstart.model.JumpStartModel`,
`jumpstart.estimator.JumpStartEstimator`, `estimator.Estimator`, `model.Model`,
`predictor.Predictor`, `transformer.Transformer`, `hyperparameters`, `instance_types`,
`image_uris`, `model_uris`, `script_uris`, `utils`, `s3`, `serializers`, `deserializers`,
`session.Session`, `TrainingJobAnalytics`, `get_execution_role`. Signatures are the managed
SDK's; the work is `springboard.sdk`'s, and URIs are Springboard's own (`uris`). Arguments
with no meaning on this machine are accepted and logged once (`sdk.arguments.MANAGED_HUB`);
unknown ones are a `TypeError` naming the nearest known one. Names load lazily, so
`import springboard.sagemaker` does not import torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Session": "springboard.sagemaker.session",
    "get_execution_role": "springboard.sagemaker.session",
    "TrainingJobAnalytics": "springboard.sagemaker.analytics",
    "Estimator": "springboard.sagemaker.estimator",
    "Model": "springboard.sagemaker.model",
    "Predictor": "springboard.sagemaker.predictor",
    "Transformer": "springboard.sagemaker.transformer",
    "TrainingInput": "springboard.sagemaker.inputs",
}
_MODULES = (
    "analytics",
    "deserializers",
    "estimator",
    "exceptions",
    "hyperparameters",
    "image_uris",
    "inputs",
    "instance_types",
    "jumpstart",
    "model",
    "model_uris",
    "predictor",
    "s3",
    "script_uris",
    "serializers",
    "session",
    "transformer",
    "uris",
    "utils",
)

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return import_module(f"springboard.sagemaker.{name}")
    raise AttributeError(f"module 'springboard.sagemaker' has no attribute {name!r}")
