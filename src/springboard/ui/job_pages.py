"""Job pages: the list (filters, paging, progress), a job's page with its live part
(progress, ETA, counts, log tail, per-record error lines, charts), Stop and Resume, and
downloads of its output files.

Routes call `jobs.service` as the CLI does; `job_view` only arranges what a job already
says (counts, metrics stream, output files) for the templates.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from springboard.errors import NotFoundError, SpringboardError
from springboard.ui.charts import line_chart
from springboard.ui.endpoint_pages import read_form
from springboard.ui.render import csrf_ok, error_page, forbidden, page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
LOG_LINES = 40
ERROR_LINES = 20
SCANNED_LINES = 20_000  # an output file is read this far for error lines, no further
KINDS = ("transform", "training", "invocation")
STATUSES = (
    "Submitted",
    "Scheduled",
    "Validating",
    "InProgress",
    "Stopping",
    "Stopped",
    "Completed",
    "PartiallyCompleted",
    "Failed",
    "Expired",
)


def progress(job: Any) -> tuple[int | None, int | None]:
    """(done, total): steps for training, records for the batch kinds."""
    counts = job.counts or {}
    if job.kind == "training":
        total = counts.get("total_steps")
        return counts.get("step"), total if total and total > 0 else None
    return counts.get("processed"), counts.get("total") or None


def percent(job: Any) -> int | None:
    done, total = progress(job)
    if total:
        return min(100, round(100 * (done or 0) / total))
    return 100 if job.status == "Completed" else None


def eta_seconds(job: Any) -> float | None:
    done, total = progress(job)
    if job.done or not job.started_at or not done or not total:
        return None
    started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=UTC)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    return max(0.0, elapsed / done * (total - done))


def _output_files(job: Any) -> list[str]:
    files = (job.outputs or {}).get("files") or []
    return [f for f in files if isinstance(f, str)]


def _local(uri: str) -> Path | None:
    from springboard.artifacts import storage

    if storage.is_remote(uri):
        return None
    path = storage.local_path(uri)
    return path if path.is_file() else None


def error_lines(job: Any) -> list[str]:
    """The first output lines that carry an `error` (per-record failures)."""
    found: list[str] = []
    for uri in _output_files(job):
        path = _local(uri)
        if path is None:
            continue
        with open(path, errors="replace") as handle:
            for n, line in enumerate(handle):
                if n >= SCANNED_LINES or len(found) >= ERROR_LINES:
                    break
                if '"error"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("error"):
                    found.append(line.strip())
    return found


def charts(job: Any) -> list[Any]:
    from springboard.jobs import paths

    points = paths.read_metrics(job.id)

    def series(name: str) -> list[tuple[float, float]]:
        return [
            (float(p["step"]), float(p["value"]))
            for p in points
            if p.get("metric_name") == name and p.get("step") is not None
        ]

    if job.kind == "training":
        return [
            line_chart(
                {"train_loss": series("train_loss"), "val_loss": series("val_loss")},
                title="loss",
                x_label="step",
                y_label="loss",
            )
        ]
    return [
        line_chart(
            {"records/s": series("records_per_second")},
            title="throughput",
            x_label="records processed",
            y_label="records/s",
        )
    ]


def job_view(job_id: str) -> dict[str, Any]:
    from springboard import processes
    from springboard.jobs import service

    job = service.get(job_id)
    return {
        "job": job,
        "progress": progress(job),
        "percent": percent(job),
        "eta": eta_seconds(job),
        "log": processes.log_tail(job.log_path, LOG_LINES),
        "error_lines": error_lines(job),
        "files": [(i, uri, _local(uri) is not None) for i, uri in enumerate(_output_files(job))],
        "charts": charts(job),
    }


def job_page_of(
    kind: str | None, status: str | None, page_number: int
) -> tuple[list[Any], int, int, int]:
    """One page of jobs, newest first: (jobs, how many match, the page, how many pages).

    The store's rows are paged first and only the page's jobs are read (and reconciled)
    through `jobs.service.get`, so a page costs the same at 50 jobs or 50,000; a filter
    on status matches the recorded status (a job whose worker died is shown as the
    service then says, Failed). `service.list_jobs` would build every job first; a
    paged `service.list_jobs` would let this go."""
    from springboard.jobs import service
    from springboard.jobs.models import Job
    from springboard.jobs.states import TERMINAL
    from springboard.store import job_records

    rows = job_records.find(
        kind=None if kind is None else service.job_kind(kind),
        status=None if status is None else service.job_status(status),
    )
    rows.reverse()
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page_number = min(max(1, page_number), pages)
    jobs = []
    for row in rows[(page_number - 1) * PAGE_SIZE : page_number * PAGE_SIZE]:
        if row["status"] in TERMINAL:  # nothing to reconcile; the list shows no log path
            jobs.append(Job.from_row(row, log_path=""))
            continue
        try:
            jobs.append(service.get(row["id"]))
        except NotFoundError:  # deleted since the page was read
            continue
    return jobs, len(rows), page_number, pages


@router.get("/ui/jobs")
def jobs_list(
    request: Request, kind: str = "", status: str = "", page_number: int = 1
) -> HTMLResponse:
    try:
        jobs, total, page_number, pages = job_page_of(kind or None, status or None, page_number)
    except SpringboardError as exc:
        return error_page(request, exc)
    return page(
        request,
        "jobs.html",
        jobs=[(j, progress(j), percent(j), eta_seconds(j)) for j in jobs],
        total=total,
        kind=kind,
        status=status,
        kinds=KINDS,
        statuses=STATUSES,
        page_number=page_number,
        pages=pages,
    )


@router.get("/ui/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> HTMLResponse:
    try:
        return page(request, "job.html", **job_view(job_id))
    except SpringboardError as exc:
        return error_page(request, exc)


@router.get("/ui/jobs/{job_id}/live")
def job_live(request: Request, job_id: str) -> HTMLResponse:
    try:
        view = job_view(job_id)
    except SpringboardError as exc:
        return error_page(request, exc)
    # 286: htmx stops polling once the job has ended (this last answer is still shown)
    return page(request, "_job_live.html", status_code=286 if view["job"].done else 200, **view)


@router.post("/ui/jobs/{job_id}/{action}")
async def job_action(request: Request, job_id: str, action: str) -> Response:
    from starlette.concurrency import run_in_threadpool

    from springboard.jobs import service

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    calls = {"stop": service.stop, "resume": service.resume}
    try:
        if action not in calls:
            raise NotFoundError(
                f"no action {action!r}", field="action", value=action, fix="stop or resume"
            )
        job = await run_in_threadpool(calls[action], job_id)
    except SpringboardError as exc:
        return error_page(request, exc)
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


@router.get("/ui/jobs/{job_id}/files/{index}")
def job_file(request: Request, job_id: str, index: int) -> Response:
    from springboard.jobs import service

    try:
        files = _output_files(service.get(job_id))
        path = _local(files[index]) if 0 <= index < len(files) else None
        if path is None:
            raise NotFoundError(
                f"job {job_id} has no local output file {index}",
                field="index",
                value=index,
                fix="see the job's page for its files",
            )
    except SpringboardError as exc:
        return error_page(request, exc)
    # shown as text in the browser (never as HTML: a record may hold markup)
    return FileResponse(
        path,
        media_type="text/plain; charset=utf-8",
        filename=path.name,
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff"},
    )
