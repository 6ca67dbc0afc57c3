"""`springboard invocation-jobs create|get|list|stop`: Bedrock-style batch invocation jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from springboard.cli.options import (
    AcceptEulaOpt,
    BackendOpt,
    ClusterOpt,
    InstanceCountOpt,
    QuantizeOpt,
    WaitOpt,
)
from springboard.cli.output import (
    Column,
    QuietOpt,
    check_quiet,
    emit_json,
    print_fields,
    print_ids,
    print_table,
)
from springboard.cli.prompts import ExamplesOpt, KeepPromptOpt, ShotsOpt, TemplateOpt, prompter_from

if TYPE_CHECKING:
    from springboard.jobs.models import Job

app = typer.Typer(
    help="Batch invocation jobs (Bedrock style): create, get, list, stop.", no_args_is_help=True
)
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (the managed service's field names).")
]


def _print(job: Job, json_out: bool) -> None:
    """The job in the managed service's field names: JSON, or a describe view."""
    from springboard.jobs import invocation

    data = invocation.summary(job)
    if json_out:
        emit_json(data)
        return
    shown = {
        key: data.get(key)
        for key in (
            "jobArn",
            "jobId",
            "jobName",
            "modelId",
            "status",
            "message",
            "submitTime",
            "endTime",
            "totalRecordCount",
            "processedRecordCount",
            "successRecordCount",
            "errorRecordCount",
            "inputTokenCount",
            "outputTokenCount",
        )
    }
    times = {"submitTime": job.created_at, "endTime": job.ended_at}  # ISO, to the second
    print_fields({**shown, **times, "output": job.outputs["dir"]})


@app.command("create")
def create(
    job_name: Annotated[str, typer.Option("--job-name", help="1-63 letters, digits and hyphens.")],
    model_id: Annotated[str, typer.Option("--model-id", help="Catalog model id (or alias).")],
    input: Annotated[
        str,
        typer.Option("--input", help="JSON Lines file or folder: a path, file:// or s3:// URI."),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            help="Folder for <job-id>/NAME.out and manifest.json.out: a path, file:// or s3:// URI.",
        ),
    ],
    timeout_hours: Annotated[
        int, typer.Option("--timeout-hours", help="Expire the job after this many hours (24-168).")
    ] = 24,
    client_token: Annotated[
        str | None,
        typer.Option(
            "--client-token", help="Idempotency token: repeating it returns the same job."
        ),
    ] = None,
    role_arn: Annotated[
        str | None,
        typer.Option(
            "--role-arn", help="Accepted and recorded, for scripts written for the managed service."
        ),
    ] = None,
    accept_eula: AcceptEulaOpt = False,
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
    """Submit a JSON Lines file of model invocations as a batch job. With --prompt-template,
    each modelInput holds the template's fields (plus completion parameters)."""
    from springboard.cli.progress import exit_for, note_skipped_inputs, wait_for_job
    from springboard.jobs import invocation

    job = invocation.create(
        job_name=job_name,
        model_id=model_id,
        input_uri=input,
        output_uri=output,
        timeout_hours=timeout_hours,
        client_token=client_token,
        role_arn=role_arn,
        accept_eula=accept_eula,
        prompter=prompter_from(prompt_template, examples, shots),
        keep_prompt=keep_prompt,
        cluster=cluster,
        instance_count=instance_count,
        backend=backend,
        quantize=quantize,
    )
    note_skipped_inputs(job)
    if wait:
        job = wait_for_job(job.id, quiet=json_out)
    _print(job, json_out)
    if wait:
        exit_for(job)


@app.command("get")
def get(
    job_id: Annotated[str, typer.Argument(help="Job id or ARN.")], json_out: JsonOpt = False
) -> None:
    """Show a job: status, counts, where its output is."""
    from springboard.jobs import invocation

    _print(invocation.get(job_id), json_out)


@app.command("list")
def list_jobs(
    status: Annotated[
        str | None, typer.Option("--status", help="e.g. InProgress, Scheduled, Completed.")
    ] = None,
    name_contains: Annotated[
        str | None, typer.Option("--name-contains", help="Only names containing this.")
    ] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """List invocation jobs, oldest first (piped: tab-separated, with a header line; -q:
    the ids alone, which `get` and `stop` take, as they take ARNs)."""
    from springboard.cli.jobs import progress
    from springboard.jobs import invocation

    check_quiet(quiet, json_out)
    jobs = invocation.list_jobs(status=status, name_contains=name_contains)
    if json_out:
        emit_json({"invocationJobSummaries": [invocation.summary(j) for j in jobs]})
    elif quiet:
        print_ids(j.id for j in jobs)
    else:
        print_table(
            [
                Column("id", key=True),
                Column("name", key=True),
                Column("model", drop=2),
                Column("status"),
                Column("records", justify="right"),
                Column("submitted", drop=1),
            ],
            [(j.id, j.name, j.model_id, j.status, progress(j), j.created_at) for j in jobs],
        )


@app.command("stop")
def stop(
    job_id: Annotated[str, typer.Argument(help="Job id or ARN.")], json_out: JsonOpt = False
) -> None:
    """Stop a waiting or running job; output lines already written are kept."""
    from springboard.jobs import invocation

    _print(invocation.stop(job_id), json_out)
