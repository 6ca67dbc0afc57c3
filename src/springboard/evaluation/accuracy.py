"""Exact-match accuracy: does the prediction equal a reference, after SQuAD-style normalising?

`normalize_answer` and `exact_match` work on strings in memory; `accuracy(...)` reads, joins
and scores two JSON Lines files. Answer extraction (pulling "42" out of a worked solution)
is not done here; `accuracy(extract=...)` is the hook for it.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from springboard.evaluation.records import ID_FIELD, PREDICTION_FIELD, join, write_jsonl

if TYPE_CHECKING:
    from springboard.evaluation.report import AccuracyReport

REFERENCE_FIELD = "answer"
_ARTICLES = frozenset({"a", "an", "the"})


def _strip_punctuation(word: str) -> str:
    start, end = 0, len(word)
    while start < end and _is_punctuation(word[start]):
        start += 1
    while end > start and _is_punctuation(word[end - 1]):
        end -= 1
    return word[start:end]


def _is_punctuation(char: str) -> bool:
    # ASCII punctuation and symbols as SQuAD strips them, plus Unicode punctuation (“ ” 。).
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def normalize_answer(text: str) -> str:
    """Lowercase, split on whitespace, strip punctuation from both ends of each word, drop
    the articles a/an/the, and join with single spaces.

    Punctuation inside a word stays ("3.14", "don't"), unlike SQuAD, which removes it all.
    """
    words = (_strip_punctuation(word) for word in text.lower().split())
    return " ".join(word for word in words if word and word not in _ARTICLES)


def exact_match(prediction: str, reference: str | Sequence[str], *, normalize: bool = True) -> bool:
    """True when `prediction` equals `reference`, or any of a list of acceptable references.

    With `normalize=False` the strings must be identical, whitespace and case included.
    """
    references = [reference] if isinstance(reference, str) else list(reference)
    if normalize:
        prediction = normalize_answer(prediction)
        references = [normalize_answer(r) for r in references]
    return prediction in references


def accuracy(
    predictions: str | Path,
    references: str | Path,
    *,
    id_field: str = ID_FIELD,
    prediction_field: str = PREDICTION_FIELD,
    reference_field: str = REFERENCE_FIELD,
    normalize: bool = True,
    extract: Callable[[str], str | None] | None = None,
    per_record: str | Path | None = None,
) -> AccuracyReport:
    """Join two JSON Lines files on `id_field` and report the exact-match accuracy.

    `extract`, when given, turns each prediction into the answer to compare (e.g. the
    number after "The answer is"); returning None counts the pair as wrong. `per_record`
    receives one JSON line per scored pair: id, prediction, answer compared, reference and
    `correct`.
    """
    from springboard.evaluation.report import AccuracyReport

    joined = join(
        predictions,
        references,
        id_field=id_field,
        prediction_field=prediction_field,
        reference_field=reference_field,
    )
    rows: list[dict[str, Any]] = []
    for pair in joined.pairs:
        answer = pair.prediction if extract is None else extract(pair.prediction)
        correct = answer is not None and exact_match(answer, pair.reference, normalize=normalize)
        rows.append(
            {
                "id": pair.id,
                "prediction": pair.prediction,
                "answer": answer,
                "reference": pair.reference,
                "correct": correct,
            }
        )
    if per_record is not None:
        write_jsonl(per_record, rows)
    n_correct = sum(row["correct"] for row in rows)
    errored_ids = [e.id for e in joined.errored]
    return AccuracyReport(
        accuracy=n_correct / len(rows),
        correct=n_correct,
        count=len(rows),
        normalized=normalize,
        missing_predictions=joined.missing_predictions,
        missing_references=joined.missing_references,
        errored=len(errored_ids),
        errored_ids=errored_ids,
    )
