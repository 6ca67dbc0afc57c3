"""`springboard transform`: submit a batch transform job (and optionally wait for it)."""

from __future__ import annotations

from typing import Annotated

import typer

from springboard.cli.endpoints import parse_env
from springboard.cli.options import (
    AcceptEulaOpt,
    BackendOpt,
    ClusterOpt,
    InstanceCountOpt,
    JsonOpt,
    QuantizeOpt,
    WaitOpt,
    backend_env,
    default_of,
    option_from,
)
from springboard.cli.progress import after_submit
from springboard.cli.prompts import ExamplesOpt, KeepPromptOpt, ShotsOpt, TemplateOpt, prompter_from
from springboard.options import TransformOptions


def transform(
    model_id: Annotated[str, typer.Argument(help="Catalog model id (or alias).")],
    input: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="A JSON Lines / text file, or a folder whose .jsonl, .json and .txt files are read (others skipped): a path, file:// or s3:// (any fsspec) URI.",
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Folder for the NAME.out files: a path, file:// or s3:// (any fsspec) URI.",
        ),
    ],
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace the results of an earlier job in --output (*.out files)."
        ),
    ] = False,
    version: Annotated[
        str, typer.Option("--version", "-v", help="Model version (*, 1.*, 1.2.0).")
    ] = "*",
    env: Annotated[
        list[str],
        typer.Option(
            "--env",
            "-e",
            help="HYPER_PARAMS=... (JSON or a Python dict literal; overrides every record), OPTION_DTYPE, OPTION_N_POSITIONS.",
        ),
    ] = [],  # noqa: B006 (typer's default for a repeatable option; never mutated)
    content_type: Annotated[
        str, option_from(TransformOptions, "content_type", "--content-type")
    ] = default_of(TransformOptions, "content_type"),
    batch_size: Annotated[
        int, option_from(TransformOptions, "batch_size", "--batch-size")
    ] = default_of(TransformOptions, "batch_size"),
    max_payload_mb: Annotated[
        float, option_from(TransformOptions, "max_payload_mb", "--max-payload-mb")
    ] = default_of(TransformOptions, "max_payload_mb"),
    name: Annotated[str | None, typer.Option("--name", help="Job name.")] = None,
    accept_eula: AcceptEulaOpt = False,
    model_dir: Annotated[
        str | None, typer.Option("--model-dir", help="Use the weights in this directory.")
    ] = None,
    prompt_template: TemplateOpt = None,
    examples: ExamplesOpt = None,
    shots: ShotsOpt = None,
    keep_prompt: KeepPromptOpt = False,
    cluster: ClusterOpt = None,
    instance_count: InstanceCountOpt = 1,
    backend: BackendOpt = "torch",
    quantize: QuantizeOpt = None,
    wait: WaitOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Run a model over a dataset as a batch transform job (no endpoint needed)."""
    from springboard.jobs import transform as transform_jobs

    job = transform_jobs.submit(
        model_id,
        input=input,
        output=output,
        version=version,
        env=parse_env(env) | backend_env(backend, quantize),
        content_type=content_type,
        batch_size=batch_size,
        max_payload_mb=max_payload_mb,
        name=name,
        accept_eula=accept_eula,
        model_dir=model_dir,
        prompter=prompter_from(prompt_template, examples, shots),
        keep_prompt=keep_prompt,
        overwrite=overwrite,
        cluster=cluster,
        instance_count=instance_count,
    )
    after_submit(job, wait=wait, json_out=json_out)
