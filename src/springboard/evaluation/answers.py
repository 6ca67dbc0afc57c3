"""Pulling the final answer out of a chain-of-thought text, in one of three formats.

`number` takes the number after the last "The answer is" ("$1,234.50." becomes "1234.5");
`choice` takes the letter A-E after it ("(B)", "B)", "b" become "B") or, given the question's
choices, the letter of the choice whose value follows ("The answer is 21." with "(C) 21" gives
"C": a model that was never shown the choices, or answers with the value, still picks one);
`regex:PATTERN` takes the first group (or the whole match) of the pattern's last match. A text
without an answer gives None: an unparsable reasoning path, which never wins a vote.
`canonical_answer` puts a gold answer in the same form so the two compare as strings.

Voting and scoring live in `voting.py` and `self_consistency.py`; nothing here reads files.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from springboard.errors import Issue, ValidationError

FORMATS = ("number", "choice", "regex:PATTERN")
Choices = Mapping[str, str] | Sequence[str]  # {"A": "12", ...}, or a list lettered A, B, ...
DEFAULT_FORMAT = "number"  # the default everywhere (`ScoreOptions.answer_format` reads it)
_FIELD = "answer_format"
_FORMATS_FIX = "use one of: number, choice, regex:PATTERN (e.g. regex:Answer: (\\w+))"

# After the last "answer is": an optional colon or markdown bold, a sign and a currency
# symbol in either order, then digits with thousands commas and an optional decimal part.
_PHRASE = re.compile(r"\banswer is\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"[\s:*]*(?P<sign1>[-\u2212]?)\s*[$€£]?\s*(?P<sign2>[-\u2212]?)\s*"
    r"(?P<digits>\d[\d,]*(?:\.\d+)?|\.\d+)"
)
_CHOICE = re.compile(
    r"[\s:*]*(?:option\s+|choice\s+)?(?P<open>\(?)(?P<letter>[A-Ea-e])\b"
    r"(?P<close>\)?)(?P<after>[^\n]{0,3})"
)
_BARE_NUMBER = re.compile(
    r"\s*(?P<sign1>[-\u2212]?)\s*[$€£]?\s*(?P<sign2>[-\u2212]?)\s*"
    r"(?P<digits>\d[\d,]*(?:\.\d+)?|\.\d+)\s*\.?\s*"
)


@dataclass(frozen=True)
class AnswerFormat:
    """A parsed `answer_format`: its kind and, for `regex`, the compiled pattern."""

    kind: Literal["number", "choice", "regex"]
    pattern: str | None = None
    compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"regex:{self.pattern}" if self.kind == "regex" else self.kind


def parse_answer_format(text: str) -> AnswerFormat:
    """Validate an `answer_format` string: `number`, `choice` or `regex:PATTERN`."""
    if not isinstance(text, str):
        raise ValidationError(
            [Issue(_FIELD, f"must be a string; got {text!r}", text, _FORMATS_FIX)]
        )
    return _parse(text)


@lru_cache(maxsize=64)  # extract_answer runs once per reasoning path: compile once
def _parse(text: str) -> AnswerFormat:
    if text in ("number", "choice"):
        return AnswerFormat(text)  # type: ignore[arg-type]
    if text.startswith("regex:"):
        pattern = text[len("regex:") :]
        if not pattern:
            raise ValidationError(
                [
                    Issue(
                        _FIELD,
                        "`regex:` needs a pattern after the colon",
                        text,
                        "e.g. regex:Answer: (\\w+)",
                    )
                ]
            )
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValidationError(
                [
                    Issue(
                        _FIELD,
                        f"{pattern!r} is not a valid regular expression ({exc})",
                        text,
                        "fix the pattern (Python `re` syntax); its first group, or the whole match, "
                        "is the answer",
                    )
                ]
            ) from None
        return AnswerFormat("regex", pattern, compiled)
    raise ValidationError([Issue(_FIELD, f"unknown answer format {text!r}", text, _FORMATS_FIX)])


def _as_format(answer_format: str | AnswerFormat) -> AnswerFormat:
    if isinstance(answer_format, AnswerFormat):
        return answer_format
    return parse_answer_format(answer_format)


def _canonical_number(sign: str, digits: str) -> str:
    """ "1,234.50" → "1234.5", "42.00" → "42", "007" → "7", "-0" → "0"."""
    digits = digits.replace(",", "")
    whole, _, fraction = digits.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    number = f"{whole}.{fraction}" if fraction else whole
    return "-" + number if sign and number != "0" else number


def _number_after(text: str, start: int) -> str | None:
    match = _NUMBER.match(text, start)
    if match is None:
        return None
    return _canonical_number(match["sign1"] or match["sign2"], match["digits"])


def _choice_after(text: str, start: int) -> str | None:
    match = _CHOICE.match(text, start)
    if match is None:
        return None
    letter, after = match["letter"], match["after"]
    # A lowercase letter followed by a word is an article ("the answer is a bus"), not "A".
    if letter.islower() and not match["open"] and re.match(r"\s+[A-Za-z]", after):
        return None
    return letter.upper()


def _lettered(choices: Choices) -> dict[str, str]:
    if isinstance(choices, Mapping):
        return {str(k).strip("() ").upper(): str(v) for k, v in choices.items()}
    return dict(zip(string.ascii_uppercase, (str(v) for v in choices), strict=False))


def _comparable(value: str) -> str:
    """A choice's value as it is compared: a number canonically ("21.0" -> "21"), other text
    lower-cased without surrounding punctuation and spaces."""
    match = _BARE_NUMBER.fullmatch(value)
    if match:
        return _canonical_number(match["sign1"] or match["sign2"], match["digits"])
    return " ".join(value.lower().split()).strip(string.punctuation + " ")


def _choice_by_value(value: str, choices: Choices) -> str | None:
    """The letter of the one choice whose value is `value`, or None (no choice, or several)."""
    wanted = _comparable(value)
    letters = [k for k, v in _lettered(choices).items() if wanted and _comparable(v) == wanted]
    return letters[0] if len(letters) == 1 else None


def _choice_value_after(text: str, start: int, choices: Choices) -> str | None:
    number = _number_after(text, start)
    if number is not None:
        return _choice_by_value(number, choices)
    rest = text[start:].split("\n", 1)[0].strip(" :*")
    return _choice_by_value(rest, choices)


def extract_answer(
    text: str,
    answer_format: str | AnswerFormat = DEFAULT_FORMAT,
    *,
    choices: Choices | None = None,
) -> str | None:
    """The answer a reasoning path gives, or None when it gives none in this format.

    `number` and `choice` read what follows the last "answer is" (any case); the text before
    it is the reasoning and is ignored. For `choice`, a letter wins; otherwise, when the
    question's `choices` are given, a value equal to exactly one choice's gives its letter
    (numbers compared as numbers, text without case or surrounding punctuation); a value
    that is no choice is unparsable. `regex:PATTERN` uses the pattern's last match.
    """
    fmt = _as_format(answer_format)
    if not isinstance(text, str):
        return None
    if fmt.kind == "regex":
        pattern = fmt.compiled or re.compile(fmt.pattern or "")
        matches = list(pattern.finditer(text))
        if not matches:
            return None
        last = matches[-1]
        value = last.group(1) if pattern.groups else last.group(0)
        value = value.strip() if value is not None else ""
        return value or None
    phrases = list(_PHRASE.finditer(text))
    if not phrases:
        return None
    end = phrases[-1].end()
    if fmt.kind == "number":
        return _number_after(text, end)
    letter = _choice_after(text, end)
    if letter is None and choices:
        return _choice_value_after(text, end, choices)
    return letter


def canonical_answer(
    value: Any,
    answer_format: str | AnswerFormat = DEFAULT_FORMAT,
    *,
    choices: Choices | None = None,
) -> str:
    """A gold answer in the form `extract_answer` returns: 26 → "26", "$1,000" → "1000",
    "(c)" → "C", and, given the choices, a choice's value → its letter. A value that does
    not parse in the format is kept as stripped text."""
    fmt = _as_format(answer_format)
    text = str(value).strip()
    if fmt.kind == "number":
        match = _BARE_NUMBER.fullmatch(text)
        if match:
            return _canonical_number(match["sign1"] or match["sign2"], match["digits"])
    elif fmt.kind == "choice":
        letter = text.strip("().").strip()
        if len(letter) == 1 and letter.upper() in "ABCDE":
            return letter.upper()
        if choices:
            return _choice_by_value(text, choices) or text
    return text
