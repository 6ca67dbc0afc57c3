"""Inference: payload schemas, decoding parameters, and the Generator.

`Generator.from_catalog(model_id).predict(payload)` is the whole path from a request to
its response; servers and jobs build on the same object. Names are imported lazily so
that payload validation does not load torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Generator": "springboard.inference.generator",
    "LoadOptions": "springboard.inference.loading",
    "DecodingParams": "springboard.inference.params",
    "RequestLimits": "springboard.inference.limits",
    "GenerationResult": "springboard.inference.payloads",
    "TokenLogprob": "springboard.inference.payloads",
    "IncrementalDecoder": "springboard.inference.detokenize",
    "Planned": "springboard.inference.planned",
    "ParsedRequest": "springboard.inference.payloads",
    "parse_request": "springboard.inference.payloads",
    "render_response": "springboard.inference.payloads",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'springboard.inference' has no attribute {name!r}")
