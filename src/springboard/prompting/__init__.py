"""Building prompts for models: for now, few-shot chain-of-thought prompts.

`few_shot_prompt(exemplars, question)` writes the classic "Q: … A: … The answer is …"
prompt; `load_exemplars(path)` reads worked examples from JSON Lines. Importing this package
does not load pydantic; `Exemplar` and `load_exemplars` load it on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Exemplar", "few_shot_prompt", "format_choices", "load_exemplars"]
_CHAIN_OF_THOUGHT = set(__all__)


def __getattr__(name: str) -> Any:
    if name in _CHAIN_OF_THOUGHT:
        return getattr(import_module("springboard.prompting.chain_of_thought"), name)
    raise AttributeError(f"module 'springboard.prompting' has no attribute {name!r}")
