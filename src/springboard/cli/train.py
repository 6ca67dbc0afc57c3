"""`springboard train`: submit a fine-tuning job (and optionally wait for it)."""

from __future__ import annotations

from typing import Annotated

import typer

from springboard.cli.endpoints import parse_env
from springboard.cli.options import AcceptEulaOpt, ClusterOpt, JsonOpt, WaitOpt
from springboard.cli.progress import after_submit


def train(
    model_id: Annotated[str, typer.Argument(help="Catalog model id to fine-tune.")],
    train: Annotated[
        str,
        typer.Option(
            "--train",
            help="Training data: a JSON Lines / .txt file, or a directory (with an optional template.json).",
        ),
    ],
    validation: Annotated[
        str | None,
        typer.Option(
            "--validation", help="Validation data (otherwise validation_split_ratio of --train)."
        ),
    ] = None,
    hyperparameter: Annotated[
        list[str],
        typer.Option(
            "--hyperparameter",
            "-H",
            help="NAME=VALUE (repeatable); see `springboard hyperparameters MODEL_ID`. "
            "instance_count=N (with --cluster): train on N Ray Train workers.",
        ),
    ] = [],  # noqa: B006 (typer's default for a repeatable option; never mutated)
    version: Annotated[
        str, typer.Option("--version", "-v", help="Model version (*, 1.*, 1.2.0).")
    ] = "*",
    name: Annotated[
        str | None,
        typer.Option("--name", help="Job name; the result is registered as MODEL_ID-ft-NAME."),
    ] = None,
    accept_eula: AcceptEulaOpt = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            help="Also copy the fine-tuned model to OUTPUT/<model id>/ (a directory, s3://bucket/prefix or another fsspec URL).",
        ),
    ] = None,
    checkpoint_uri: Annotated[
        str | None,
        typer.Option(
            "--checkpoint-uri",
            help="Also copy each checkpoint to this folder (s3://bucket/prefix, another fsspec URL, or a path every node sees), and resume from a newer one found there.",
        ),
    ] = None,
    cluster: ClusterOpt = None,
    wait: WaitOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Fine-tune a catalog model as a training job; the result becomes a new catalog model."""
    from springboard.training import jobs as training_jobs

    values = parse_env(hyperparameter, option="--hyperparameter")
    job = training_jobs.submit(
        model_id,
        train=train,
        validation=validation,
        hyperparameters=values,
        version=version,
        name=name,
        accept_eula=accept_eula,
        output=output,
        cluster=cluster,
        checkpoint_uri=checkpoint_uri,
    )
    after_submit(job, wait=wait, json_out=json_out)
