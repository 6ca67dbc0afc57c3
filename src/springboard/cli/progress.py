"""Waiting for a job in the terminal: a rich progress bar fed by the job's counts —
records and records/s for batch jobs, steps and the live losses for training — then a
one-line summary. Machine output (`--json`) waits silently."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from springboard.cli.output import console, err_console

# `--wait` and `jobs wait` exit with these codes (docs/jobs.md lists them).
EXIT_CODES = {"Completed": 0, "PartiallyCompleted": 0, "Failed": 1, "Stopped": 4, "Expired": 4}
EXIT_INTERRUPTED = 130


def exit_for(job: Any) -> None:
    """Exit non-zero when the waited-for job ended Failed (1), Stopped or Expired (4)."""
    import typer

    code = EXIT_CODES.get(job.status, 0)
    if code:
        raise typer.Exit(code)


def after_submit(job: Any, *, wait: bool, json_out: bool) -> None:
    """What every job-submitting command prints: the job now, or after waiting for it."""
    from springboard.cli.output import emit_json

    if wait:
        job = wait_for_job(job.id, quiet=json_out)
    if json_out:
        emit_json(job.model_dump(mode="json"))
    elif not wait:
        console.print(
            f"job [bold]{job.id}[/] {job.status}: follow it with `springboard jobs wait {job.id}`",
            soft_wrap=True,
        )
    if wait:
        exit_for(job)


def wait_for_job(job_id: str, *, quiet: bool = False, timeout: float | None = None) -> Any:
    """Wait for the job, with progress unless `quiet`. Ctrl-C leaves the job running,
    says how to watch or stop it, and exits 130."""
    import typer

    try:
        return _wait(job_id, quiet=quiet, timeout=timeout)
    except KeyboardInterrupt:
        err_console.print(
            f"\ninterrupted; job {job_id} keeps running.\n"
            f"  watch it: springboard jobs wait {job_id}\n"
            f"            springboard jobs logs {job_id} --follow\n"
            f"  stop it:  springboard jobs stop {job_id}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _wait(job_id: str, *, quiet: bool, timeout: float | None) -> Any:
    from springboard.jobs import service

    if quiet:
        return service.wait(job_id, timeout=timeout)
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(job_id, total=None, rate="")

        def update(job: Any) -> None:
            done, total, detail = job_position(job.kind, job.counts or {}, progress.tasks[0].speed)
            progress.update(
                task, total=total, completed=done, description=f"{job.id} {job.status}", rate=detail
            )

        job = service.wait(job_id, timeout=timeout, on_update=update)
    summarize(job)
    return job


def job_position(
    kind: str, counts: dict[str, Any], speed: float | None
) -> tuple[int, int | None, str]:
    """(done, total, detail) of a job: steps and losses for training, records otherwise."""
    if kind == "training":
        losses = " ".join(
            f"{name}={counts[name]:.4f}"
            for name in ("train_loss", "val_loss")
            if isinstance(counts.get(name), int | float)
        )
        return counts.get("step", 0), counts.get("total_steps"), losses
    return counts.get("processed", 0), counts.get("total"), f"{speed:.1f} rec/s" if speed else ""


def summarize(job: Any) -> None:
    counts = job.counts or {}
    took = (
        (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else None
    )
    parts = [f"[bold]{job.id}[/] {job.status}"]
    parts += _training_parts(counts) if job.kind == "training" else _batch_parts(counts)
    if took is not None:
        parts.append(f"{took:.1f} s")
    console.print(" · ".join(parts), highlight=False)
    if job.status_message:
        console.print(job.status_message, highlight=False)


def _batch_parts(counts: dict[str, Any]) -> list[str]:
    if not counts:
        return []
    return [
        f"{counts.get('succeeded', 0)} ok, {counts.get('failed', 0)} failed of {counts.get('total', '?')}",
        f"tokens in {counts.get('input_tokens', 0)} / out {counts.get('output_tokens', 0)}",
    ]


def _training_parts(counts: dict[str, Any]) -> list[str]:
    parts = [f"step {counts.get('step', 0)}/{counts.get('total_steps', '?')}"]
    parts += [
        f"{name} {counts[name]:.4f}"
        for name in ("train_loss", "val_loss")
        if isinstance(counts.get(name), int | float)
    ]
    if counts.get("tokens_per_second"):
        parts.append(f"{counts['tokens_per_second']:.0f} tokens/s")
    return parts
