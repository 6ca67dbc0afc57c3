"""`springboard predict`: run one payload through a model in this process (no endpoint)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from springboard.cli.options import AcceptEulaOpt, BackendOpt, QuantizeOpt
from springboard.cli.output import console, emit_json, read_json_arg
from springboard.cli.prompts import (
    ExamplesOpt,
    KeepPromptOpt,
    ShotsOpt,
    TemplateOpt,
    prompter_from,
    with_prompt,
)
from springboard.errors import Issue, ValidationError

HOW_TO_PASS = (
    'pass inline JSON in single quotes (\'{"text_inputs": "hi"}\'), '
    "@file.json, or - to read it from stdin"
)


def read_payload_text(value: str, *, option: str) -> str:
    """The text of a payload given as inline text, `-` (stdin) or `@FILE` (`@/dev/stdin` too)."""
    if value == "-":
        if sys.stdin.isatty():
            raise ValidationError(
                [Issue(option, "is - (stdin) but stdin is a terminal", value, HOW_TO_PASS)]
            )
        text = sys.stdin.read()
        where = "stdin"
    elif value.startswith("@"):
        path = Path(value[1:]).expanduser()
        # exists(), not is_file(): /dev/stdin and process substitutions are not regular files
        if not path.exists() or path.is_dir():
            raise ValidationError(
                [Issue(option, f"file {path} does not exist", value, HOW_TO_PASS)]
            )
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValidationError(
                [Issue(option, f"cannot read {path}: {exc.strerror}", value, HOW_TO_PASS)]
            ) from None
        where = str(path)
    else:
        return value
    if not text.strip():
        raise ValidationError([Issue(option, f"{where} is empty", value, HOW_TO_PASS)])
    return text


def read_payload(value: str, *, option: str) -> Any:
    """A JSON payload given inline, as `-` (stdin) or as `@FILE`."""
    text = read_payload_text(value, option=option)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = value if value == text else f"{value} ({text[:60]!r})"
        raise ValidationError(
            [
                Issue(
                    option,
                    f"is not valid JSON ({exc.msg} at character {exc.pos})",
                    shown,
                    HOW_TO_PASS,
                )
            ]
        ) from None


def predict(
    model_id: Annotated[str, typer.Argument(help="Catalog model id (or alias).")],
    input: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="The payload: inline JSON, @file.json, or - for stdin; with "
            "--prompt-template, a record of fields (or a list).",
        ),
    ],
    version: Annotated[
        str, typer.Option("--version", "-v", help="Model version (*, 1.*, 1.2.0).")
    ] = "*",
    model_dir: Annotated[
        str | None,
        typer.Option(
            "--model-dir",
            help="Load the weights from this directory instead of the catalog source.",
        ),
    ] = None,
    accept_eula: AcceptEulaOpt = False,
    dtype: Annotated[str, typer.Option("--dtype", help="fp32, bf16 or fp16.")] = "fp32",
    backend: BackendOpt = "torch",
    quantize: QuantizeOpt = None,
    prompt_template: TemplateOpt = None,
    examples: ExamplesOpt = None,
    shots: ShotsOpt = None,
    keep_prompt: KeepPromptOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the raw response JSON.")] = False,
) -> None:
    """Run a payload through a catalog model in-process and print the response."""
    payload = read_payload(input, option="--input")
    prompter = prompter_from(prompt_template, examples, shots)
    from springboard.catalog import Catalog
    from springboard.inference import Generator, LoadOptions

    prompt = None
    if prompter is not None:
        payload, prompt = prompter.request(payload, Catalog.load().get(model_id, version).task)
    options = LoadOptions.parse({"dtype": dtype, "backend": backend, "quantize": quantize})
    # from_catalog refuses a gated model before resolving or loading anything
    generator = Generator.from_catalog(
        model_id, version, model_dir=model_dir, accept_eula=accept_eula, options=options
    )
    response = with_prompt(generator.predict(payload), prompt if keep_prompt else None)
    # Piped stdout is data: plain JSON (rich would wrap long strings at its width).
    if json_out or not sys.stdout.isatty():
        emit_json(response)
        return
    console.print_json(data=response)


def compare(
    model_a: Annotated[str, typer.Argument(help="First model (e.g. the base).")],
    model_b: Annotated[str, typer.Argument(help="Second model (e.g. its fine-tuned version).")],
    input: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="JSON Lines prompts (text_inputs, inputs, prompt or text field) or text lines.",
        ),
    ],
    parameters: Annotated[
        str | None, typer.Option("--parameters", help="Generation parameters for both, as JSON.")
    ] = None,
    accept_eula: Annotated[
        bool, typer.Option("--accept-eula", help="Accept the models' EULAs.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Generate with two models on the same prompts and show them side by side."""
    from rich.table import Table

    from springboard.evaluation.compare import compare as run_compare

    params = read_json_arg(parameters, option="--parameters") if parameters else {}
    rows = run_compare(model_a, model_b, input, parameters=params, accept_eula=accept_eula)
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "prompt", model_a, model_b, show_lines=True)
    for row in rows:
        table.add_row(str(row["id"]), row["prompt"], row[model_a], row[model_b])
    console.print(table)
