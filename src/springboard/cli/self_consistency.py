"""`springboard self-consistency run|report`: many reasoning paths, majority vote,
accuracy vs N against greedy decoding, with the cost in tokens and time."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from springboard.cli.output import console, emit_json, err_console
from springboard.sdk.self_consistency import DEFAULT_TEMPERATURE

app = typer.Typer(help="Self-consistency: sample reasoning paths, majority-vote, report accuracy vs N.",
                  no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
FormatOpt = Annotated[str, typer.Option("--answer-format", help="number (The answer is N), choice (a letter A-E) or regex:PATTERN.")]
ResamplesOpt = Annotated[int, typer.Option("--resamples", help="Random draws of N paths per point of the curve.")]
PriceIn = Annotated[float | None, typer.Option("--price-in", help="Price per 1,000 input tokens, for the cost line.")]
PriceOut = Annotated[float | None, typer.Option("--price-out", help="Price per 1,000 output tokens.")]


def _show(report: Any, out: str, json_out: bool) -> None:
    from springboard.evaluation.self_consistency import render_table

    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    console.print(render_table(report))
    console.print(f"report: {out}/report.json · plot: {out}/accuracy_vs_n.png", highlight=False)


@app.command("run")
def run(
    model: Annotated[str, typer.Option("--model", help="Catalog model id.")],
    questions: Annotated[str, typer.Option("--questions", help='JSON Lines: {"id", "question", "answer", "choices"?}.')],
    exemplars: Annotated[str, typer.Option("--exemplars", help='JSON Lines of worked examples: {"question", "rationale", "answer"}.')],
    output: Annotated[str, typer.Option("--output", help="Folder for report.json, accuracy_vs_n.png and the jobs' files.")],
    paths: Annotated[int, typer.Option("--paths", help="Sampled reasoning paths per question (per temperature).")] = 30,
    temperature: Annotated[list[float], typer.Option("--temperature", help=f"Sampling temperature (repeatable); {DEFAULT_TEMPERATURE} with top-k 40 is Wang et al.'s setting for PaLM and GPT-3.")] = [DEFAULT_TEMPERATURE],  # noqa: B006
    answer_format: FormatOpt = "number",
    resamples: ResamplesOpt = 100,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Most new tokens per path.")] = 96,
    top_k: Annotated[int, typer.Option("--top-k", help="Sample from the k most likely tokens (0: all).")] = 40,
    shots: Annotated[int | None, typer.Option("--shots", help="Use the first k exemplars (default: as many as fit the model's context).")] = None,
    price_in: PriceIn = None,
    price_out: PriceOut = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the paths, the resamplings and vote tie-breaks.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Run greedy decoding and sampled paths as invocation jobs, then score them.

    Running the same command again resumes the run in --output instead of starting over."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from springboard.evaluation.answers import parse_answer_format
    from springboard.sdk.self_consistency import RunSettings
    from springboard.sdk.self_consistency import run as run_experiment

    parse_answer_format(answer_format)
    settings = RunSettings(model=model, questions=questions, exemplars=exemplars, paths=paths,
                           temperatures=list(temperature), answer_format=answer_format,
                           max_tokens=max_tokens, top_k=top_k, shots=shots, seed=seed)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, disable=json_out) as progress:
        task = progress.add_task("records", total=None)

        def update(jobs: list[Any]) -> None:
            counts = [j.counts or {} for j in jobs]
            progress.update(task, total=sum(c.get("total", 0) for c in counts) or None,
                            completed=sum(c.get("processed", 0) for c in counts),
                            description=" ".join(f"{j.name.rsplit('-', 1)[-1]}:{j.status}" for j in jobs))

        report = run_experiment(settings, output, resamples=resamples, price_in=price_in,
                                price_out=price_out, on_update=update,
                                on_note=lambda note: err_console.print(f"note: {note}"))
    _show(report, output, json_out)


@app.command("report")
def report(
    directory: Annotated[str, typer.Argument(help="A run's --output folder.")],
    from_job: Annotated[list[str], typer.Option("--from-job", help="Score these invocation jobs' output instead (repeatable; greedy = temperature-0 records).")] = [],  # noqa: B006
    questions: Annotated[str | None, typer.Option("--questions", help="The questions, with --from-job.")] = None,
    answer_format: FormatOpt = "number",
    resamples: ResamplesOpt = 100,
    price_in: PriceIn = None,
    price_out: PriceOut = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the resamplings and tie-breaks (with --from-job).")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Render a run's report again (table, JSON, PNG), or score existing jobs into DIRECTORY."""
    from springboard.errors import Issue, ValidationError
    from springboard.evaluation.self_consistency import load_report, write_report

    if from_job:
        from springboard.sdk.self_consistency import from_jobs

        if questions is None:
            raise ValidationError([Issue("--questions", "is needed with --from-job (the gold answers)")])
        result = from_jobs(from_job, questions, directory, answer_format=answer_format,
                           resamples=resamples, seed=seed, price_in=price_in, price_out=price_out)
    else:
        result = load_report(directory)
        write_report(result, directory)
    _show(result, directory, json_out)
