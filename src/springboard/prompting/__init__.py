"""Building prompts for models: prompt templates and few-shot chain-of-thought prompts.

`Template` (a few-shot prompt spec: instruction, example and query patterns, separator,
shots and how they are chosen, model prefix) and `Prompter` (a template with its
examples, applied to records) live in `template`; built-in templates for the classic
in-context tasks come from `builtin_templates()`. `few_shot_prompt(exemplars, question)`
writes the classic "Q: … A: … The answer is …" chain-of-thought prompt that
self-consistency uses (the built-in `chain-of-thought` template writes the same text).
`count_tokens` counts a prompt's tokens for a catalog model. Importing this package loads
nothing heavy; each name loads its module on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "Exemplar": "chain_of_thought",
    "few_shot_prompt": "chain_of_thought",
    "format_choices": "chain_of_thought",
    "load_exemplars": "chain_of_thought",
    "Template": "template",
    "Prompter": "template",
    "load_template": "template",
    "load_examples": "template",
    "builtin_templates": "template",
    "parse_template": "template",
    "TokenCount": "tokens",
    "count_tokens": "tokens",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"springboard.prompting.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'springboard.prompting' has no attribute {name!r}")
