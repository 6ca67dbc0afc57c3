"""Prompt templates: few-shot prompts from a record, a few examples and a small spec.

A `Template` says how to write one prompt: an optional model `prefix` (e.g. AlexaTM's
"[CLM] "), an optional `instruction`, `shots` worked examples each written with the
`example` pattern, then the record written with the `query` pattern, all joined by
`separator`. Patterns use `{field}` placeholders (`{{`/`}}` for literal braces); a field
missing from a record or an example is an error naming the field and the record. Examples
are chosen as the first k, a seeded random k (one draw, the same for every record, as
HELM does, so outputs are comparable), or fixed ids; an example whose `id` is the record's
own is never shown for it.

Templates are small JSON or YAML files, inline JSON, or built-in names
(`builtin_templates()`; the files under `prompting/templates/`). `Prompter` pairs a
template with its examples and turns records into payloads for a model. This module
formats text only: it does not tokenize (see `springboard.prompting.tokens`) or call a
model.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from springboard.errors import (
    Issue,
    NotFoundError,
    ValidationError,
    issues_from_pydantic,
)
from springboard.inference.payloads import prompt_key
from springboard.jsonlines import read_objects

PATTERNS = ("prefix", "instruction", "example", "query")
_FORMATTER = string.Formatter()
_FIELD_FIX = "use {field} placeholders only (letters, digits, _ and -); write {{ and }} for braces"


class Template(BaseModel):
    """How to write a few-shot prompt. Unknown keys are refused (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("inline", description="What the template is called.")
    description: str = Field("", description="One line on what it is for.")
    prefix: str = Field("", description="Model-specific text put first, e.g. '[CLM] '.")
    instruction: str = Field("", description="Text before the examples; may use {field}s.")
    example: str = Field("", description="Pattern for each worked example.")
    query: str = Field(description="Pattern for the record the model should answer.")
    separator: str = Field("\n\n", description="Put between instruction, examples and query.")
    shots: int = Field(0, ge=0, le=64, description="How many examples to show.")
    selection: Literal["first", "random", "ids"] = Field(
        "first", description="first k examples, a seeded random k, or the examples named by `ids`."
    )
    seed: int = Field(0, description="Seed of the random selection.")
    ids: list[str | int] = Field([], description="Example ids to show, in order (selection 'ids').")
    defaults: dict[str, str] = Field({}, description="Values for fields a record may leave out.")
    target: str | None = Field(None, description="The example field the model is to produce.")

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Template:
        problems = template_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(p.render() for p in problems))
        return self

    # -- what it needs -------------------------------------------------------------------
    def fields(self, pattern: str = "query") -> list[str]:
        """The fields a pattern uses, in order of first use."""
        names: list[str] = []
        for _, fname, _, _ in _FORMATTER.parse(getattr(self, pattern)):
            if fname is not None and fname not in names:
                names.append(fname)
        return names

    @property
    def record_fields(self) -> list[str]:
        """Fields a record must have (or `defaults` must give): those of the query, prefix
        and instruction."""
        names = [f for p in ("prefix", "instruction", "query") for f in self.fields(p)]
        return list(dict.fromkeys(n for n in names if n not in self.defaults))

    @property
    def prompt_fields(self) -> set[str]:
        """Every field any pattern names: a record's keys outside these are not prompt text."""
        return {f for p in PATTERNS for f in self.fields(p)}

    @property
    def effective_shots(self) -> int:
        return len(self.ids) if self.selection == "ids" else self.shots

    # -- rendering -----------------------------------------------------------------------
    def select(
        self, examples: Sequence[Mapping[str, Any]], record: Mapping[str, Any] | None = None
    ) -> list[Mapping[str, Any]]:
        """The examples to show for `record`, by the template's selection."""
        own = record.get("id") if record is not None else None
        if self.selection == "ids":
            by_id = {str(e.get("id")): e for e in examples if e.get("id") is not None}
            missing = [str(i) for i in self.ids if str(i) not in by_id]
            if missing:
                raise ValidationError(
                    [
                        Issue(
                            "ids",
                            f"no example has id {', '.join(missing)}",
                            missing,
                            "give each example an `id`, or change `ids`",
                        )
                    ]
                )
            return [by_id[str(i)] for i in self.ids]
        pool = [e for e in examples if own is None or e.get("id") != own]
        if self.shots > len(pool):
            raise ValidationError(
                [
                    Issue(
                        "shots",
                        f"template {self.name!r} shows {self.shots} example"
                        f"{'s' if self.shots != 1 else ''} but {len(pool) or 'none'} "
                        f"{'is' if len(pool) == 1 else 'are'} available",
                        self.shots,
                        "pass more `examples`, or fewer `shots`",
                    )
                ]
            )
        if self.selection == "random":
            order = list(range(len(examples)))
            random.Random(self.seed).shuffle(order)
            chosen = [examples[i] for i in order if own is None or examples[i].get("id") != own]
            return chosen[: self.shots]
        return pool[: self.shots]

    def render(
        self,
        record: Mapping[str, Any],
        examples: Sequence[Mapping[str, Any]] = (),
        *,
        where: str = "the record",
    ) -> str:
        """The exact prompt text for `record` with examples chosen from `examples`."""
        if not isinstance(record, Mapping):
            raise ValidationError(
                [
                    Issue(
                        "record",
                        f"{where} is not a JSON object",
                        record,
                        "give an object of fields, e.g. "
                        + json.dumps({f: "..." for f in self.record_fields}),
                    )
                ]
            )
        chosen = self.select(examples, record) if self.effective_shots else []
        values = {**self.defaults, **record}
        parts = [_fill(self, "instruction", values, where)] if self.instruction else []
        for n, example in enumerate(chosen, 1):
            label = f"example {example.get('id', n)!s}"
            parts.append(_fill(self, "example", {**self.defaults, **example}, label))
        parts.append(_fill(self, "query", values, where))
        return _fill(self, "prefix", values, where) + self.separator.join(parts)

    def check_examples(self, examples: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Every example has every field of the example pattern (all problems at once)."""
        needed = [f for f in self.fields("example") if f not in self.defaults]
        issues = [
            Issue(
                name,
                f"{where} has no field {name!r}",
                sorted(example),
                f"add {name!r} to every example, or use a template whose example pattern fits them",
            )
            for where, example in examples
            for name in needed
            if name not in example
        ]
        if issues:
            raise ValidationError(issues, context=f"examples do not fit template {self.name!r}")


def template_problems(data: Mapping[str, Any]) -> list[Issue]:
    """What is wrong across a template's fields (placeholders, shots without an example
    pattern, ids without selection 'ids', a target no example has), every problem at once.
    Works on the raw data too, so these are reported beside pydantic's own errors."""
    issues = []
    patterns = {name: data.get(name, "") for name in PATTERNS}
    for name, pattern in patterns.items():
        if isinstance(pattern, str):
            issues += placeholder_problems(name, pattern)
    shots, selection, ids = (
        data.get("shots", 0),
        data.get("selection", "first"),
        data.get("ids") or [],
    )
    if isinstance(shots, int) and shots > 0 and not patterns["example"]:
        issues.append(
            Issue(
                "example",
                "is needed to show examples (shots > 0)",
                None,
                "add an `example` pattern, or set shots to 0",
            )
        )
    if selection == "ids" and not ids:
        issues.append(Issue("ids", "selection 'ids' needs the ids of the examples to show", ids))
    if ids and selection != "ids":
        issues.append(
            Issue(
                "ids",
                "is only used with selection 'ids'",
                ids,
                "set selection to 'ids', or drop `ids`",
            )
        )
    target = data.get("target")
    if (
        isinstance(target, str)
        and isinstance(patterns["example"], str)
        and f"{{{target}}}" not in patterns["example"]
    ):
        issues.append(Issue("target", f"{target!r} is not a field of the example pattern", target))
    return issues


def placeholder_problems(field: str, pattern: str) -> list[Issue]:
    """Each placeholder of `pattern` (the template field `field`) that is not a plain
    `{name}`: attribute and index lookups, conversions and format specs are refused (they
    are never evaluated), as are unbalanced braces."""
    issues = []
    try:
        for _, fname, spec, conversion in _FORMATTER.parse(pattern):
            if fname is not None and (not _plain(fname) or spec or conversion):
                shown = (
                    fname + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                )
                issues.append(
                    Issue(
                        field,
                        f"placeholder {{{shown}}} is not a plain field name",
                        pattern,
                        _FIELD_FIX,
                    )
                )
    except ValueError as exc:
        issues.append(Issue(field, str(exc), pattern, _FIELD_FIX))
    return issues


def fill_pattern(pattern: str, values: Mapping[str, Any]) -> tuple[str, list[str]]:
    """`pattern` with each `{name}` replaced by the text of `values[name]` (see `_text`),
    and the names `values` lacks (or holds None for). Only plain names are looked up —
    nothing in a placeholder is evaluated; check a pattern with `placeholder_problems`."""
    out, missing = [], []
    for literal, fname, _, _ in _FORMATTER.parse(pattern):
        out.append(literal)
        if fname is None:
            continue
        if fname in values and values[fname] is not None:
            out.append(_text(values[fname]))
        else:
            missing.append(fname)
    return "".join(out), missing


def _plain(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "_-" for c in name)


def _text(value: Any) -> str:
    """A field's value as prompt text: strings as they are, lists and objects as lettered
    choices "(A) 12 (B) 15", anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)) and value:
        items = (
            value.items()
            if isinstance(value, dict)
            else zip(string.ascii_uppercase, value, strict=False)
        )
        return " ".join(f"({k}) {_text(v)}" for k, v in items)
    return json.dumps(value)


def _fill(template: Template, pattern: str, values: Mapping[str, Any], where: str) -> str:
    text, missing = fill_pattern(getattr(template, pattern), values)
    if missing:
        have = sorted(k for k in values if k not in template.defaults and k != "id")
        raise ValidationError(
            [
                Issue(
                    name,
                    f"{where} has no field {name!r} (template "
                    f"{template.name!r} uses it in its {pattern} pattern)",
                    have,
                    f"add {name!r} to {where}" + (f"; it has {', '.join(have)}" if have else ""),
                )
                for name in missing
            ]
        )
    return text


# -- loading ---------------------------------------------------------------------------


@cache
def builtin_templates() -> dict[str, Template]:
    """The built-in templates by name (files under `springboard/prompting/templates/`)."""
    folder = resources.files("springboard.prompting") / "templates"
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            template = parse_template(json.loads(entry.read_text(encoding="utf-8")), entry.name)
            found[template.name] = template
    return found


def parse_template(data: Any, source: str = "template") -> Template:
    """A Template from a parsed JSON/YAML object; every problem is reported at once."""
    if not isinstance(data, dict):
        raise ValidationError(
            [
                Issue(
                    "template",
                    f"{source} is not an object",
                    data,
                    "write a JSON/YAML object with at least a `query`",
                )
            ]
        )
    issues = template_problems(data)
    try:
        template = Template.model_validate(data)
    except pydantic.ValidationError as exc:
        allowed = ", ".join(Template.model_fields)
        issues += [
            i for i in issues_from_pydantic(exc, allowed=lambda _: allowed) if i.field is not None
        ]  # a field-less one repeats template_problems
    if issues:
        raise ValidationError(issues, context=f"invalid prompt template {source}")
    return template


def load_template(spec: str | Path | Mapping[str, Any] | Template) -> Template:
    """A template from a built-in name, a .json/.yaml/.yml file, inline JSON, or a dict."""
    if isinstance(spec, Template):
        return spec
    if isinstance(spec, Mapping):
        return parse_template(dict(spec))
    text = str(spec).strip()
    if text.startswith("{"):
        try:
            return parse_template(json.loads(text), "(inline)")
        except json.JSONDecodeError as exc:
            raise ValidationError(
                [
                    Issue(
                        "prompt_template",
                        f"inline template is not valid JSON: {exc.msg}",
                        text[:200],
                    )
                ]
            ) from None
    builtins = builtin_templates()
    if text in builtins:
        return builtins[text]
    path = Path(text).expanduser()
    if path.is_file():
        return parse_template(_read_file(path), str(path))
    raise NotFoundError(
        f"no prompt template {text!r}: not a built-in name and not a file",
        field="prompt_template",
        value=text,
        fix="built-ins: " + ", ".join(builtins) + "; or a .json/.yaml file, or inline JSON",
    )


def _read_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValidationError(
                [Issue("prompt_template", f"{path} is not valid YAML: {exc}", str(path))]
            ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            [
                Issue(
                    "prompt_template",
                    f"{path} is not valid JSON: {exc}",
                    str(path),
                    "write JSON, or YAML in a .yaml file",
                )
            ]
        ) from None


def load_examples(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """`(where, example)` per line of a JSON Lines file; every bad line reported at once."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValidationError(
            [
                Issue(
                    "examples",
                    f"{file} does not exist",
                    str(path),
                    "pass a JSON Lines file, one example object per line",
                )
            ]
        )
    records, issues = read_objects(file, label=file.name, fix="one example object per line")
    if issues:
        raise ValidationError(issues, context=f"cannot read examples from {file}")
    return records


# -- a template with its examples, applied to records ------------------------------------


@dataclass(frozen=True)
class Prompter:
    """A template and its examples, checked against each other, ready for many records."""

    template: Template
    examples: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        template: str | Path | Mapping[str, Any] | Template,
        examples: str | Path | Sequence[Mapping[str, Any]] | None = None,
        *,
        shots: int | None = None,
    ) -> Prompter:
        """Load and check a template and its examples (a JSON Lines path or a list);
        `shots` overrides the template's count."""
        tmpl = load_template(template)
        if shots is not None:
            try:
                tmpl = Template.model_validate({**tmpl.model_dump(), "shots": shots})
            except pydantic.ValidationError as exc:
                raise ValidationError(
                    issues_from_pydantic(exc, prefix=""), context="invalid `shots`"
                ) from None
        if examples is None:
            located: list[tuple[str, dict[str, Any]]] = []
        elif isinstance(examples, (str, Path)):
            located = load_examples(examples)
        else:
            located = [(f"example {n}", dict(e)) for n, e in enumerate(examples, 1)]
        tmpl.check_examples(located)
        prompter = cls(tmpl, [e for _, e in located])
        if tmpl.effective_shots:
            prompter.template.select(prompter.examples)  # enough examples, ids present
        return prompter

    def render(self, record: Mapping[str, Any], *, where: str = "the record") -> str:
        return self.template.render(record, self.examples, where=where)

    def split(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(prompt fields, everything else) of a record: keys any pattern names are prompt
        text; the rest (generation parameters) stays for the payload. `id` goes to neither."""
        names = self.template.prompt_fields
        fields = {k: v for k, v in record.items() if k in names or k == "id"}
        rest = {k: v for k, v in record.items() if k not in names and k != "id"}
        return fields, rest

    def payload(
        self, record: Mapping[str, Any], key: str, *, where: str = "the record"
    ) -> dict[str, Any]:
        """The model payload for a record of fields: the rendered prompt under `key`
        ("text_inputs", "inputs" or "prompt") beside the record's other keys (its
        generation parameters), which the payload's own validation then checks."""
        prompt = self.render(record, where=where)  # first: it says when a record is no object
        _, rest = self.split(record)
        return {**rest, key: prompt}

    def request(self, data: Any, task: str) -> tuple[dict[str, Any], str | list[str]]:
        """A model payload for one record (a JSON object) or several sent together (a list
        sharing their generation parameters), and the rendered prompt(s)."""
        key = prompt_key(task)
        if isinstance(data, Mapping):
            payload = self.payload(data, key)
            return payload, payload[key]
        if not isinstance(data, list) or not data:
            raise ValidationError(
                [
                    Issue(
                        "record",
                        "with a prompt template the input is a "
                        "record of fields (a JSON object) or a list of them",
                        data,
                        "e.g. " + json.dumps({f: "..." for f in self.template.record_fields}),
                    )
                ]
            )
        payloads = [self.payload(r, key, where=f"record {n}") for n, r in enumerate(data, 1)]
        rests = [{k: v for k, v in p.items() if k != key} for p in payloads]
        if any(rest != rests[0] for rest in rests):
            raise ValidationError(
                [
                    Issue(
                        "parameters",
                        "records sent together must share their generation parameters",
                        [sorted(r) for r in rests],
                        "send them one by one, or run a transform job",
                    )
                ]
            )
        prompts = [p[key] for p in payloads]
        return {**rests[0], key: prompts}, prompts

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template.model_dump(), "examples": self.examples}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prompter:
        return cls(Template.model_validate(data["template"]), list(data["examples"]))
