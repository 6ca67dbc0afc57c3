"""Compiled models: the CTranslate2 conversions of catalog and registered models, cached.

`compile_model(spec, model_dir, quantize)` returns a ready variant from
`SPRINGBOARD_HOME/compiled/<model>/<version>/ctranslate2-<quantization>-<engine version>/`,
converting the model's Hugging Face weights with the engine's own converter the first
time (and again when the source weights or the engine version change). `variants` lists
what is cached; `check_quantize` refuses a quantization the engine cannot run here.
Loading a compiled model and generating with it is `inference.ctranslate2_generator`'s.
"""

from springboard.compiled.cache import (
    CompiledVariant,
    compile_model,
    compiled_root,
    variants,
)
from springboard.compiled.quantize import (
    DEFAULT_QUANTIZE,
    check_quantize,
    engine_version,
    supported_quantizations,
)

__all__ = [
    "DEFAULT_QUANTIZE",
    "CompiledVariant",
    "check_quantize",
    "compile_model",
    "compiled_root",
    "engine_version",
    "supported_quantizations",
    "variants",
]
