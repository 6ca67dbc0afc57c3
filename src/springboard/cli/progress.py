"""Waiting for a job in the terminal: a rich progress bar (records/s, ETA) fed by the
job's counts, then a one-line summary. Machine output (`--json`) waits silently."""

from __future__ import annotations

from typing import Any

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)

from springboard.cli.output import console, err_console


def wait_for_job(job_id: str, *, quiet: bool = False, timeout: float | None = None) -> Any:
    from springboard.jobs import service

    if quiet:
        return service.wait(job_id, timeout=timeout)
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(job_id, total=None, rate="")

        def update(job: Any) -> None:
            counts = job.counts or {}
            speed = progress.tasks[0].speed
            progress.update(task, total=counts.get("total"), completed=counts.get("processed", 0),
                            description=f"{job.id} {job.status}",
                            rate=f"{speed:.1f} rec/s" if speed else "")

        job = service.wait(job_id, timeout=timeout, on_update=update)
    summarize(job)
    return job


def summarize(job: Any) -> None:
    counts = job.counts or {}
    took = (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else None
    parts = [f"[bold]{job.id}[/] {job.status}"]
    if counts:
        parts.append(f"{counts.get('succeeded', 0)} ok, {counts.get('failed', 0)} failed of "
                     f"{counts.get('total', '?')}")
        parts.append(f"tokens in {counts.get('input_tokens', 0)} / out {counts.get('output_tokens', 0)}")
    if took is not None:
        parts.append(f"{took:.1f} s")
    console.print(" · ".join(parts), highlight=False)
    if job.status_message:
        console.print(job.status_message, highlight=False)
