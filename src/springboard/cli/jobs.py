"""`springboard jobs list|describe|logs|stop|resume|wait|metrics|schedule`."""

from __future__ import annotations

import csv
import sys
from typing import Annotated

import typer
from rich.table import Table

from springboard.cli.options import JsonOpt
from springboard.cli.output import console, emit_json, show

app = typer.Typer(
    help="Manage jobs: list, describe, logs, stop, resume, wait, metrics, schedule.",
    no_args_is_help=True,
)


@app.command("list")
def list_jobs(
    kind: Annotated[
        str | None, typer.Option("--kind", help="transform, training or invocation.")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="e.g. InProgress.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List jobs, oldest first."""
    from springboard.jobs import service

    jobs = service.list_jobs(kind=kind, status=status)
    if json_out:
        emit_json([j.model_dump(mode="json") for j in jobs])
        return
    table = Table("id", "kind", "name", "status", "model", "progress", "created")
    for j in jobs:
        counts = j.counts or {}
        done = f"{counts.get('processed', 0)}/{counts.get('total', '?')}" if counts else ""
        table.add_row(
            j.id,
            j.kind,
            j.name,
            j.status,
            j.model_id,
            done,
            j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


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
        f"started {len(ids)} job(s)" + (": " + ", ".join(ids) if ids else ""), highlight=False
    )


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
    """Print a job's metrics stream (timestamp, metric_name, value)."""
    from springboard.jobs import paths, service

    service.get(job_id)  # a clear error for an unknown id
    points = paths.read_metrics(job_id)
    if plot:
        from springboard.jobs.plots import plot_losses

        plot_losses(points, plot, title=job_id)
    if json_out:
        emit_json(points)
        return
    if csv_out:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=["timestamp", "metric_name", "value"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(points)
        return
    table = Table("timestamp", "metric", "value")
    for p in points:
        table.add_row(f"{p['timestamp']:.1f}", p["metric_name"], str(p["value"]))
    console.print(table)
