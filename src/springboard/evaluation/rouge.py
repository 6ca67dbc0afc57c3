"""ROUGE between predictions and references, computed by Google's `rouge-score` package.

`rouge_scores(pairs)` scores (prediction, reference) pairs held in memory; `rouge(...)`
reads, joins and scores two JSON Lines files. The scorer is rouge-score's own, with the
Porter stemmer; for ROUGE-Lsum it splits text into sentences on newlines, as rouge-score
does, so put one sentence per line when that variant matters. A reference given as a list
is scored with rouge-score's `score_multi` (the best-F1 reference per variant). rouge-score
is imported only when scoring, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING

from springboard.errors import Issue, ValidationError
from springboard.evaluation.records import ID_FIELD, PREDICTION_FIELD, join, write_jsonl

if TYPE_CHECKING:
    from springboard.evaluation.report import RougeReport, RougeScores

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
REFERENCE_FIELD = "reference"


def rouge_scores(pairs: Iterable[tuple[str, str | Sequence[str]]]) -> list[RougeScores]:
    """Score each `(prediction, reference)` pair; a reference may be a list of texts."""
    from rouge_score import rouge_scorer

    from springboard.evaluation.report import RougeScores, Score

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    results = []
    for index, (prediction, reference) in enumerate(pairs):
        if isinstance(reference, str):
            raw = scorer.score(reference, prediction)  # rouge-score takes the target first
        elif reference:
            raw = scorer.score_multi(list(reference), prediction)
        else:
            raise ValidationError(
                [Issue(f"pairs[{index}]", "has an empty list of references", reference)]
            )
        results.append(
            RougeScores(
                **{
                    name: Score(
                        precision=float(s.precision),
                        recall=float(s.recall),
                        fmeasure=float(s.fmeasure),
                    )
                    for name, s in raw.items()
                }
            )
        )
    return results


def mean_scores(scores: Sequence[RougeScores]) -> RougeScores:
    """The arithmetic mean of each variant's precision, recall and F1 over the pairs."""
    from springboard.evaluation.report import RougeScores, Score

    if not scores:
        raise ValidationError([Issue("scores", "is empty; there is nothing to average")])
    return RougeScores(
        **{
            name: Score(
                **{
                    part: fmean(getattr(getattr(s, name), part) for s in scores)
                    for part in ("precision", "recall", "fmeasure")
                }
            )
            for name in ROUGE_TYPES
        }
    )


def rouge(
    predictions: str | Path,
    references: str | Path,
    *,
    id_field: str = ID_FIELD,
    prediction_field: str = PREDICTION_FIELD,
    reference_field: str = REFERENCE_FIELD,
    per_record: str | Path | None = None,
) -> RougeReport:
    """Join two JSON Lines files on `id_field` and report mean ROUGE over the pairs.

    `per_record`, when given, receives one JSON line per scored pair: its id, prediction,
    reference and the four scores.
    """
    from springboard.evaluation.report import RougeReport

    joined = join(
        predictions,
        references,
        id_field=id_field,
        prediction_field=prediction_field,
        reference_field=reference_field,
    )
    scores = rouge_scores((p.prediction, p.reference) for p in joined.pairs)
    if per_record is not None:
        write_jsonl(
            per_record,
            (
                {"id": p.id, "prediction": p.prediction, "reference": p.reference, **s.model_dump()}
                for p, s in zip(joined.pairs, scores, strict=True)
            ),
        )
    errored_ids = [e.id for e in joined.errored]
    return RougeReport(
        **mean_scores(scores).model_dump(),
        count=len(scores),
        missing_predictions=joined.missing_predictions,
        missing_references=joined.missing_references,
        errored=len(errored_ids),
        errored_ids=errored_ids,
    )
