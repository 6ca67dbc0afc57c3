"""`springboard predict`: run one payload through a model in this process (no endpoint)."""

from __future__ import annotations

from typing import Annotated

import typer

from springboard.cli.output import console, emit_json, read_json_arg


def predict(
    model_id: Annotated[str, typer.Argument(help="Catalog model id (or alias).")],
    input: Annotated[str, typer.Option("--input", "-i",
                                       help="The payload: inline JSON or @file.json.")],
    version: Annotated[str, typer.Option("--version", "-v", help="Model version (*, 1.*, 1.2.0).")] = "*",
    model_dir: Annotated[str | None, typer.Option(
        "--model-dir", help="Load the weights from this directory instead of the catalog source.")] = None,
    accept_eula: Annotated[bool, typer.Option("--accept-eula", help="Accept the model's EULA.")] = False,
    dtype: Annotated[str, typer.Option("--dtype", help="fp32, bf16 or fp16.")] = "fp32",
    json_out: Annotated[bool, typer.Option("--json", help="Print the raw response JSON.")] = False,
) -> None:
    """Run a payload through a catalog model in-process and print the response."""
    payload = read_json_arg(input, option="--input")
    from springboard.inference import Generator, LoadOptions

    options = LoadOptions.parse({"dtype": dtype})
    # from_catalog refuses a gated model before resolving or loading anything
    generator = Generator.from_catalog(model_id, version, model_dir=model_dir,
                                       accept_eula=accept_eula, options=options)
    response = generator.predict(payload)
    if json_out:
        emit_json(response)
        return
    console.print_json(data=response)
