"""Incremental detokenization: token ids in as they are generated, text safe to show out.

Exactness contract: everything `push` returns, followed by what `finish(final_text)`
returns, is `final_text` — the text `Generator.finish_sequence` gives for the same tokens.
Three layers get there:

1. ids -> raw text, with prefix/read offsets as vLLM's and TGI's detokenizers do: only a
   short window (the tokens since the text before last was released) is decoded per push,
   and the part past the window's previous text is new. A window whose text ends in
   U+FFFD is an unfinished multi-byte character: the read offset stays at the last token
   boundary where the text is whole. Decoding costs O(window) per push (a few decodes of a
   few tokens), not O(sequence): a long sequence stays cheap. Bytes that never form a
   character (more than `MAX_PENDING` tokens of them) are let through as U+FFFD.
2. raw text -> cleaned text, for tokenizers that rewrite spaces after decoding
   (`clean_up_tokenization_spaces`: " ." -> "."). The rewrite is applied piece by piece;
   an end of text that could still become a pattern (" ", " n") is held.
3. cleaned text -> released text: nothing at or past the first stop string, no end that
   is a prefix of a stop string (a stop string never leaks partially), and no trailing
   whitespace until something else follows (a space may yet be rewritten).

If the released text ever stops being a prefix of the final text, `finish` logs a
warning and returns the final text's remainder past the same length. This module knows
nothing of models, batches or HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger("springboard.inference")

# What transformers' `clean_up_tokenization` rewrites, each a leading space dropped.
CLEANUP_PATTERNS = (" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're")
# Pending tokens past which a window still ending in U+FFFD is garbage bytes, not a
# character being completed (a character is at most 4 bytes, a token at least one).
MAX_PENDING = 16
SETTLED_BACK = 4  # boundaries tried back from the end; tokens left pending for garbage


class IncrementalDecoder:
    """Turns one sequence's token ids into text as they arrive (see the module docstring)."""

    def __init__(self, tokenizer: Any, stop: Sequence[str] = ()) -> None:
        self._tokenizer = tokenizer
        self._stop = tuple(s for s in stop if s)
        self._cleans = _cleans_up(tokenizer)
        self._decode_ids = _raw_decoder(tokenizer)
        self._ids: list[int] = []
        self._prefix = 0  # the decode window starts here
        self._read = 0  # ids[:read] are in `_raw`; ids[prefix:read] decode to `_prefix_text`
        self._prefix_text = ""
        self._raw = ""  # the decoded text of ids[:read], without space clean-up
        self._raw_cleaned = 0  # characters of `_raw` already cleaned into `_clean`
        self._clean = ""
        self._searched = 0  # `_clean` before this has been searched for stop strings
        self._stop_at: int | None = None  # where the first stop string starts in `_clean`
        self._released = 0  # characters of `_clean` handed out

    @property
    def text(self) -> str:
        """The text released so far."""
        return self._clean[: self._released]

    def push(self, token_ids: Iterable[int]) -> str:
        """Add generated ids; the new text that is safe to show (possibly '')."""
        self._ids.extend(token_ids)
        self._advance()
        self._cleanup()
        return self._release()

    def finish(self, final_text: str) -> str:
        """The rest of `final_text` past what was released: the sequence has ended."""
        released = self.text
        if not final_text.startswith(released):
            same = next(
                (i for i, (a, b) in enumerate(zip(released, final_text, strict=False)) if a != b),
                min(len(released), len(final_text)),
            )
            log.warning(
                "streamed text diverged from the final text at character %d "
                "(streamed %r, final %r)",
                same,
                released[same : same + 20],
                final_text[same : same + 20],
            )
        self._released = len(self._clean)
        return final_text[len(released) :]

    # -- layers ----------------------------------------------------------------------------

    def _advance(self) -> None:
        """Move the read offset to the last token boundary where the text is whole."""
        end = len(self._ids)
        window = self._decode(self._ids[self._prefix : end])
        # Ids pushed together may end inside a character: try the boundaries before.
        while window.endswith("\ufffd") and end > max(
            self._read + 1, len(self._ids) - SETTLED_BACK
        ):
            end -= 1
            window = self._decode(self._ids[self._prefix : end])
        if window.endswith("\ufffd"):
            if len(self._ids) - self._read <= MAX_PENDING:
                return  # a multi-byte character is not complete yet
            end = len(self._ids) - SETTLED_BACK  # bytes that never form a character
            window = self._decode(self._ids[self._prefix : end])
        if len(window) > len(self._prefix_text):
            self._raw += window[len(self._prefix_text) :]
            self._prefix, self._read = self._read, end
            self._prefix_text = self._decode(self._ids[self._prefix : self._read])

    def _decode(self, ids: list[int]) -> str:
        return self._decode_ids(ids)

    def _cleanup(self) -> None:
        if not self._cleans:
            self._clean = self._raw
            return
        end = _unsplit(
            self._raw, len(self._raw) - held_suffix(self._raw, CLEANUP_PATTERNS), CLEANUP_PATTERNS
        )
        if end > self._raw_cleaned:
            self._clean += self._tokenizer.clean_up_tokenization(self._raw[self._raw_cleaned : end])
            self._raw_cleaned = end

    def _release(self) -> str:
        text = self._clean
        end = len(text.rstrip())
        if self._stop:
            for s in self._stop:  # only the new part (and a stop straddling its start)
                found = text.find(s, max(0, self._searched - len(s) + 1))
                if found != -1 and (self._stop_at is None or found < self._stop_at):
                    self._stop_at = found
            self._searched = len(text)
            end = min(end, len(text) - held_suffix(text, self._stop))
            if self._stop_at is not None:
                end = min(end, self._stop_at)
        if end <= self._released:
            return ""
        new = text[self._released : end]
        self._released = end
        return new


def held_suffix(text: str, patterns: Sequence[str]) -> int:
    """Length of the longest end of `text` that is a proper prefix of one of `patterns`."""
    best = 0
    for pattern in patterns:
        reach = min(len(pattern) - 1, len(text))
        at = text.find(pattern[0], len(text) - reach) if reach > best else -1
        while at != -1 and len(text) - at > best:
            if pattern.startswith(text[at:]):
                best = len(text) - at
                break
            at = text.find(pattern[0], at + 1)
    return best


def _unsplit(text: str, cut: int, patterns: Sequence[str]) -> int:
    """`cut`, moved back before any occurrence of a pattern it would split."""
    moved = True
    while moved:
        moved = False
        for pattern in patterns:
            at = text.find(pattern, max(0, cut - len(pattern) + 1))
            if at != -1 and at < cut < at + len(pattern):
                cut, moved = at, True
    return cut


def _raw_decoder(tokenizer: Any) -> Callable[[list[int]], str]:
    """`decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)` of
    `tokenizer`. For a transformers tokenizer backed by `tokenizers` whose `_decode` is the
    library's own, that is exactly the Rust tokenizer's `decode`, called directly: ~2 us
    instead of ~20 us through transformers' wrappers, twice per streamed token."""

    def public(ids: list[int]) -> str:
        return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    try:
        from transformers.tokenization_utils_tokenizers import TokenizersBackend
    except ImportError:  # another transformers layout: its public decode
        return public
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if (
        backend is not None
        and isinstance(tokenizer, TokenizersBackend)
        and type(tokenizer)._decode is TokenizersBackend._decode
    ):
        return lambda ids: backend.decode(ids, skip_special_tokens=True)
    return public


def _cleans_up(tokenizer: Any) -> bool:
    """Whether `decode` rewrites spaces after decoding (transformers skips it for BPE)."""
    if not getattr(tokenizer, "clean_up_tokenization_spaces", False):
        return False
    ids = tokenizer.encode("a . b", add_special_tokens=False)
    return tokenizer.decode(ids) != tokenizer.decode(ids, clean_up_tokenization_spaces=False)
