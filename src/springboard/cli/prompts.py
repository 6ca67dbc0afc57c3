"""`springboard prompts list|show|render`, and the prompt options every run command shares
(`--prompt-template`, `--examples`, `--shots`, `--keep-prompt`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from springboard.cli.options import JsonOpt
from springboard.cli.output import (
    Column,
    QuietNamesOpt,
    check_quiet,
    console,
    emit_json,
    err_console,
    print_ids,
    print_table,
    read_json_arg,
)

if TYPE_CHECKING:
    from springboard.prompting import Prompter

app = typer.Typer(
    help="Prompt templates for in-context learning: list, show, render.", no_args_is_help=True
)

# The options predict, invoke, transform and invocation-jobs create share.
TemplateOpt = Annotated[
    str | None,
    typer.Option(
        "--prompt-template",
        help="Render each record's fields into a prompt with this template: "
        "a built-in name (see `springboard prompts list`), a .json/.yaml file, or inline JSON.",
    ),
]
ExamplesOpt = Annotated[
    str | None,
    typer.Option("--examples", help="JSON Lines file of worked examples for the template's shots."),
]
ShotsOpt = Annotated[
    int | None,
    typer.Option("--shots", help="Show this many examples instead of the template's own count."),
]
KeepPromptOpt = Annotated[
    bool, typer.Option("--keep-prompt", help="Keep the rendered prompt in the output.")
]


def prompter_from(template: str | None, examples: str | None, shots: int | None) -> Prompter | None:
    """The Prompter the shared options ask for, or None when no template is given."""
    from springboard.errors import Issue, ValidationError
    from springboard.prompting import Prompter

    if template is None:
        if examples is not None or shots is not None:
            option = "--examples" if examples is not None else "--shots"
            raise ValidationError(
                [
                    Issue(
                        option,
                        "needs --prompt-template",
                        examples or shots,
                        "name a template, e.g. --prompt-template summarization",
                    )
                ]
            )
        return None
    return Prompter.load(template, examples, shots=shots)


@app.command("list")
def list_templates(quiet: QuietNamesOpt = False, json_out: JsonOpt = False) -> None:
    """List the built-in prompt templates (piped: tab-separated, with a header line; -q:
    the names alone)."""
    from springboard.prompting import builtin_templates

    check_quiet(quiet, json_out)
    rows = [
        {
            "name": t.name,
            "description": t.description,
            "shots": t.effective_shots,
            "record_fields": t.record_fields,
            "example_fields": t.fields("example"),
            "target": t.target,
        }
        for t in builtin_templates().values()
    ]
    if json_out:
        emit_json(rows)
    elif quiet:
        print_ids(row["name"] for row in rows)
    else:
        print_table(
            [
                Column("name", key=True),
                Column("shots", justify="right"),
                "record fields",
                "example fields",
                "description",
            ],
            [
                (
                    row["name"],
                    row["shots"],
                    ", ".join(row["record_fields"]),
                    ", ".join(row["example_fields"]),
                    row["description"],
                )
                for row in rows
            ],
        )


@app.command("show")
def show(
    template: Annotated[
        str, typer.Argument(help="A built-in name, a .json/.yaml file or inline JSON.")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Show a template's settings (built-in or your own)."""
    from springboard.prompting import load_template

    tmpl = load_template(template)
    if json_out:
        emit_json(tmpl.model_dump())
        return
    for key, value in tmpl.model_dump().items():
        console.print(f"[bold]{key:>12}[/]  {value!r}", highlight=False, markup=True)


@app.command("render")
def render(
    template: Annotated[
        str, typer.Argument(help="A built-in name, a .json/.yaml file or inline JSON.")
    ],
    record: Annotated[
        str, typer.Option("--record", "-r", help="The record's fields: inline JSON or @file.json.")
    ],
    examples: ExamplesOpt = None,
    shots: ShotsOpt = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Count tokens with this catalog model's tokenizer.")
    ] = "springboard-tiny-t5",
    json_out: JsonOpt = False,
) -> None:
    """Print exactly the prompt a model will see for a record, and its token count."""
    from springboard.prompting import Prompter, count_tokens

    prompter = Prompter.load(template, examples, shots=shots)
    prompt = prompter.render(read_json_arg(record, option="--record"), where="--record")
    count = count_tokens(prompt, model)
    if json_out:
        emit_json(
            {
                "template": prompter.template.name,
                "prompt": prompt,
                "model": count.model_id,
                "tokens": count.tokens,
                "context_length": count.context_length,
                "fits": count.fits,
            }
        )
    else:
        sys.stdout.write(f"{prompt}\n")
        sys.stdout.flush()
        err_console.print(
            f"[dim]{count.tokens} tokens for {count.model_id} (context {count.context_length})[/]",
            highlight=False,
            soft_wrap=True,
        )
    if not count.fits:
        err_console.print(
            f"[yellow]warning:[/] the prompt is {count.tokens} tokens, more than "
            f"{count.model_id}'s {count.context_length}-token context: use fewer "
            "shots or shorter examples",
            highlight=False,
            soft_wrap=True,
        )


def with_prompt(response: Any, prompt: str | list[str] | None) -> Any:
    """A response with the prompt that produced it, for --keep-prompt."""
    return response if prompt is None else {"prompt": prompt, "response": response}
