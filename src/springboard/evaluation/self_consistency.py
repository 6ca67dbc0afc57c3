"""The self-consistency report: greedy decoding against majority votes over sampled
reasoning paths, with accuracy against the number of paths N, tokens, time and cost.

`score(...)` turns generated texts (already produced by the job runner) into a
`SelfConsistencyReport`; `write_report` saves it as `report.json` plus an
`accuracy_vs_n.png` plot, `load_report` reads it back and `render_table` draws it for the
terminal; `ScoreOptions` describes scoring's options once (format, resamples, seed,
prices: the SDK's and the CLI's defaults and help). Nothing here calls a model; extraction
and voting are `answers.py` and `voting.py`. pydantic loads with this module; matplotlib
and rich only inside the functions that draw.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from springboard.errors import (
    Issue,
    NotFoundError,
    ValidationError,
    issues_from_pydantic,
)
from springboard.evaluation.answers import (
    DEFAULT_FORMAT,
    canonical_answer,
    extract_answer,
    parse_answer_format,
)
from springboard.evaluation.voting import (
    DEFAULT_RESAMPLES,
    CurvePoint,
    accuracy_curve,
    majority_vote,
    same_answer,
)
from springboard.options import Options, default_of

if TYPE_CHECKING:
    from rich.table import Table

Id = str | int
GREEDY = "greedy"  # the key of greedy decoding in `tokens` and `seconds`
REPORT_FILE = "report.json"
PLOT_FILE = "accuracy_vs_n.png"
_TABLE_NS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)


class ScoreOptions(Options):
    """How a self-consistency run is scored: the SDK's and the CLI's defaults and help."""

    answer_format: str = Field(
        DEFAULT_FORMAT,
        description="number (The answer is N), choice (a letter A-E) or regex:PATTERN.",
    )
    resamples: int = Field(
        DEFAULT_RESAMPLES, ge=1, description="Random draws of N paths per point of the curve."
    )
    seed: int = Field(0, description="Seeds the resamplings and vote tie-breaks.")
    price_in: float | None = Field(
        None, ge=0, description="Price per 1,000 input tokens, for the cost line."
    )
    price_out: float | None = Field(None, ge=0, description="Price per 1,000 output tokens.")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Usage(_Model):
    tokens_in: int = Field(description="Prompt tokens over all requests.")
    tokens_out: int = Field(description="Generated tokens over all requests.")
    seconds: float = Field(description="Wall-clock seconds spent generating.")


class GreedyResult(_Usage):
    """Greedy decoding: one reasoning path per question."""

    accuracy: float = Field(description="Share of questions whose greedy answer is right.")
    correct: int
    unparsable: float = Field(description="Share of questions whose text gave no answer.")


class TemperatureResult(_Usage):
    """Sampling at one temperature: accuracy against N, and the vote over every path."""

    temperature: float
    accuracy_by_n: list[CurvePoint] = Field(
        description="Mean and population std of the voted accuracy over resamples, N = 1.. "
        "the fewest paths any question has."
    )
    final_accuracy: float = Field(
        description="Accuracy of the vote over all of each question's paths."
    )
    correct: int = Field(description="Questions the vote over all paths gets right.")
    unparsable: float = Field(description="Share of sampled paths that gave no answer.")


class TemperatureCost(_Model):
    temperature: float
    cost: float


class Cost(_Model):
    """What the run cost at the given prices (per 1,000 tokens)."""

    price_in: float = Field(description="Price per 1,000 prompt tokens.")
    price_out: float = Field(description="Price per 1,000 generated tokens.")
    greedy: float
    sampled: list[TemperatureCost]


class QuestionSample(_Model):
    """One question's vote at one temperature."""

    temperature: float
    voted: str | None = Field(
        description="The majority answer over all paths; None when every path was unparsable."
    )
    correct: bool
    counts: dict[str, int] = Field(description="Paths per answer, most common first.")
    unparsable: int = Field(description="Paths that gave no answer.")


class QuestionRow(_Model):
    id: Id
    gold: str = Field(description="The gold answer, normalised like extracted ones.")
    greedy: str | None = Field(description="The answer greedy decoding gave, or None.")
    greedy_correct: bool
    samples: list[QuestionSample] = Field(description="One per temperature, ascending.")


class SelfConsistencyReport(_Model):
    """`springboard self-consistency run`: greedy decoding against self-consistency."""

    model: str
    questions: int = Field(description="Questions scored.")
    answer_format: str = Field(description="number, choice or regex:PATTERN.")
    paths: int = Field(
        description="Sampled paths per question (the fewest any question has at any temperature)."
    )
    temperatures: list[float]
    resamples: int = Field(description="Draws of N paths per point of the accuracy curve.")
    seed: int
    greedy: GreedyResult
    by_temperature: list[TemperatureResult]
    cost: Cost | None = Field(default=None, description="Present when prices were given.")
    per_question: list[QuestionRow]


def _temperature_of(key: Any) -> float | None:
    try:
        return float(key)
    except (TypeError, ValueError):
        return None


def _usage(
    tokens: Mapping[Any, Sequence[int]],
    seconds: Mapping[Any, float],
    temperatures: list[float],
    issues: list[Issue],
) -> dict[Any, dict[str, Any]]:
    """{"greedy" or temperature: {tokens_in, tokens_out, seconds}}, checking every key."""
    wanted: list[Any] = [GREEDY, *temperatures]
    usage: dict[Any, dict[str, Any]] = {key: {} for key in wanted}
    for name, mapping in (("tokens", tokens), ("seconds", seconds)):
        found: dict[Any, Any] = {}
        for key, value in mapping.items():
            target = GREEDY if key == GREEDY else _temperature_of(key)
            if target not in usage:
                issues.append(
                    Issue(
                        name,
                        f"unknown key {key!r}",
                        key,
                        f"use {GREEDY!r} or a sampled temperature: {temperatures}",
                    )
                )
            else:
                found[target] = value
        missing = [key for key in wanted if key not in found]
        if missing:
            issues.append(
                Issue(
                    name,
                    f"has no entry for {missing}",
                    None,
                    f"give one for {GREEDY!r} and every sampled temperature",
                )
            )
        for key, value in found.items():
            if name == "seconds":
                usage[key]["seconds"] = float(value)
            elif isinstance(value, Sequence) and len(value) == 2:
                usage[key]["tokens_in"], usage[key]["tokens_out"] = int(value[0]), int(value[1])
            else:
                issues.append(
                    Issue(
                        name, f"entry {key!r} must be (tokens_in, tokens_out); got {value!r}", value
                    )
                )
    return usage


def _check_texts(
    ids: list[str],
    greedy: Mapping[str, str],
    sampled: dict[float, dict[str, Sequence[str]]],
    issues: list[Issue],
) -> None:
    missing = [i for i in ids if i not in greedy]
    if missing:
        issues.append(
            Issue(
                "greedy_texts",
                f"no text for {len(missing)} question(s), e.g. {missing[:5]}",
                missing[:5],
                "give a text for every question (an empty one counts as unparsable)",
            )
        )
    if not sampled:
        issues.append(
            Issue(
                "sampled_texts", "no sampled temperature", None, "sample at least one temperature"
            )
        )
    for temperature, texts in sampled.items():
        empty = [i for i in ids if not texts.get(i)]
        if empty:
            issues.append(
                Issue(
                    "sampled_texts",
                    f"temperature {temperature}: no paths for "
                    f"{len(empty)} question(s), e.g. {empty[:5]}",
                    empty[:5],
                    "sample at least one path per question",
                )
            )


def _cost(usage: dict[str, Any], price_in: float, price_out: float) -> float:
    return (usage["tokens_in"] * price_in + usage["tokens_out"] * price_out) / 1000


def score(
    model: str,
    questions: Sequence[Mapping[str, Any]],
    greedy_texts: Mapping[Id, str],
    sampled_texts: Mapping[float, Mapping[Id, Sequence[str]]],
    *,
    answer_format: str = default_of(ScoreOptions, "answer_format"),
    resamples: int = default_of(ScoreOptions, "resamples"),
    seed: int = default_of(ScoreOptions, "seed"),
    tokens: Mapping[str | float, Sequence[int]],
    seconds: Mapping[str | float, float],
    price_in: float | None = None,
    price_out: float | None = None,
) -> SelfConsistencyReport:
    """Score greedy texts and sampled reasoning paths against the questions' gold answers.

    - `questions`: records with an `id` and a gold `answer` (ids 1 and "1" are the same).
    - `greedy_texts`: {id: the greedy generation}.
    - `sampled_texts`: {temperature: {id: [sampled generations]}}.
    - `tokens`: {"greedy" or temperature: (tokens_in, tokens_out)} summed over the requests.
    - `seconds`: {"greedy" or temperature: wall-clock seconds}.
    - `price_in`, `price_out`: per 1,000 tokens; give both to get `cost`.
    Every problem with the arguments is reported at once in one ValidationError.
    """
    fmt = parse_answer_format(answer_format)
    issues: list[Issue] = []
    ids, gold = [], []
    options: dict[str, Any] = {}  # a question's choices: a value answer is read as its letter
    for position, record in enumerate(questions):
        if "id" not in record or "answer" not in record:
            absent = [f for f in ("id", "answer") if f not in record]
            issues.append(
                Issue(
                    f"questions[{position}]",
                    f"has no {' or '.join(absent)}",
                    dict(record),
                    "every question needs an id and a gold answer",
                )
            )
            continue
        ids.append(str(record["id"]))
        options[ids[-1]] = record.get("choices")
        gold.append(canonical_answer(record["answer"], fmt, choices=options[ids[-1]]))
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        issues.append(Issue("questions", f"duplicate ids {duplicates[:5]}", duplicates[:5]))
    if not questions:
        issues.append(Issue("questions", "no questions to score", None))
    if (price_in is None) != (price_out is None):
        issues.append(
            Issue(
                "price_out" if price_out is None else "price_in",
                "is needed with the other price",
                None,
                "give both prices per 1,000 tokens, or neither",
            )
        )
    greedy = {str(k): v for k, v in greedy_texts.items()}
    sampled: dict[float, dict[str, Sequence[str]]] = {}
    for key, texts in sampled_texts.items():
        temperature = _temperature_of(key)
        if temperature is None:
            issues.append(Issue("sampled_texts", f"key {key!r} is not a temperature", key))
            continue
        sampled[temperature] = {str(k): v for k, v in texts.items()}
    temperatures = sorted(sampled)
    _check_texts(ids, greedy, sampled, issues)
    usage = _usage(tokens, seconds, temperatures, issues)
    if issues:
        raise ValidationError(issues, context="cannot score self-consistency")

    greedy_answers = [extract_answer(greedy[i], fmt, choices=options[i]) for i in ids]
    greedy_right = [same_answer(a, g) for a, g in zip(greedy_answers, gold, strict=True)]
    greedy_result = GreedyResult(
        accuracy=sum(greedy_right) / len(ids),
        correct=sum(greedy_right),
        unparsable=sum(a is None for a in greedy_answers) / len(ids),
        **usage[GREEDY],
    )

    results: list[TemperatureResult] = []
    samples_by_question: list[list[QuestionSample]] = [[] for _ in ids]
    for temperature in temperatures:
        answers = [
            [extract_answer(text, fmt, choices=options[i]) for text in sampled[temperature][i]]
            for i in ids
        ]
        curve = accuracy_curve(answers, gold, resamples=resamples, seed=seed)
        correct = 0
        for position, (paths, answer) in enumerate(zip(answers, gold, strict=True)):
            voted = majority_vote(paths, seed=seed)
            right = same_answer(voted, answer)
            correct += right
            counts = Counter(p.strip() for p in paths if p is not None and p.strip())
            samples_by_question[position].append(
                QuestionSample(
                    temperature=temperature,
                    voted=voted,
                    correct=right,
                    counts=dict(counts.most_common()),
                    unparsable=sum(p is None or not p.strip() for p in paths),
                )
            )
        total_paths = sum(len(paths) for paths in answers)
        results.append(
            TemperatureResult(
                temperature=temperature,
                accuracy_by_n=curve,
                final_accuracy=correct / len(ids),
                correct=correct,
                unparsable=sum(s[-1].unparsable for s in samples_by_question) / total_paths,
                **usage[temperature],
            )
        )

    cost = None
    if price_in is not None and price_out is not None:
        cost = Cost(
            price_in=price_in,
            price_out=price_out,
            greedy=_cost(usage[GREEDY], price_in, price_out),
            sampled=[
                TemperatureCost(temperature=t, cost=_cost(usage[t], price_in, price_out))
                for t in temperatures
            ],
        )
    rows = [
        QuestionRow(
            id=record["id"],
            gold=answer,
            greedy=greedy_answer,
            greedy_correct=right,
            samples=samples,
        )
        for record, answer, greedy_answer, right, samples in zip(
            questions, gold, greedy_answers, greedy_right, samples_by_question, strict=True
        )
    ]
    return SelfConsistencyReport(
        model=model,
        questions=len(ids),
        answer_format=str(fmt),
        paths=min(len(sampled[t][i]) for t in temperatures for i in ids),
        temperatures=temperatures,
        resamples=resamples,
        seed=seed,
        greedy=greedy_result,
        by_temperature=results,
        cost=cost,
        per_question=rows,
    )


def _plot(report: SelfConsistencyReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for result in report.by_temperature:
        ns = [p.n for p in result.accuracy_by_n]
        means = [p.mean for p in result.accuracy_by_n]
        low = [max(0.0, p.mean - p.std) for p in result.accuracy_by_n]
        high = [min(1.0, p.mean + p.std) for p in result.accuracy_by_n]
        (line,) = ax.plot(
            ns,
            means,
            marker="o" if len(ns) <= 20 else None,
            markersize=3,
            label=f"self-consistency, T={result.temperature:g}",
        )
        ax.fill_between(ns, low, high, color=line.get_color(), alpha=0.2)
    ax.axhline(report.greedy.accuracy, color="black", linestyle="--", label="greedy decoding")
    ax.set_xlabel("sampled reasoning paths (N)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Self-consistency: {report.model}")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(report: SelfConsistencyReport, out_dir: str | Path) -> dict[str, Path]:
    """Write `report.json` and `accuracy_vs_n.png` into `out_dir` (created if needed);
    return {"report": path, "plot": path}."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / REPORT_FILE
    report_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return {"report": report_path, "plot": _plot(report, out / PLOT_FILE)}


def load_report(path: str | Path) -> SelfConsistencyReport:
    """Read a report back from its directory (or from the `report.json` itself)."""
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / REPORT_FILE
    if not target.is_file():
        raise NotFoundError(
            f"no self-consistency report at {target}",
            field="dir",
            value=str(path),
            fix=f"pass the directory a run wrote its {REPORT_FILE} into",
        )
    try:
        return SelfConsistencyReport.model_validate(json.loads(target.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise ValidationError([Issue(None, f"{target} is not JSON: {exc}", str(target))]) from None
    except PydanticValidationError as exc:
        raise ValidationError(
            issues_from_pydantic(exc), context=f"{target} is not a self-consistency report"
        ) from None


def table_ns(max_n: int) -> list[int]:
    """The N shown in a table: 1, 2, 3, 5, 10, 20, 50, 100, … up to `max_n`, and `max_n`."""
    return sorted({n for n in _TABLE_NS if n <= max_n} | ({max_n} if max_n >= 1 else set()))


def render_table(report: SelfConsistencyReport) -> Table:
    """Accuracy (mean ± std over resamples) per N and temperature, under a greedy row."""
    from rich.table import Table

    table = Table(
        "decoding",
        "N",
        *(f"T={r.temperature:g}" for r in report.by_temperature),
        title=f"Self-consistency of {report.model} on {report.questions} questions "
        f"({report.resamples} resamples per N)",
    )
    greedy = f"{report.greedy.accuracy:.3f}"
    table.add_row("greedy", "1", *(greedy for _ in report.by_temperature), style="dim")
    longest = max((len(r.accuracy_by_n) for r in report.by_temperature), default=0)
    for n in table_ns(longest):
        cells = []
        for result in report.by_temperature:
            point = next((p for p in result.accuracy_by_n if p.n == n), None)
            cells.append(f"{point.mean:.3f} ± {point.std:.3f}" if point else "")
        table.add_row("vote" if n > 1 else "sample", str(n), *cells)
    table.add_row(
        "vote, all paths", "all", *(f"{r.final_accuracy:.3f}" for r in report.by_temperature)
    )
    usage = [f"greedy: {report.greedy.tokens_out:,} tokens out, {report.greedy.seconds:.1f} s"]
    usage += [
        f"T={r.temperature:g}: {r.tokens_out:,} tokens out, {r.seconds:.1f} s, "
        f"{r.unparsable:.0%} unparsable"
        for r in report.by_temperature
    ]
    if report.cost is not None:
        usage.append(
            f"cost: greedy {report.cost.greedy:.4f}; "
            + "; ".join(f"T={c.temperature:g} {c.cost:.4f}" for c in report.cost.sampled)
        )
    table.caption = "\n".join(usage)
    return table
