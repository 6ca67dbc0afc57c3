"""Filter expressions over catalog entries: `task == text2text and training_supported == true`.

Operators `==`, `!=`, `in`, `not in`, `and`, `or`, `not` and parentheses; values are bare
words, quoted strings, `true`/`false`, or lists `[a, b]` / `(a, b)` after `in`. The
expression is parsed once into a predicate; a malformed one raises a `ValidationError`
naming the position, an unknown field one listing the valid fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from springboard.catalog.spec import FILTER_FIELDS
from springboard.errors import Issue, ValidationError

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<op>==|!=)
    | (?P<lparen>[(\[]) | (?P<rparen>[)\]]) | (?P<comma>,)
    | (?P<string>"[^"]*"|'[^']*')
    | (?P<word>[A-Za-z0-9_.\-*/:@+]+)
    )""",
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(expr: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        match = _TOKEN.match(expr, pos)
        if not match or match.end() == pos:
            start = len(expr) - len(expr[pos:].lstrip())  # skip whitespace before it
            raise _error(expr, start, f"unexpected character {expr[start]!r}")
        kind = match.lastgroup or ""
        text = match.group(kind)
        tokens.append(_Token(kind, text, match.start(kind)))
        pos = match.end()
    return tokens


def _error(expr: str, pos: int, message: str) -> ValidationError:
    pointer = f"\n    {expr}\n    {' ' * pos}^"
    return ValidationError(
        [
            Issue(
                "filter",
                f"{message} at position {pos}{pointer}",
                expr,
                'e.g. "task == text2text and training_supported == true"',
            )
        ]
    )


def _literal(token: _Token) -> Any:
    if token.kind == "string":
        return token.text[1:-1]
    low = token.text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    return token.text


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    return str(actual) == str(expected) if actual is not None else expected is None


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokenize(expr)
        self.i = 0

    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def is_word(self, word: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "word" and tok.text.lower() == word

    def take(self) -> _Token:
        tok = self.peek()
        if tok is None:
            raise _error(self.expr, len(self.expr), "unexpected end of expression")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        if not self.tokens:
            raise _error(self.expr, 0, "empty expression")
        pred = self.or_expr()
        if self.peek() is not None:
            tok = self.take()
            raise _error(self.expr, tok.pos, f"unexpected {tok.text!r}")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def not_expr(self) -> Predicate:
        if self.is_word("not"):
            self.take()
            inner = self.not_expr()
            return lambda row: not inner(row)
        tok = self.peek()
        if tok is not None and tok.kind == "lparen":
            self.take()
            inner = self.or_expr()
            close = self.take()
            if close.kind != "rparen":
                raise _error(self.expr, close.pos, f"expected ')' but found {close.text!r}")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        field_tok = self.take()
        if field_tok.kind != "word":
            raise _error(
                self.expr, field_tok.pos, f"expected a field name, found {field_tok.text!r}"
            )
        name = field_tok.text
        if name not in FILTER_FIELDS:
            raise ValidationError(
                [
                    Issue(
                        "filter",
                        f"unknown field '{name}' at position {field_tok.pos}",
                        name,
                        "valid fields: " + ", ".join(FILTER_FIELDS),
                    )
                ]
            )
        negate = False
        if self.is_word("not") and self.is_word("in", 1):
            self.take()
            negate = True
        op = self.take()
        if op.kind == "op":
            value = _literal(self.value_token())
            want = op.text == "=="
            return lambda row: _equal(row.get(name), value) is want
        if op.kind == "word" and op.text.lower() == "in":
            values = self.value_list()
            return lambda row: any(_equal(row.get(name), v) for v in values) is not negate
        raise _error(
            self.expr, op.pos, f"expected ==, !=, in or not in after '{name}', found {op.text!r}"
        )

    def value_token(self) -> _Token:
        tok = self.take()
        if tok.kind not in ("word", "string"):
            raise _error(self.expr, tok.pos, f"expected a value, found {tok.text!r}")
        return tok

    def value_list(self) -> list[Any]:
        open_tok = self.take()
        if open_tok.kind != "lparen":
            return (
                [_literal(open_tok)]
                if open_tok.kind in ("word", "string")
                else self._raise_list(open_tok)
            )
        values = [_literal(self.value_token())]
        while True:
            tok = self.take()
            if tok.kind == "rparen":
                return values
            if tok.kind != "comma":
                raise _error(self.expr, tok.pos, f"expected ',' or ']' in list, found {tok.text!r}")
            values.append(_literal(self.value_token()))

    def _raise_list(self, tok: _Token) -> list[Any]:
        raise _error(self.expr, tok.pos, f"expected a list like [a, b], found {tok.text!r}")


def parse_filter(expr: str) -> Predicate:
    """Compile a filter expression into a predicate over `ModelSpec.filter_fields()`."""
    return _Parser(expr).parse()
