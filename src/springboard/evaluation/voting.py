"""Self-consistency voting: the most common answer of many reasoning paths, and how
accuracy grows with the number of paths N.

`majority_vote` picks one answer from a question's extracted answers (None, an unparsable
path, never wins). `accuracy_curve` resamples N of each question's paths many times and
reports the mean and spread of the voted accuracy for each N, as Wang et al. plot it.
Everything is seeded, so a seed gives the same numbers on every machine. Answers are
expected already extracted (`answers.py`); nothing here generates, reads files or plots.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from springboard.errors import Issue, ValidationError

DEFAULT_RESAMPLES = 100  # draws per point of the curve (`ScoreOptions.resamples` reads it)


@dataclass(frozen=True)
class CurvePoint:
    """Voted accuracy over the questions when each votes with `n` sampled paths."""

    # Read by pydantic when a report embeds points (`ConfigDict` is a TypedDict: no import).
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    n: int
    mean: float
    std: float  # population standard deviation over the resamples
    resamples: int


def _key(answer: str) -> str:
    return answer.strip().casefold()


def same_answer(answer: str | None, gold: str) -> bool:
    """True when an extracted answer equals the gold one, ignoring surrounding spaces and case."""
    return answer is not None and _key(answer) == _key(gold)


def _vote(answers: Sequence[str | None], rng: random.Random) -> str | None:
    counts: dict[str, int] = {}
    for answer in answers:
        if answer is None or not answer.strip():
            continue
        counts[answer.strip()] = counts.get(answer.strip(), 0) + 1
    if not counts:
        return None
    top = max(counts.values())
    tied = sorted(answer for answer, count in counts.items() if count == top)
    # Only a tie draws from the rng, so untied votes do not shift the sequence.
    return tied[0] if len(tied) == 1 else rng.choice(tied)


def majority_vote(answers: Sequence[str | None], seed: int | None = 0) -> str | None:
    """The most common answer (stripped of surrounding spaces); None when every path is
    unparsable. A tie is broken by `random.Random(seed).choice` over the tied answers in
    sorted order, so it is the same for the same seed (`seed=None`: a fresh draw)."""
    return _vote(answers, random.Random(seed))


def _check(
    paths: Sequence[Sequence[str | None]], gold: Sequence[str], max_n: int | None, resamples: int
) -> int:
    issues = []
    if len(paths) != len(gold):
        issues.append(
            Issue(
                "gold",
                f"has {len(gold)} answers for {len(paths)} questions",
                len(gold),
                "give one gold answer per question, in the same order",
            )
        )
    if not paths:
        issues.append(Issue("paths", "no questions to score", 0))
    empty = [i for i, question in enumerate(paths) if not question]
    if empty:
        issues.append(
            Issue(
                "paths",
                f"questions at positions {empty[:5]} have no paths",
                empty,
                "sample at least one path per question",
            )
        )
    fewest = min((len(question) for question in paths), default=0)
    if max_n is not None and not 1 <= max_n <= max(fewest, 1):
        issues.append(
            Issue(
                "max_n",
                f"must be in [1, {fewest}] (the fewest paths any question has); got {max_n}",
                max_n,
            )
        )
    if resamples < 1:
        issues.append(Issue("resamples", f"must be at least 1; got {resamples}", resamples))
    if issues:
        raise ValidationError(issues, context="cannot draw the accuracy curve")
    return fewest if max_n is None else max_n


def accuracy_curve(
    paths: Sequence[Sequence[str | None]],
    gold: Sequence[str],
    *,
    max_n: int | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[CurvePoint]:
    """Voted accuracy for n = 1..max_n paths per question (default: the fewest paths any
    question has), each the mean and population std over `resamples` draws.

    A draw samples n of each question's paths without replacement and votes; a question
    with exactly n paths votes with all of them, so at that n only tie-breaks vary. One
    `random.Random(seed)` drives the sampling and the tie-breaks.
    """
    top = _check(paths, gold, max_n, resamples)
    paths = [list(question) for question in paths]
    rng = random.Random(seed)
    points = []
    for n in range(1, top + 1):
        accuracies = []
        for _ in range(resamples):
            correct = 0
            for question, answer in zip(paths, gold, strict=True):
                drawn = question if len(question) == n else rng.sample(question, n)
                correct += same_answer(_vote(drawn, rng), answer)
            accuracies.append(correct / len(paths))
        points.append(
            CurvePoint(
                n=n,
                mean=statistics.fmean(accuracies),
                std=statistics.pstdev(accuracies),
                resamples=resamples,
            )
        )
    return points
