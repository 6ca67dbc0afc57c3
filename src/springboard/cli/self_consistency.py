"""`springboard self-consistency run|report`: many reasoning paths, majority vote,
accuracy vs N against greedy decoding, with the cost in tokens and time."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from springboard.cli.options import BackendOpt, QuantizeOpt, default_of, option_from
from springboard.cli.output import console, emit_json, err_console, in_cli_terms
from springboard.evaluation.self_consistency import ScoreOptions
from springboard.sdk.self_consistency import RunSettings

app = typer.Typer(
    help="Self-consistency: sample reasoning paths, majority-vote, report accuracy vs N.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
FormatOpt = Annotated[str, option_from(ScoreOptions, "answer_format", "--answer-format")]
ResamplesOpt = Annotated[int, option_from(ScoreOptions, "resamples", "--resamples")]
PriceIn = Annotated[float | None, option_from(ScoreOptions, "price_in", "--price-in")]
PriceOut = Annotated[float | None, option_from(ScoreOptions, "price_out", "--price-out")]


def _show(report: Any, out: str, json_out: bool) -> None:
    from springboard.evaluation.self_consistency import render_table

    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    console.print(render_table(report))
    console.print(f"report: {out}/report.json · plot: {out}/accuracy_vs_n.png", highlight=False)


@app.command("run")
def run(
    model: Annotated[str, option_from(RunSettings, "model", "--model")],
    questions: Annotated[str, option_from(RunSettings, "questions", "--questions")],
    exemplars: Annotated[str, option_from(RunSettings, "exemplars", "--exemplars")],
    output: Annotated[
        str,
        typer.Option(
            "--output", help="Folder for report.json, accuracy_vs_n.png and the jobs' files."
        ),
    ],
    paths: Annotated[int, option_from(RunSettings, "paths", "--paths")] = default_of(
        RunSettings, "paths"
    ),
    temperatures: Annotated[
        list[float],
        option_from(
            RunSettings, "temperatures", "--temperature", also="Repeat the option for several."
        ),
    ] = default_of(RunSettings, "temperatures"),
    answer_format: FormatOpt = default_of(RunSettings, "answer_format"),
    resamples: ResamplesOpt = default_of(ScoreOptions, "resamples"),
    max_tokens: Annotated[int, option_from(RunSettings, "max_tokens", "--max-tokens")] = default_of(
        RunSettings, "max_tokens"
    ),
    top_k: Annotated[int, option_from(RunSettings, "top_k", "--top-k")] = default_of(
        RunSettings, "top_k"
    ),
    shots: Annotated[int | None, option_from(RunSettings, "shots", "--shots")] = default_of(
        RunSettings, "shots"
    ),
    price_in: PriceIn = default_of(ScoreOptions, "price_in"),
    price_out: PriceOut = default_of(ScoreOptions, "price_out"),
    seed: Annotated[int, option_from(RunSettings, "seed", "--seed")] = default_of(
        RunSettings, "seed"
    ),
    backend: BackendOpt = "torch",
    quantize: QuantizeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run greedy decoding and sampled paths as invocation jobs, then score them.

    Running the same command again resumes the run in --output instead of starting over."""
    from springboard.cli.progress import Snapshot, progress_display
    from springboard.sdk.self_consistency import run as run_experiment

    settings = RunSettings(
        model=model,
        questions=questions,
        exemplars=exemplars,
        paths=paths,
        temperatures=list(temperatures),
        answer_format=answer_format,
        max_tokens=max_tokens,
        top_k=top_k,
        shots=shots,
        seed=seed,
        backend=backend,
        quantize=quantize,
    )
    with progress_display() as display:

        def update(jobs: list[Any]) -> None:
            counts = [j.counts or {} for j in jobs]
            display.show(
                Snapshot(
                    label="self-consistency",
                    status=" ".join(f"{j.name.rsplit('-', 1)[-1]}:{j.status}" for j in jobs),
                    done=sum(c.get("processed", 0) for c in counts),
                    total=sum(c.get("total", 0) for c in counts) or None,
                    unit="records",
                    ended=all(j.done for j in jobs),
                )
            )

        report = run_experiment(
            settings,
            output,
            resamples=resamples,
            price_in=price_in,
            price_out=price_out,
            on_update=update,
            on_note=lambda note: err_console.print(
                f"note: {in_cli_terms(note)}", highlight=False, markup=False, soft_wrap=True
            ),
        )
    _show(report, output, json_out)


@app.command("report")
def report(
    directory: Annotated[str, typer.Argument(help="A run's --output folder.")],
    from_job: Annotated[
        list[str],
        typer.Option(
            "--from-job",
            help="Score these invocation jobs' output instead (repeatable; greedy = temperature-0 records).",
        ),
    ] = [],  # noqa: B006 (typer's default for a repeatable option; never mutated)
    questions: Annotated[
        str | None, typer.Option("--questions", help="The questions, with --from-job.")
    ] = None,
    answer_format: FormatOpt = default_of(ScoreOptions, "answer_format"),
    resamples: ResamplesOpt = default_of(ScoreOptions, "resamples"),
    price_in: PriceIn = default_of(ScoreOptions, "price_in"),
    price_out: PriceOut = default_of(ScoreOptions, "price_out"),
    seed: Annotated[
        int,
        option_from(
            ScoreOptions,
            "seed",
            "--seed",
            help="Seeds the resamplings and tie-breaks (with --from-job).",
        ),
    ] = default_of(ScoreOptions, "seed"),
    json_out: JsonOpt = False,
) -> None:
    """Render a run's report again (table, JSON, PNG), or score existing jobs into DIRECTORY."""
    from springboard.errors import Issue, ValidationError
    from springboard.evaluation.self_consistency import load_report, write_report

    if from_job:
        from springboard.sdk.self_consistency import from_jobs

        if questions is None:
            raise ValidationError(
                [Issue("questions", "is needed with `from_job` (the gold answers)")]
            )
        result = from_jobs(
            from_job,
            questions,
            directory,
            answer_format=answer_format,
            resamples=resamples,
            seed=seed,
            price_in=price_in,
            price_out=price_out,
        )
    else:
        result = load_report(directory)
        write_report(result, directory)
    _show(result, directory, json_out)
