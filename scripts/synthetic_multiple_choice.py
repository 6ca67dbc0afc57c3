"""The multiple-choice self-consistency sample: held-out arithmetic problems with five choices.

The bundled `springboard-tiny-llama` was trained on one format only ("Q: <problem>\nA: <steps>
The answer is N."); a line of "Answer Choices: (A) ... (E) ..." in its prompt derails it (in a
trial, greedy decoding got 3 of 100 held-out problems right with the line, 66 without). So
the sample is written in the cloze form of multiple choice: the exemplars are worked problems
without choices, which tells `few_shot_prompt` to leave the question's choices out of the
prompt too; the model answers in its own words, and `extract_answer(..., "choice",
choices=...)` reads "The answer is 21." as the letter of the choice 21. A value that is no
choice is unparsable.

The questions are problems of `examples/self-consistency/arithmetic/heldout-300.jsonl` (never
trained on); the four wrong choices are the answers of the slips a solver makes -- off by one
or two, a carry or borrow lost (±10), an operation skipped or applied the wrong way round --
so a wrong path may land on a wrong choice rather than on no choice. Our own text, seeded.

This module only makes data (`scripts/synthetic.py` writes it under `examples/`).
"""

from __future__ import annotations

import random
import re
from typing import Any

LETTERS = "ABCDE"
QUESTIONS = 40  # the first problems of heldout-300.jsonl
_STEP = re.compile(r"(\d+) ([-+]) (\d+) = (\d+)\.")


def distractors(problem: dict[str, Any], rng: random.Random) -> list[int]:
    """Four wrong answers from slips in the problem's first reasoning path: two small ones
    (off by one or two) and two larger ones (a carry or borrow lost, an operation skipped
    or applied the wrong way round)."""
    answer = int(problem["answer"])
    small = [answer + d for d in (-2, -1, 1, 2) if answer + d >= 0]
    large: set[int] = {answer - 10, answer + 10}
    for _, op, amount, _ in _STEP.findall(problem["variants"][0]):
        sign = -1 if op == "+" else 1
        large.update((answer + sign * int(amount), answer + 2 * sign * int(amount)))
    large_options = sorted(v for v in large if v >= 0 and v != answer and v not in small)
    return rng.sample(small, 2) + rng.sample(large_options, 2)


def choices_for(problem: dict[str, Any], rng: random.Random) -> tuple[dict[str, str], str]:
    """Five numeric choices (the answer and four slips, shuffled) and the answer's letter."""
    values = [int(problem["answer"]), *distractors(problem, rng)]
    rng.shuffle(values)
    letter = LETTERS[values.index(int(problem["answer"]))]
    return {k: str(v) for k, v in zip(LETTERS, values, strict=True)}, letter


def sample(
    exemplars: list[dict[str, Any]], heldout: list[dict[str, Any]], seed: int = 23
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(exemplars, questions) of the sample: the worked exemplars as they are (no choices),
    and the first `QUESTIONS` held-out problems with choices and a letter answer."""
    rng = random.Random(seed)
    shots = [{"question": p["question"], "rationale": p["rationale"], "answer": p["answer"]}
             for p in exemplars]
    questions = []
    for i, problem in enumerate(heldout[:QUESTIONS]):
        choices, letter = choices_for(problem, rng)
        questions.append({"id": i, "question": problem["question"], "choices": choices,
                          "answer": letter})
    return shots, questions
