"""Reading JSON Lines one line at a time, and joining predictions to references by id.

This module decides what a line may hold: an id (string or integer; `1` and `"1"` are the
same key), a prediction (a string, or a list whose first element — or that element's
first element — is the string) or an `error` object, and a reference (a string or a list
of acceptable strings; numbers are read as their text). Every problem in both files is
reported at once, grouped so a thousand bad lines make one message. Scoring lives in
`rouge.py` and `accuracy.py`; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from springboard.errors import ClientError, Issue, ValidationError

# The SDK's and the CLI's defaults (the reference field's default belongs to each metric).
ID_FIELD = "id"
PREDICTION_FIELD = "generated_texts"

Id = str | int
_SHOWN = 5  # ids or line numbers quoted in a message before "and N more"


@dataclass(frozen=True)
class Pair:
    """One id found on both sides with a usable prediction."""

    id: Id
    prediction: str
    reference: str | list[str]


@dataclass(frozen=True)
class Errored:
    """A prediction line that carries an `error` object instead of a prediction."""

    id: Id
    error: Any


@dataclass
class Joined:
    """Predictions and references matched by id, and what did not match."""

    pairs: list[Pair]
    missing_predictions: list[Id]  # reference ids with no prediction line, in file order
    missing_references: list[Id]  # prediction ids with no reference line, in file order
    errored: list[Errored]  # every prediction line with an error, in file order


def read_jsonl(
    path: str | Path, *, option: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(line_number, record)` for each non-blank line; raise on the first bad one.

    `option` names the file in errors as the caller passed it (e.g. `input`).
    """
    problems = _Problems()
    target = _existing_file(path, option, problems)
    problems.raise_if_any()
    for number, record in _records(target, option, problems):
        problems.raise_if_any()
        yield number, record
    problems.raise_if_any()


def write_jsonl(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per line (creating the parent directory); return the path."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return target


def join(
    predictions: str | Path,
    references: str | Path,
    *,
    id_field: str,
    prediction_field: str,
    reference_field: str,
) -> Joined:
    """Read both files and match them on `str(record[id_field])`.

    Raises `ValidationError` listing every unreadable file, non-JSON line, missing field,
    bad value and duplicate id, and `ClientError` when no id has a usable pair. Problems
    with a file name it as the parameter it came in (`predictions`, `references`).
    """
    problems = _Problems()
    pred_path = _existing_file(predictions, "predictions", problems)
    ref_path = _existing_file(references, "references", problems)
    problems.raise_if_any()
    predicted = _read_predictions(pred_path, id_field, prediction_field, problems)
    referenced = _read_references(ref_path, id_field, reference_field, problems)
    problems.raise_if_any()

    joined = Joined(
        pairs=[],
        missing_predictions=[],
        missing_references=[],
        errored=[Errored(i, e) for i, _, e in predicted.values() if e is not None],
    )
    for key, (ref_id, reference) in referenced.items():
        if key not in predicted:
            joined.missing_predictions.append(ref_id)
        elif (text := predicted[key][1]) is not None:
            joined.pairs.append(Pair(ref_id, text, reference))
    joined.missing_references = [i for k, (i, _, _) in predicted.items() if k not in referenced]
    if not joined.pairs:
        raise _nothing_to_score(predicted, referenced, id_field)
    return joined


def _read_predictions(
    path: Path, id_field: str, prediction_field: str, problems: _Problems
) -> dict[str, tuple[Id, str | None, Any]]:
    """`str(id)` -> (id as given, prediction text or None, error or None)."""
    predictions: dict[str, tuple[Id, str | None, Any]] = {}
    first_lines: dict[str, int] = {}
    for number, record in _records(path, "predictions", problems):
        where = _Where(path, number, record)
        key_id = _record_id(record, id_field, where, problems)
        error, text = record.get("error"), None
        if error is None and prediction_field not in record:
            problems.add(
                prediction_field,
                where,
                "is missing (and there is no `error` object)",
                detail=where.fields(),
                fix="pass `prediction_field` naming the field that holds the prediction",
            )
        elif error is None:
            text = _prediction_text(record[prediction_field], prediction_field, where, problems)
        if key_id is not None and _unique(key_id, first_lines, where, id_field, problems):
            predictions[str(key_id)] = (key_id, text, error)
    return predictions


def _read_references(
    path: Path, id_field: str, reference_field: str, problems: _Problems
) -> dict[str, tuple[Id, str | list[str]]]:
    """`str(id)` -> (id as given, reference text or list of acceptable texts)."""
    references: dict[str, tuple[Id, str | list[str]]] = {}
    first_lines: dict[str, int] = {}
    for number, record in _records(path, "references", problems):
        where = _Where(path, number, record)
        key_id = _record_id(record, id_field, where, problems)
        reference = None
        if reference_field not in record:
            problems.add(
                reference_field,
                where,
                "is missing",
                detail=where.fields(),
                fix="pass `reference_field` naming the field that holds the reference",
            )
        else:
            reference = _reference_value(record[reference_field], reference_field, where, problems)
        if (
            key_id is not None
            and _unique(key_id, first_lines, where, id_field, problems)
            and reference is not None
        ):
            references[str(key_id)] = (key_id, reference)
    return references


def _nothing_to_score(
    predictions: dict[str, Any], references: dict[str, Any], id_field: str
) -> ClientError:
    matched = [k for k in references if k in predictions]
    if matched:
        return ClientError(
            f"every prediction that has a reference ({len(matched)}) carries "
            f"an `error` instead of a prediction (e.g. ids "
            f"{_sample([references[k][0] for k in matched])}); nothing to score",
            field="predictions",
            fix="rerun the failed predictions, then evaluate again",
        )
    pred_ids = [v[0] for v in predictions.values()]
    ref_ids = [v[0] for v in references.values()]
    return ClientError(
        f"no ids matched between predictions and references on `{id_field}` (compared as "
        f"text): predictions have {_sample(pred_ids) or 'no records'}; references have "
        f"{_sample(ref_ids) or 'no records'}",
        field="id_field",
        value=id_field,
        fix="check that both files come from the same data set and that `id_field` "
        "names the same field in both",
    )


# --- reading one file --------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    path: Path
    line: int
    record: Mapping[str, Any]

    def fields(self) -> str:
        if not self.record:
            return "is an empty object"
        return "has fields: " + ", ".join(sorted(self.record))


def _existing_file(path: str | Path, option: str | None, problems: _Problems) -> Path:
    target = Path(path).expanduser()
    if not target.exists():
        problems.issues.append(Issue(option, f"file {path} does not exist", str(path)))
    elif not target.is_file():
        problems.issues.append(
            Issue(
                option,
                f"{path} is not a file",
                str(path),
                "pass a JSON Lines file, one record per line",
            )
        )
    return target


def _records(
    path: Path, option: str | None, problems: _Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield each non-blank line's object; collect lines that are not JSON objects."""
    number = 0
    try:
        with path.open(encoding="utf-8-sig") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.add(
                        option,
                        _Where(path, number, {}),
                        "is not valid JSON",
                        detail=f"reads: {exc.msg} at column {exc.colno}",
                        value=line[:80],
                        fix="each line must hold one JSON object",
                    )
                    continue
                if not isinstance(record, dict):
                    problems.add(
                        option,
                        _Where(path, number, {}),
                        "is not a JSON object",
                        detail=f"holds a {_kind(record)}",
                        value=line[:80],
                        fix="each line must hold one JSON object",
                    )
                    continue
                yield number, record
    except UnicodeDecodeError as exc:
        problems.issues.append(
            Issue(option, f"{path} is not UTF-8 text after line {number} ({exc.reason})", str(path))
        )


def _record_id(
    record: Mapping[str, Any], id_field: str, where: _Where, problems: _Problems
) -> Id | None:
    if id_field not in record:
        problems.add(
            id_field,
            where,
            "is missing",
            detail=where.fields(),
            fix="pass `id_field` naming the field both files use as id",
        )
        return None
    value = record[id_field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        problems.add(
            id_field, where, "is not a string or an integer", detail=f"holds {value!r}", value=value
        )
        return None
    return value


def _unique(
    key_id: Id, seen: dict[str, int], where: _Where, id_field: str, problems: _Problems
) -> bool:
    first = seen.setdefault(str(key_id), where.line)
    if first == where.line:
        return True
    problems.add(
        id_field,
        where,
        "is repeated",
        detail=f"repeats {key_id!r} from line {first}",
        value=key_id,
        fix="each id may appear once per file",
    )
    return False


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _prediction_text(value: Any, name: str, where: _Where, problems: _Problems) -> str | None:
    # Batch outputs nest: {"generated_texts": ["..."]} or [["beam 1", "beam 2"]].
    for _ in range(2):
        if isinstance(value, list):
            if not value:
                problems.add(name, where, "is an empty list", value=value)
                return None
            value = value[0]
    text = _text(value)
    if text is None:
        problems.add(
            name,
            where,
            "is not a string or a list whose first element is a string",
            detail=f"holds a {_kind(value)}",
            value=value,
        )
    return text


def _reference_value(
    value: Any, name: str, where: _Where, problems: _Problems
) -> str | list[str] | None:
    if isinstance(value, list):
        texts = [_text(v) for v in value]
        if texts and all(t is not None for t in texts):
            return texts  # type: ignore[return-value]
    elif (text := _text(value)) is not None:
        return text
    problems.add(
        name,
        where,
        "is not a string or a non-empty list of strings",
        detail=f"holds a {_kind(value)}",
        value=value,
    )
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "list" if value else "empty list"
    return {dict: "JSON object", bool: "boolean"}.get(type(value), type(value).__name__)


def _sample(ids: list[Id]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


# --- collecting problems -----------------------------------------------------------------


@dataclass
class _Group:
    field: str | None
    path: Path
    problem: str
    detail: str | None
    value: Any
    fix: str | None
    # `dataclasses.field` by its full name: this class has a field called `field`
    lines: list[int] = dataclasses.field(default_factory=list)


class _Problems:
    """Problems found while reading, one issue per (field, file, kind of problem)."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self._groups: dict[tuple[str | None, Path, str], _Group] = {}

    def add(
        self,
        field_name: str | None,
        where: _Where,
        problem: str,
        *,
        detail: str | None = None,
        value: Any = None,
        fix: str | None = None,
    ) -> None:
        key = (field_name, where.path, problem)
        group = self._groups.setdefault(
            key, _Group(field_name, where.path, problem, detail, value, fix)
        )
        group.lines.append(where.line)

    def raise_if_any(self) -> None:
        issues = self.issues + [self._render(g) for g in self._groups.values()]
        if issues:
            raise ValidationError(issues)

    @staticmethod
    def _render(group: _Group) -> Issue:
        # "missing on lines 2, 5 and 8 more of refs.jsonl; line 2 has fields: id, text"
        lines = group.lines
        if len(lines) == 1:
            message = f"{group.problem} on line {lines[0]} of {group.path}"
        else:
            more = f" and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
            message = (
                f"{group.problem} on lines {', '.join(map(str, lines[:_SHOWN]))}{more} "
                f"of {group.path}"
            )
        if group.detail:
            message += f"; line {lines[0]} {group.detail}"
        return Issue(group.field, message, group.value, group.fix)
