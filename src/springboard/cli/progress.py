"""Waiting for long work in the CLI: progress on stderr, the result on stdout.

On a terminal a rich progress bar shows a job's counts (records and records/s for batch
jobs, steps and the live losses for training). Without one (stderr piped or redirected to
a log) a plain line goes to stderr every `SPRINGBOARD_PROGRESS_INTERVAL` seconds (default
5; 0: only the last one) and once when the work ends, e.g.
`tr-1a2b3c InProgress 40/120 steps (33%) 3.1 steps/s eta 26s train_loss=2.3141`.
The result (the summary line, or the job as JSON with `--json`) goes to stdout, so
`--json` output stays parseable. Also: the exit codes of `--wait`, Ctrl-C during a wait,
and a spinner (or plain lines) for waits with no counts (`deploy`). It does not poll the
database itself (`jobs.service.wait` does) nor decide how a job is going.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

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
RATE_WINDOW = 60.0  # seconds of recent progress the rate (and so the ETA) is measured over
LOSSES = ("train_loss", "val_loss")


def exit_for(job: Any) -> None:
    """Exit non-zero when the waited-for job ended Failed (1), Stopped or Expired (4)."""
    import typer

    code = EXIT_CODES.get(job.status, 0)
    if code:
        raise typer.Exit(code)


def after_submit(job: Any, *, wait: bool, json_out: bool) -> None:
    """What every job-submitting command prints: the job now, or after waiting for it."""
    from springboard.cli.output import emit_json

    note_skipped_inputs(job)
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


def note_skipped_inputs(job: Any) -> None:
    """Say on stderr which files of an input folder the job does not read."""
    from springboard.artifacts import storage
    from springboard.jobs.batch_locations import INPUT_SUFFIXES

    settings = job.settings or {}  # batch kinds record them (`BatchLocations`)
    skipped = settings.get("skipped_inputs") or []
    if skipped:
        names = ", ".join(storage.basename(f) for f in skipped)
        err_console.print(
            f"skipped {len(skipped)} file(s) of {settings.get('input_uri')} that are not "
            f"{'/'.join(INPUT_SUFFIXES)}: {names}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def wait_for_job(job_id: str, *, quiet: bool = False, timeout: float | None = None) -> Any:
    """Wait for the job with progress on stderr, then print its summary on stdout unless
    `quiet` (the caller prints JSON there). Ctrl-C leaves the job running, says how to
    watch or stop it, and exits 130."""
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

    with progress_display() as display:
        job = service.wait(
            job_id, timeout=timeout, on_update=lambda job: display.show(job_snapshot(job))
        )
    if not quiet:
        summarize(job)
    return job


# -- what a display shows -----------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Where some work stands: `done` of `total` (None: not known yet) `unit`."""

    label: str
    status: str
    done: int
    total: int | None
    unit: str
    extra: str = ""  # e.g. the latest losses
    ended: bool = False


def job_snapshot(job: Any) -> Snapshot:
    counts = job.counts or {}
    done, total, _ = job_position(job.kind, counts, None)
    extra = _losses(counts) if job.kind == "training" else ""
    if counts.get("waiting_for"):
        extra = f"waiting for {counts['waiting_for']}"
    unit = "steps" if job.kind == "training" else "records"
    return Snapshot(job.id, job.status, done or 0, total, unit, extra, ended=bool(job.done))


def job_position(
    kind: str, counts: dict[str, Any], speed: float | None
) -> tuple[int, int | None, str]:
    """(done, total, detail) of a job: steps and losses for training, records otherwise."""
    if kind == "training":
        total = counts.get("total_steps")
        total = total if isinstance(total, int) and total > 0 else None  # -1: not known yet
        return counts.get("step") or 0, total, _losses(counts)
    return counts.get("processed", 0), counts.get("total"), f"{speed:.1f} rec/s" if speed else ""


def _losses(counts: dict[str, Any]) -> str:
    return " ".join(
        f"{name}={counts[name]:.4f}" for name in LOSSES if isinstance(counts.get(name), int | float)
    )


class Rate:
    """Units per second over the last `RATE_WINDOW` seconds; the clock starts at the last
    look before anything was done (loading a model is not counted as slow progress)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []

    def add(self, now: float, done: int) -> None:
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # counting started again
        if len(self.samples) == 1 and self.samples[0][1] == done:
            self.samples[0] = (now, done)
            return
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW:
            self.samples.pop(0)

    def per_second(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 and d1 > d0 else None


def plain_line(snap: Snapshot, rate: float | None) -> str:
    """`ID STATUS 40/120 steps (33%) 3.1 steps/s eta 26s train_loss=2.3141`."""
    parts = [snap.label, snap.status]
    if snap.total:
        parts.append(f"{snap.done}/{snap.total} {snap.unit} ({100 * snap.done / snap.total:.0f}%)")
    else:
        parts.append(f"{snap.done} {snap.unit}")
    if rate:
        parts.append(f"{rate:.1f} {snap.unit}/s")
        if snap.total and snap.done < snap.total and not snap.ended:
            parts.append(f"eta {_duration((snap.total - snap.done) / rate)}")
    if snap.extra:
        parts.append(snap.extra)
    return " ".join(parts)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


# -- displays -----------------------------------------------------------------------------


class Display(Protocol):
    def show(self, snap: Snapshot) -> None: ...


class PlainLines:
    """A plain line on stderr every `interval` seconds (0: none) and when the work ends."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = interval, clock
        self.rate = Rate()
        self.last_shown: float | None = None
        self.latest: Snapshot | None = None  # the last snapshot not written yet
        self.ended = False

    def show(self, snap: Snapshot) -> None:
        now = self.clock()
        self.rate.add(now, snap.done)
        self.latest = snap
        due = self.interval > 0 and (
            self.last_shown is None or now - self.last_shown >= self.interval
        )
        if (due or snap.ended) and not self.ended:
            self.last_shown, self.ended = now, snap.ended
            self._write(snap)

    def finish(self) -> None:
        """Where the work stands when the wait ends without its end (a timeout)."""
        if self.latest is not None and not self.ended:
            self._write(self.latest)

    def _write(self, snap: Snapshot) -> None:
        self.latest = None
        sys.stderr.write(plain_line(snap, self.rate.per_second()) + "\n")
        sys.stderr.flush()


class RichBar:
    """The terminal's progress bar (on stderr)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("", total=None, rate="")
        self.rate = Rate()

    def show(self, snap: Snapshot) -> None:
        self.rate.add(time.monotonic(), snap.done)
        speed = self.rate.per_second()
        detail = " ".join(
            part for part in (f"{speed:.1f} {snap.unit}/s" if speed else "", snap.extra) if part
        )
        self.progress.update(
            self.task,
            total=snap.total,
            completed=snap.done,
            description=f"{snap.label} {snap.status}",
            rate=detail,
        )


def progress_interval() -> float:
    from springboard.config import get_settings

    return get_settings().progress_interval


@contextmanager
def progress_display() -> Iterator[Display]:
    """A rich bar when stderr is a terminal, plain lines when it is not."""
    if not err_console.is_terminal:
        lines = PlainLines(progress_interval())
        yield lines
        lines.finish()
        return
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
        yield RichBar(progress)


@contextmanager
def waiting_status(message: str) -> Iterator[None]:
    """For a wait with no counts (an endpoint loading its model): a spinner on a terminal;
    otherwise `message` on stderr at once, then every interval with the seconds waited."""
    if err_console.is_terminal:
        with err_console.status(message):
            yield
        return
    interval = progress_interval()
    started, stop = time.monotonic(), threading.Event()

    def tick() -> None:
        while interval > 0 and not stop.wait(interval):
            sys.stderr.write(f"{message} ({time.monotonic() - started:.0f}s)\n")
            sys.stderr.flush()

    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()


# -- the result ---------------------------------------------------------------------------


def summarize(job: Any) -> None:
    counts = job.counts or {}
    took = (
        (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else None
    )
    parts = [f"[bold]{job.id}[/] {job.status}"]
    parts += _training_parts(counts) if job.kind == "training" else _batch_parts(counts)
    if took is not None:
        parts.append(f"{took:.1f} s")
    console.print(" · ".join(parts), highlight=False, soft_wrap=True)
    if job.status_message:
        console.print(job.status_message, highlight=False, markup=False, soft_wrap=True)


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
        f"{name} {counts[name]:.4f}" for name in LOSSES if isinstance(counts.get(name), int | float)
    ]
    if counts.get("tokens_per_second"):
        parts.append(f"{counts['tokens_per_second']:.0f} tokens/s")
    return parts
