"""Inference: payload schemas, decoding parameters, and the Generator.

`Generator.from_catalog(model_id).predict(payload)` is the whole path from a request to
its response; servers and jobs build on the same object.
"""

from springboard.inference.generator import Generator
from springboard.inference.loading import LoadOptions
from springboard.inference.params import DecodingParams
from springboard.inference.payloads import (GenerationResult, ParsedRequest, parse_request,
                                            render_response)

__all__ = ["DecodingParams", "GenerationResult", "Generator", "LoadOptions", "ParsedRequest",
           "parse_request", "render_response"]
