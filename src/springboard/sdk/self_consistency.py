"""Running a self-consistency experiment as invocation jobs, then scoring it.

`run` builds a few-shot chain-of-thought prompt per question from the user's exemplars,
writes one greedy record per question and, per temperature, enough sampled records
(`num_generations` up to 5, each with its own seed) to give every question `paths`
reasoning paths; runs them as invocation jobs (so they get scheduling, stop/resume and
counts), reads the output lines, and scores them with `springboard.evaluation`
(answers extracted, majority vote, accuracy vs N). The run's jobs are remembered in
`<output>/run.json`: running the same command again reuses finished jobs and resumes
stopped or crashed ones instead of starting over.

`from_jobs` scores existing invocation jobs' output instead. Prompt formats live in
`springboard.prompting`, scoring in `springboard.evaluation`; this module only wires them
to jobs.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from springboard.errors import Issue, ValidationError
from springboard.evaluation.answers import parse_answer_format
from springboard.evaluation.self_consistency import ScoreOptions
from springboard.jsonlines import read_objects
from springboard.options import Options, default_of, field_of

MAX_GENERATIONS = 5  # per record, as the completion shape allows
STOP = ["\nQ:", "\n\n"]  # a path ends where the model starts the next question
RUN_FILE = "run.json"


class RunSettings(Options):
    """What defines a run; a rerun with other settings must use another output folder.
    The CLI's `self-consistency run` options read their defaults and help from here."""

    problem: ClassVar[str] = "cannot run self-consistency"

    model: str = Field(description="Catalog model id.")
    questions: str = Field(description='JSON Lines: {"id", "question", "answer", "choices"?}.')
    exemplars: str = Field(
        description='JSON Lines of worked examples: {"question", "rationale", "answer"}.'
    )
    paths: int = Field(
        30, ge=1, le=1000, description="Sampled reasoning paths per question (per temperature)."
    )
    temperatures: list[float] = Field(
        [0.7],
        min_length=1,
        description="Sampling temperatures, each above 0 and at most 5 "
        "(greedy decoding always runs too); 0.7 with top-k 40 is Wang et al.'s setting for "
        "PaLM and GPT-3.",
    )
    answer_format: str = field_of(ScoreOptions, "answer_format")
    max_tokens: int = Field(96, ge=1, le=4096, description="Most new tokens per path.")
    top_k: int = Field(40, ge=0, description="Sample from the k most likely tokens (0: all).")
    shots: int | None = Field(
        None,
        ge=0,
        description="Use the first k exemplars (default: as many as fit the model's context).",
    )
    seed: int = field_of(
        ScoreOptions, "seed", description="Seeds the paths, the resamplings and vote tie-breaks."
    )
    backend: Literal["torch", "ctranslate2", "auto"] = Field(
        "torch", description="torch, ctranslate2 (compiled, CPU) or auto (the catalog preset's)."
    )
    quantize: str | None = Field(
        None, description="With the ctranslate2 backend: float32 (default), int8, ..."
    )

    @field_validator("temperatures")
    @classmethod
    def _temperatures(cls, values: list[float]) -> list[float]:
        if any(not 0 < t <= 5 for t in values):
            raise ValueError("each must be above 0 and at most 5 (greedy decoding always runs too)")
        if len(set(values)) != len(values):
            raise ValueError("a temperature is repeated")
        return values

    @field_validator("answer_format")
    @classmethod
    def _answer_format(cls, value: str) -> str:
        parse_answer_format(value)  # its own ValidationError, naming answer_format
        return value


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """Questions `{"id", "question", "answer", "choices"?}`; every bad line is reported."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError([Issue("questions", f"{path} does not exist", str(path))])
    records, issues = read_objects(path)
    questions = []
    for where, record in records:
        missing = [k for k in ("question", "answer") if k not in record]
        if missing:
            issues.append(
                Issue(
                    missing[0],
                    f"{where}: needs {' and '.join(missing)}",
                    None,
                    'each line: {"id", "question", "answer"} (+ "choices")',
                )
            )
            continue
        record.setdefault("id", int(where.rsplit(":", 1)[1]))
        questions.append(record)
    ids = [str(q["id"]) for q in questions]
    if len(set(ids)) != len(ids):
        issues.append(
            Issue("id", f"{path.name}: question ids repeat", None, "give each question its own id")
        )
    if not questions and not issues:
        issues.append(Issue("questions", f"{path} holds no questions", str(path)))
    if issues:
        raise ValidationError(issues, context=f"invalid questions in {path}")
    return questions


def _seed(base: int, *parts: Any) -> int:
    import hashlib

    text = "/".join(str(p) for p in (base, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _records(
    s: RunSettings, prompts: dict[str, str], temperature: float | None
) -> list[dict[str, Any]]:
    """Greedy records (temperature None) or sampled ones for one temperature."""
    records = []
    for qid, prompt in prompts.items():
        if temperature is None:
            records.append(
                {
                    "recordId": qid,
                    "modelInput": {
                        "prompt": prompt,
                        "temperature": 0,
                        "max_tokens": s.max_tokens,
                        "stop_sequences": STOP,
                    },
                }
            )
            continue
        left, chunk = s.paths, 0
        while left > 0:
            n = min(MAX_GENERATIONS, left)
            records.append(
                {
                    "recordId": f"{qid}#{chunk}",
                    "modelInput": {
                        "prompt": prompt,
                        "temperature": temperature,
                        "p": 1.0,
                        "k": s.top_k,
                        "max_tokens": s.max_tokens,
                        "num_generations": n,
                        "stop_sequences": STOP,
                        "seed": _seed(s.seed, temperature, qid, chunk),
                    },
                }
            )
            left, chunk = left - n, chunk + 1
    return records


def fitting_shots(
    model_id: str, exemplars: Sequence[Any], questions: Sequence[dict[str, Any]], max_tokens: int
) -> int:
    """The most leading exemplars whose prompts, for every question, leave room for
    `max_tokens` new tokens in the model's context."""
    from springboard.catalog import Catalog
    from springboard.prompting import few_shot_prompt
    from springboard.prompting.tokens import load_tokenizer

    spec = Catalog.load().get(model_id)
    tokenizer = load_tokenizer(spec)
    longest = max(
        questions,
        key=lambda q: len(few_shot_prompt(exemplars, q["question"], choices=q.get("choices"))),
    )
    for shots in range(len(exemplars), -1, -1):
        prompt = few_shot_prompt(
            exemplars[:shots], longest["question"], choices=longest.get("choices")
        )
        if len(tokenizer(prompt)["input_ids"]) + max_tokens <= spec.context_length:
            return shots
    raise ValidationError(
        [
            Issue(
                "max_tokens",
                f"even without exemplars, question "
                f"{longest['id']} and {max_tokens} new tokens exceed "
                f"{model_id}'s {spec.context_length}-token context",
                max_tokens,
                "lower `max_tokens` or shorten the questions",
            )
        ]
    )


def _key(temperature: float | None) -> str:
    return "greedy" if temperature is None else f"t{temperature:g}"


def run(
    settings: RunSettings,
    output: str | Path,
    *,
    resamples: int = default_of(ScoreOptions, "resamples"),
    price_in: float | None = None,
    price_out: float | None = None,
    on_update: Callable[[list[Any]], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    poll: float = 0.5,
) -> Any:
    """Run (or resume) the experiment in `output`; returns the report, also written there."""
    from springboard.jobs import invocation, service
    from springboard.prompting import few_shot_prompt, load_exemplars

    out = Path(output).expanduser().resolve()
    questions = load_questions(settings.questions)
    exemplars = load_exemplars(settings.exemplars)
    shots = (
        settings.shots
        if settings.shots is not None
        else fitting_shots(settings.model, exemplars, questions, settings.max_tokens)
    )
    prompts = {
        str(q["id"]): few_shot_prompt(exemplars[:shots], q["question"], choices=q.get("choices"))
        for q in questions
    }
    if on_note and shots < len(exemplars) and settings.shots is None:
        on_note(
            f"using {shots} of {len(exemplars)} exemplars: more would not fit "
            f"{settings.model}'s context with `max_tokens` {settings.max_tokens}"
        )
    state = _load_state(out, settings)
    temperatures: list[float | None] = [None, *settings.temperatures]
    for temperature in temperatures:
        key = _key(temperature)
        job_id = state["jobs"].get(key)
        if job_id is not None:
            job = service.get(job_id)
            if job.status in ("Stopped", "Failed"):
                service.resume(job_id)
            continue
        path = out / "inputs" / f"{key}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "".join(json.dumps(r) + "\n" for r in _records(settings, prompts, temperature))
        )
        job = invocation.create(
            job_name=f"sc-{state['run']}-{key.replace('.', 'p')}",
            model_id=settings.model,
            input_uri=str(path),
            output_uri=str(out / "outputs"),
            backend=settings.backend,
            quantize=settings.quantize,
        )
        state["jobs"][key] = job.id
        (out / RUN_FILE).write_text(json.dumps(state, indent=2) + "\n")
    ids = [state["jobs"][_key(t)] for t in temperatures]
    while True:
        jobs = [service.get(i) for i in ids]
        if on_update:
            on_update(jobs)
        if all(j.done for j in jobs):
            break
        time.sleep(poll)
    failed = [j for j in jobs if j.status not in ("Completed", "PartiallyCompleted")]
    if failed:
        from springboard.errors import ServerError

        raise ServerError(
            f"job {failed[0].id} ended {failed[0].status}: {failed[0].status_message}",
            fix=f"see `springboard jobs logs {failed[0].id}`; run the same command again to resume",
        )
    return _score(
        settings.model,
        questions,
        jobs,
        settings.answer_format,
        out,
        resamples=resamples,
        seed=settings.seed,
        price_in=price_in,
        price_out=price_out,
    )


def _load_state(out: Path, settings: RunSettings) -> dict[str, Any]:
    wanted = settings.model_dump()
    wanted["questions"] = str(Path(settings.questions).resolve())
    wanted["exemplars"] = str(Path(settings.exemplars).resolve())
    path = out / RUN_FILE
    if path.exists():
        state = json.loads(path.read_text())
        if state["settings"] != wanted:
            changed = sorted(k for k in wanted if state["settings"].get(k) != wanted[k])
            raise ValidationError(
                [
                    Issue(
                        "output",
                        f"{out} holds a run with other settings ({', '.join(changed)})",
                        str(out),
                        "use another `output`, or the same settings to resume",
                    )
                ]
            )
        return state
    out.mkdir(parents=True, exist_ok=True)
    return {"run": secrets.token_hex(3), "settings": wanted, "jobs": {}}


@dataclass
class _Collected:
    # question ids are keyed as `score` takes them (str | int; its ids 1 and "1" are the same)
    greedy: dict[str | int, str] = field(default_factory=dict)
    sampled: dict[float, dict[str | int, list[str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    tokens: dict[Any, list[int]] = field(default_factory=dict)
    seconds: dict[Any, float] = field(default_factory=dict)


def _collect(jobs: Sequence[Any]) -> _Collected:
    """Greedy texts (temperature 0 records) and sampled paths per temperature, with the
    tokens and seconds each group cost (a job's time is shared by its records)."""
    got = _Collected()
    for job in jobs:
        seconds = (
            (job.ended_at - job.started_at).total_seconds()
            if job.ended_at and job.started_at
            else 0.0
        )
        groups: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])  # in, out, records
        for file in job.outputs["files"]:
            for line in Path(file).read_text().splitlines():
                record = json.loads(line)
                model_input = record.get("modelInput") or {}
                qid = str(record["recordId"]).split("#")[0]
                temperature = (
                    float(model_input.get("temperature", 0.9))
                    if isinstance(model_input, dict)
                    else 0.0
                )
                key: Any = "greedy" if temperature == 0 else temperature
                output = record.get("modelOutput") or {}
                texts = (
                    [g["text"] for g in output.get("generations", [])]
                    if "error" not in record
                    else [""]
                )
                if key == "greedy":
                    got.greedy[qid] = texts[0] if texts else ""
                else:
                    got.sampled[key].setdefault(qid, []).extend(texts)
                groups[key][1] += sum(
                    g.get("token_count", 0) for g in output.get("generations", [])
                )
                groups[key][2] += 1
        total_records = sum(g[2] for g in groups.values()) or 1
        for key, (_, tokens_out, records) in groups.items():
            share = records / total_records
            tokens_in = round((job.counts or {}).get("input_tokens", 0) * share)
            previous = got.tokens.get(key, [0, 0])
            got.tokens[key] = [previous[0] + tokens_in, previous[1] + tokens_out]
            got.seconds[key] = got.seconds.get(key, 0.0) + seconds * share
    return got


def _score(
    model: str,
    questions: list[dict[str, Any]],
    jobs: Sequence[Any],
    answer_format: str,
    out: Path,
    **options: Any,
) -> Any:
    from springboard.evaluation.self_consistency import score, write_report

    got = _collect(jobs)
    if not got.greedy:
        raise ValidationError(
            [
                Issue(
                    "job_ids",
                    "none of the jobs has greedy records (temperature 0)",
                    None,
                    "add the job that ran greedy decoding",
                )
            ]
        )
    report = score(
        model,
        questions,
        got.greedy,
        {t: dict(v) for t, v in got.sampled.items()},
        answer_format=answer_format,
        tokens={k: tuple(v) for k, v in got.tokens.items()},
        seconds=got.seconds,
        **options,
    )
    write_report(report, out)
    return report


def from_jobs(
    job_ids: Sequence[str],
    questions: str | Path,
    output: str | Path,
    *,
    answer_format: str = default_of(ScoreOptions, "answer_format"),
    resamples: int = default_of(ScoreOptions, "resamples"),
    seed: int = default_of(ScoreOptions, "seed"),
    price_in: float | None = None,
    price_out: float | None = None,
) -> Any:
    """Score finished invocation jobs' output (greedy = the temperature-0 records)."""
    from springboard.jobs import invocation

    if not job_ids:
        raise ValidationError([Issue("job_ids", "name at least one invocation job", [])])
    jobs = [invocation.get(i) for i in job_ids]
    records = load_questions(questions)
    out = Path(output).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    return _score(
        jobs[0].model_id,
        records,
        jobs,
        answer_format,
        out,
        resamples=resamples,
        seed=seed,
        price_in=price_in,
        price_out=price_out,
    )
