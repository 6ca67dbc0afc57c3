"""`springboard jobs delete`, `models delete`, `prune` and `du`: parse, call
`springboard.housekeeping`, render.

Deleting asks first on a terminal; without one it needs `--yes` (a script must say so).
Results are plain lines on stdout (nothing cut when piped), or JSON with `--json`; the
question goes to stderr so JSON stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.filesize import decimal

from springboard.cli.options import JsonOpt
from springboard.cli.output import emit_json
from springboard.errors import Issue, ValidationError

if TYPE_CHECKING:
    from springboard.housekeeping.prune import PruneItem

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")]


def _confirm(question: str, yes: bool) -> None:
    """Go on when `yes`, or when the user says so on a terminal; otherwise refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ValidationError(
            [
                Issue(
                    "yes",
                    "nothing deleted: there is no terminal to ask for confirmation on",
                    None,
                    "pass `yes` to delete without asking",
                )
            ]
        )
    typer.confirm(question, abort=True, err=True)


def _line(verb: str, what: str, where: str, note: str) -> str:
    return f"  {verb:<8} {what:<20} {where}  ({note})"


def delete_job(
    job_id: Annotated[str, typer.Argument(help="The job id (or a unique start of it).")],
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete an ended job: its record, log, metrics, checkpoints and folder.

    Its outputs and any model it registered stay (`springboard models delete` removes a
    model). A running job is refused: stop it first.
    """
    from springboard.housekeeping import delete_job as delete

    _confirm(f"Delete job {job_id} and its log, metrics and checkpoints?", yes)
    result = delete(job_id)
    _show_deletion(
        result,
        f"deleted job {result.id} ({result.kind}, {result.status}, name {result.name!r})",
        json_out,
    )


def delete_model(
    model_id: Annotated[str, typer.Argument(help="A fine-tuned model's id.")],
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a fine-tuned model and its files (weights, tokenizer, adapter).

    Catalog models cannot be deleted; a model an endpoint serves needs its endpoint
    deleted first. A training job may then register the same name again.
    """
    from springboard.housekeeping import delete_model as delete

    _confirm(f"Delete model {model_id} and its files?", yes)
    result = delete(model_id)
    _show_deletion(
        result, f"deleted model {result.id} (version {', '.join(result.versions)})", json_out
    )


def _show_deletion(result: Any, headline: str, json_out: bool) -> None:
    """A deletion's result: JSON, or the headline with the bytes freed, then what was
    removed and what was kept."""
    if json_out:
        emit_json(result.model_dump(mode="json"))
        return
    typer.echo(f"{headline}: {decimal(result.bytes_freed)} freed")
    for removed in result.removed:
        typer.echo(_line("removed", removed.what, removed.path, decimal(removed.bytes)))
    for kept in result.kept:
        typer.echo(_line("kept", kept.what, kept.where, kept.note))


def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Remove what ended longer ago than this: 30m, 12h, 7d, 2w (0d: everything ended).",
        ),
    ] = "7d",
    yes: YesOpt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be removed.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Remove ended jobs, failed endpoints, orphaned folders and Springboard's cache.

    Jobs and endpoints that ended longer ago than --older-than go with their folders;
    folders with no record and cache entries go once older than it (and 15 minutes).
    Never running jobs, registered models, your outputs or the Hugging Face cache.
    """
    from springboard.housekeeping import execute, plan
    from springboard.housekeeping.prune import prune as prune_now

    if dry_run:
        result = prune_now(older_than, dry_run=True)
    else:
        planned = plan(older_than)
        if not yes and sys.stdin.isatty() and planned.items:
            _show(planned.items, "would remove")
        if planned.items or not sys.stdin.isatty():  # a script needs --yes even for nothing
            _confirm(f"Remove {len(planned.items)} item(s), {decimal(planned.bytes)}?", yes)
        result = execute(planned)
    if json_out:
        emit_json(result.model_dump(mode="json"))
        return
    verb = "would remove" if result.dry_run else "removed"
    _show(result.removed, verb)
    for skipped in result.skipped:
        typer.echo(f"skipped {skipped.item.what} {skipped.item.name}: {skipped.reason}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    freed = "would free" if result.dry_run else "freed"
    typer.echo(f"{freed} {decimal(result.bytes_freed)} ({len(result.removed)} item(s))")


def _show(items: Sequence[PruneItem], verb: str) -> None:
    for item in items:
        typer.echo(f"{verb} {item.what} {item.name}: {item.reason} ({decimal(item.bytes)})")


def du(
    top: Annotated[int, typer.Option("--top", min=0, help="How many largest jobs and models.")] = 5,
    json_out: JsonOpt = False,
) -> None:
    """Disk usage under SPRINGBOARD_HOME by category, and the largest jobs and models."""
    from springboard.housekeeping import disk_usage

    report = disk_usage(top)
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    typer.echo(f"{report.home}: {decimal(report.total_bytes)}")
    for category in report.categories:
        label = f"{category.name} ({category.kind})" if category.kind else category.name
        typer.echo(f"  {label:<24}{decimal(category.bytes):>12}{category.files:>8} files")
    if report.largest_jobs:
        typer.echo("largest jobs")
        for job in report.largest_jobs:
            typer.echo(
                f"  {job.id}  {job.kind:<10} {job.status:<18} {decimal(job.bytes):>10}  {job.name}"
            )
    if report.largest_models:
        typer.echo("largest models")
        for model in report.largest_models:
            note = "" if model.registered else "  (no record: `springboard prune` removes it)"
            typer.echo(f"  {model.id}  {decimal(model.bytes):>10}{note}")
