"""Scoring predictions against references: ROUGE and exact-match accuracy.

`rouge(predictions, references)` and `accuracy(...)` read two JSON Lines files, join them
on an id field and return a report (a pydantic model); `rouge_scores(pairs)` and
`exact_match(prediction, reference)` work on strings without files. Importing this package
loads neither rouge-score nor pydantic; the report models load on first use.

Self-consistency (many sampled reasoning paths, majority-voted): `extract_answer` pulls the
answer out of a path, `majority_vote` and `accuracy_curve` vote; the report
(`SelfConsistencyReport`, `springboard.evaluation.self_consistency`) also loads on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from springboard.evaluation.accuracy import REFERENCE_FIELD as ACCURACY_REFERENCE_FIELD
from springboard.evaluation.accuracy import accuracy, exact_match, normalize_answer
from springboard.evaluation.answers import (
    AnswerFormat,
    canonical_answer,
    extract_answer,
    parse_answer_format,
)
from springboard.evaluation.records import (
    ID_FIELD,
    PREDICTION_FIELD,
    Joined,
    Pair,
    join,
    read_jsonl,
)
from springboard.evaluation.rouge import REFERENCE_FIELD as ROUGE_REFERENCE_FIELD
from springboard.evaluation.rouge import ROUGE_TYPES, mean_scores, rouge, rouge_scores
from springboard.evaluation.voting import CurvePoint, accuracy_curve, majority_vote, same_answer

_REPORT_MODELS = {"AccuracyReport", "Coverage", "RougeReport", "RougeScores", "Score"}
_SELF_CONSISTENCY = {"GreedyResult", "QuestionRow", "SelfConsistencyReport", "TemperatureResult"}

__all__ = [
    *sorted(_REPORT_MODELS),
    "ACCURACY_REFERENCE_FIELD",
    "ID_FIELD",
    "Joined",
    "PREDICTION_FIELD",
    "Pair",
    "ROUGE_REFERENCE_FIELD",
    "ROUGE_TYPES",
    "accuracy",
    "exact_match",
    "join",
    "mean_scores",
    "normalize_answer",
    "read_jsonl",
    "rouge",
    "rouge_scores",
    *sorted(_SELF_CONSISTENCY),
    "AnswerFormat",
    "CurvePoint",
    "accuracy_curve",
    "canonical_answer",
    "extract_answer",
    "majority_vote",
    "parse_answer_format",
    "same_answer",
]


def __getattr__(name: str) -> Any:
    if name in _REPORT_MODELS:
        return getattr(import_module("springboard.evaluation.report"), name)
    if name in _SELF_CONSISTENCY:
        return getattr(import_module("springboard.evaluation.self_consistency"), name)
    raise AttributeError(f"module 'springboard.evaluation' has no attribute {name!r}")
