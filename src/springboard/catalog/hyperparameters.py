"""Training hyperparameters of a catalog model: defaults, and validation of user values.

Values arrive as strings from the CLI (`--hyperparameter epochs=3`) or typed from the SDK;
both are coerced to the schema's type, bounds and choices are enforced, and every problem
is reported at once. The spec is the one place a model's defaults live: `validate`
merges them in, and the trainer reads the result through `training.config.TrainingConfig`
with no default of its own. Whether the job can actually train is `training`'s business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from springboard.catalog.spec import HyperparameterSpec, ModelSpec
from springboard.errors import Issue, ValidationError

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def _coerce(spec: HyperparameterSpec, value: Any) -> Any:
    """Convert `value` to the spec's type or raise ValueError with a user-facing reason."""
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("must be true or false")
    if spec.type == "int":
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError("must be an integer") from None
    if spec.type == "float":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError("must be a number") from None
        if math.isnan(number):  # NaN compares false with min/max, so it would pass them
            raise ValueError("must be a number")
        return number
    return str(value)


def _check(spec: HyperparameterSpec, value: Any) -> str | None:
    if spec.choices is not None and value not in spec.choices:
        return "must be one of " + ", ".join(str(c) for c in spec.choices)
    if spec.min is not None and value < spec.min:
        return f"must be >= {_fmt(spec.min)}"
    if spec.max is not None and value > spec.max:
        return f"must be <= {_fmt(spec.max)}"
    return None


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def retrieve_default(spec: ModelSpec) -> dict[str, Any]:
    """The model's default hyperparameters, by name."""
    return {h.name: h.default for h in spec.hyperparameters}


def validate(
    spec: ModelSpec, values: Mapping[str, Any], *, include_defaults: bool = True
) -> dict[str, Any]:
    """Coerce and check `values` against the spec; return them merged over the defaults.

    Raises `ValidationError` with one issue per bad name or value.
    """
    if not spec.training_supported:
        raise ValidationError(
            [
                Issue(
                    "model_id",
                    f"{spec.id} does not support training",
                    spec.id,
                    "pick a model with training_supported == true",
                )
            ]
        )
    issues: list[Issue] = []
    result = retrieve_default(spec) if include_defaults else {}
    valid = ", ".join(h.name for h in spec.hyperparameters)
    for name, raw in values.items():
        hp = spec.hyperparameter(name)
        if hp is None:
            issues.append(
                Issue(name, f"unknown hyperparameter for {spec.id}", raw, f"valid names: {valid}")
            )
            continue
        try:
            value = _coerce(hp, raw)
        except ValueError as exc:
            issues.append(Issue(name, f"{exc}; got {raw!r}", raw))
            continue
        problem = _check(hp, value)
        if problem:
            issues.append(Issue(name, f"{problem}; got {raw!r}", raw))
            continue
        result[name] = value
    if issues:
        raise ValidationError(issues, context=f"invalid hyperparameters for {spec.id}")
    return result
