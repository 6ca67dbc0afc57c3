"""What an evaluation returns: pydantic models whose `model_dump()` is the `--json` output.

Only data lives here; the CLI draws the tables. The package imports this module lazily so
that `springboard --help` does not load pydantic.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Id = str | int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Score(_Model):
    """One ROUGE variant for one pair, or its mean over all scored pairs."""

    precision: float
    recall: float
    fmeasure: float = Field(description="F1: the harmonic mean of precision and recall.")


class RougeScores(_Model):
    """ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum for one pair, or their means."""

    rouge1: Score
    rouge2: Score
    rougeL: Score
    rougeLsum: Score


class Coverage(_Model):
    """How the predictions and references matched up."""

    count: int = Field(
        description="Pairs scored: ids on both sides whose prediction is not an error."
    )
    missing_predictions: list[Id] = Field(
        description="Reference ids with no prediction line, in the references' order."
    )
    missing_references: list[Id] = Field(
        description="Prediction ids (errored ones included) with no reference, in the "
        "predictions' order."
    )
    errored: int = Field(description="Prediction lines carrying an `error` object; not scored.")
    errored_ids: list[Id] = Field(description="Their ids, in the predictions' order.")


# Coverage comes first in the bases so that the metric's fields come first in the JSON.
class RougeReport(Coverage, RougeScores):
    """`springboard evaluate rouge`: mean ROUGE over the scored pairs, and the coverage."""


class _Accuracy(_Model):
    accuracy: float = Field(description="correct / count.")
    correct: int = Field(description="Pairs whose prediction matches a reference.")
    normalized: bool = Field(description="Whether answers were normalised before comparing.")


class AccuracyReport(Coverage, _Accuracy):
    """`springboard evaluate accuracy`: the share of scored pairs that match exactly."""
