"""The `springboard` command: maps command names to their modules (and answers `--version`).

Each command imports what it needs inside its function, so `springboard --help` answers
without loading torch.
"""

from __future__ import annotations

from typing import Annotated

import typer

from springboard import permissions
from springboard.cli import (
    chat,
    cleanup,
    cluster,
    doctor,
    endpoints,
    evaluate,
    invocation_jobs,
    jobs,
    models,
    predict,
    prompts,
    self_consistency,
    serve,
    train,
    transform,
)
from springboard.cli.output import run_cli

app = typer.Typer(
    name="springboard",
    help="Springboard: a self-hosted hub for large language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from springboard.diagnostics import springboard_version

        typer.echo(f"springboard {springboard_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Springboard: a self-hosted hub for large language models."""


app.add_typer(models.app, name="models")
app.command("hyperparameters")(models.hyperparameters)
app.add_typer(prompts.app, name="prompts")
app.command("predict")(predict.predict)
app.command("compare")(predict.compare)
app.command("deploy")(endpoints.deploy)
app.command("invoke")(endpoints.invoke)
app.command("chat")(chat.chat)
app.add_typer(endpoints.app, name="endpoints")
app.command("transform")(transform.transform)
app.command("train")(train.train)
app.add_typer(jobs.app, name="jobs")
app.add_typer(invocation_jobs.app, name="invocation-jobs")
app.add_typer(self_consistency.app, name="self-consistency")
app.add_typer(evaluate.app, name="evaluate")
app.command("serve")(serve.serve)
app.command("doctor")(doctor.doctor)
app.add_typer(cluster.app, name="cluster")
app.command("du")(cleanup.du)
app.command("prune")(cleanup.prune)
jobs.app.command("delete")(cleanup.delete_job)
models.app.command("delete")(cleanup.delete_model)


def main() -> None:
    # what the CLI writes (the state database, job and endpoint folders, outputs) is the
    # user's alone; the workers and servers it starts set the same umask themselves
    permissions.restrict_umask()
    run_cli(app)


if __name__ == "__main__":
    main()
