"""Counting a prompt's tokens with a catalog model's own tokenizer.

Loads only the tokenizer (no weights are read), from wherever the model's files resolve
(`springboard.artifacts.resolve_model_dir`): a missing model is the same clear error as
everywhere else. Does not truncate or change the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from springboard.catalog import ModelSpec


@dataclass(frozen=True)
class TokenCount:
    """How many tokens a text is for a model, and the model's context length."""

    model_id: str
    tokens: int
    context_length: int

    @property
    def fits(self) -> bool:
        return self.tokens <= self.context_length


def load_tokenizer(spec: ModelSpec, *, model_dir: str | None = None) -> Any:
    """A catalog model's tokenizer, set not to warn about overlong texts (we measure them)."""
    from transformers import AutoTokenizer

    from springboard.artifacts import resolve_model_dir

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(spec, model_dir=model_dir))
    tokenizer.model_max_length = 1 << 30
    return tokenizer


def count_tokens(
    text: str, model_id: str, version: str = "*", *, model_dir: str | None = None
) -> TokenCount:
    """The number of input ids `text` becomes for `model_id` (special tokens included)."""
    from springboard.catalog import Catalog

    spec = Catalog.load().get(model_id, version)
    tokenizer = load_tokenizer(spec, model_dir=model_dir)
    return TokenCount(spec.id, len(tokenizer(text)["input_ids"]), spec.context_length)
