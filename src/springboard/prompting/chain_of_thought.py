"""Few-shot chain-of-thought prompts in the classic format (Wei et al.; Wang et al.).

Each worked example (`Exemplar`) becomes "Q: {question}\\nA: {rationale} The answer is
{answer}.\\n\\n", and the prompt ends with "Q: {question}\\nA:" for the model to reason and
answer in the same words, which `springboard.evaluation.extract_answer` then reads. A
multiple-choice question carries its choices on the next line: "Answer Choices: (A) … (B) …",
when its exemplars show theirs: the question is laid out as the exemplars are, so exemplars
without choices give the cloze form (the model answers in its own words and
`extract_answer(..., choices=...)` matches the answer to a choice), for a model that was never
trained to read an "Answer Choices" line.

This module only formats text; it does not tokenize, call a model or truncate to a context
length, and it has no other template syntax (a general template system may replace it).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import ValidationError as PydanticValidationError

from springboard.errors import Issue, ValidationError, issues_from_pydantic
from springboard.jsonlines import read_objects

Choices = Mapping[str, str] | Sequence[str]
_FIELDS_FIX = "each line needs a question, a rationale and an answer"


class Exemplar(BaseModel):
    """One worked example: a question, the reasoning that solves it, and its answer.

    Unknown keys (e.g. a source note) are ignored; `id` and `choices` are optional. A
    numeric answer is kept as its text ("26"); `choices` may be a list (lettered A, B, …).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    question: str
    rationale: str
    answer: str
    id: str | int | None = None
    choices: dict[str, str] | None = None

    @field_validator("answer", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        return str(value) if numeric else value

    @field_validator("choices", mode="before")
    @classmethod
    def _letter_a_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            return dict(zip(string.ascii_uppercase, value, strict=False))
        return value


def load_exemplars(path: str | Path) -> list[Exemplar]:
    """Read exemplars from JSON Lines (blank lines skipped); every bad line is reported at
    once, by file and line number."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValidationError(
            [
                Issue(
                    "exemplars",
                    f"{file} does not exist",
                    str(path),
                    "pass a JSON Lines file of worked examples",
                )
            ]
        )
    records, issues = read_objects(file, label=str(file), fix=_FIELDS_FIX)
    exemplars = []
    for where, record in records:
        try:
            exemplars.append(Exemplar.model_validate(record))
        except PydanticValidationError as exc:
            issues.extend(
                Issue(issue.field, f"{issue.message} on {where}", issue.value, _FIELDS_FIX)
                for issue in issues_from_pydantic(exc)
            )
    if not issues and not exemplars:
        issues.append(Issue("exemplars", f"{file} holds no exemplars", str(path), _FIELDS_FIX))
    if issues:
        raise ValidationError(issues, context=f"cannot read exemplars from {file}")
    return exemplars


def format_choices(choices: Choices) -> str:
    """ "Answer Choices: (A) 12 (B) 15 …"; a list is lettered A, B, … in order."""
    items = (
        choices.items()
        if isinstance(choices, Mapping)
        else zip(string.ascii_uppercase, choices, strict=False)
    )
    return "Answer Choices: " + " ".join(f"({letter}) {text}" for letter, text in items)


def _question(question: str, choices: Choices | None) -> str:
    text = question.strip()
    return f"{text}\n{format_choices(choices)}" if choices else text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def few_shot_prompt(
    exemplars: Sequence[Exemplar | Mapping[str, Any]],
    question: str,
    *,
    choices: Choices | None = None,
) -> str:
    """The exemplars as worked "Q: … A: …" pairs, then the question left for the model.

    `choices` belongs to the question asked; each exemplar shows its own `choices`, if any.
    The question's choices are written when some exemplar shows choices, or when there are
    no exemplars; after exemplars without choices they are left out (the cloze form).
    """
    parts = []
    shown = [
        item if isinstance(item, Exemplar) else Exemplar.model_validate(item) for item in exemplars
    ]
    if shown and not any(exemplar.choices for exemplar in shown):
        choices = None
    for exemplar in shown:
        parts.append(
            f"Q: {_question(exemplar.question, exemplar.choices)}\n"
            f"A: {_sentence(exemplar.rationale)} "
            f"The answer is {_sentence(exemplar.answer)}\n\n"
        )
    parts.append(f"Q: {_question(question, choices)}\nA:")
    return "".join(parts)
