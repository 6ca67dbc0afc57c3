"""`springboard jobs list|describe|logs|stop|resume|wait|metrics|schedule`: each parses its
options, calls `jobs.service` (which also resolves id prefixes) and renders the answer
with `cli.output` (tables, describe views). No job logic lives here."""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any

import typer

from springboard.cli.options import JsonOpt
from springboard.cli.output import (
    Column,
    QuietOpt,
    cell,
    check_quiet,
    console,
    emit_json,
    iso_time,
    number,
    print_ids,
    print_table,
    show,
)

app = typer.Typer(
    help="Manage jobs: list, describe, logs, stop, resume, wait, metrics, schedule.",
    no_args_is_help=True,
)

JOB_COLUMNS = [
    Column("id", key=True),
    Column("kind", drop=1),  # the id's prefix says it too: tr-, ft-, inv-
    Column("name", key=True),
    Column("status"),
    Column("model", drop=3),
    Column("progress", justify="right"),
    Column("created", drop=2),
]


def progress(job: Any) -> str:
    """Where a job is: steps done of the total for training, records for the others."""
    from springboard.cli.progress import job_position

    if not job.counts:
        return ""
    done, total, _ = job_position(job.kind, job.counts, None)
    return f"{done or 0}/{total}" if total is not None and total >= 0 else str(done or 0)


@app.command("list")
def list_jobs(
    kind: Annotated[
        str | None, typer.Option("--kind", help="transform, training or invocation.")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="e.g. InProgress.")] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """List jobs, oldest first (`-q | tail -1` is the newest). Piped, a tab-separated table
    with a header line; in a terminal, columns that do not fit are left out, never cut."""
    from springboard.jobs import service

    check_quiet(quiet, json_out)
    jobs = service.list_jobs(kind=kind, status=status)
    if json_out:
        emit_json([j.model_dump(mode="json") for j in jobs])
    elif quiet:
        print_ids(j.id for j in jobs)
    else:
        print_table(
            JOB_COLUMNS,
            [(j.id, j.kind, j.name, j.status, j.model_id, progress(j), j.created_at) for j in jobs],
        )


@app.command("describe")
def describe(job_id: str, json_out: JsonOpt = False) -> None:
    """Show a job: status, model, inputs, outputs, settings, counts."""
    from springboard.jobs import service

    show(service.get(job_id), as_json=json_out)


@app.command("logs")
def logs(
    job_id: str,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing new lines until the job ends."),
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many last lines.")] = 50,
) -> None:
    """Print a job's log (tail it with --follow, which returns once the job has ended)."""
    from pathlib import Path

    from springboard.cli.tail import tail
    from springboard.jobs import service

    job = service.get(job_id)
    tail(
        Path(job.log_path),
        lines=lines,
        follow=follow,
        ended=lambda: service.get(job.id).done,
    )


@app.command("stop")
def stop(job_id: str, json_out: JsonOpt = False) -> None:
    """Stop a job after its current batch; everything written is kept."""
    from springboard.jobs import service

    job = service.stop(job_id)
    show(job, as_json=json_out, line=f"job [bold]{job.id}[/] {job.status}")


@app.command("resume")
def resume(job_id: str, json_out: JsonOpt = False) -> None:
    """Restart a stopped or failed job from its last checkpoint."""
    from springboard.jobs import service

    job = service.resume(job_id)
    show(job, as_json=json_out, line=f"job [bold]{job.id}[/] {job.status}")


@app.command("wait")
def wait(
    job_id: str,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Give up after this many seconds.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Wait for a job to end, showing its progress. Exits 0 when it ends Completed or
    PartiallyCompleted, 1 Failed, 4 Stopped or Expired, 130 on Ctrl-C (the job keeps running)."""
    from springboard.cli.progress import exit_for, wait_for_job

    job = wait_for_job(job_id, quiet=json_out, timeout=timeout)
    if json_out:
        emit_json(job.model_dump(mode="json"))
    exit_for(job)


@app.command("schedule")
def schedule(json_out: JsonOpt = False) -> None:
    """Run the scheduler once: expire jobs that waited past their deadline and start waiting jobs while slots are free (`springboard serve` does this every few seconds; reading a job never does)."""
    from springboard.jobs import service

    started = service.schedule()
    if json_out:
        emit_json(started)
        return
    ids = [job_id for kind_ids in started.values() for job_id in kind_ids]
    console.print(
        f"started {len(ids)} job(s)" + (": " + ", ".join(ids) if ids else ""),
        highlight=False,
        soft_wrap=True,
    )


METRIC_FIELDS = ["step", "time", "timestamp", "metric_name", "value"]


def metric_points(job_id: str) -> list[dict[str, Any]]:
    """The job's metrics stream, each point with its `step` (None if it has none) and its
    `time` in ISO-8601 UTC beside the Unix `timestamp`."""
    from springboard.jobs import paths

    return [
        {"step": p.get("step"), "time": iso_time(p["timestamp"]), **p}
        for p in paths.read_metrics(job_id)
    ]


@app.command("metrics")
def metrics(
    job_id: str,
    json_out: JsonOpt = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot", help="Also draw train and validation loss against steps into this PNG."
        ),
    ] = None,
) -> None:
    """Print a job's metrics stream: step, time (UTC), metric, value. --csv and --json add
    the Unix timestamp."""
    from springboard.jobs import paths, service

    job_id = service.get(job_id).id  # the full id (a prefix may be given), or a clear error
    points = metric_points(job_id)
    if plot:
        from springboard.jobs.plots import plot_losses

        plot_losses(paths.read_metrics(job_id), plot, title=job_id)
    if json_out:
        emit_json(points)
        return
    if csv_out:
        writer = csv.DictWriter(sys.stdout, fieldnames=METRIC_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(points)
        return
    print_table(
        [
            Column("step", justify="right"),
            Column("time"),
            Column("metric", key=True),
            Column("value", justify="right"),
        ],
        [
            (
                cell(p["step"]),
                p["time"],
                p["metric_name"],
                number(p["value"]) if isinstance(p["value"], float) else cell(p["value"]),
            )
            for p in points
        ],
    )
