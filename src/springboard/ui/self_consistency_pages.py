"""Self-consistency in the UI: a run form, the runs found from their jobs, and a run's
report page (its jobs' progress, then the accuracy-vs-N chart with the mean ± std band
and the greedy line, the table and the token counts).

A run is what `springboard self-consistency run` does: the form builds the same
`RunSettings` and calls the same `sdk.self_consistency.run` (invocation jobs, then
scoring into `<output>/report.json`). That function waits for its jobs, so here it runs
on a thread of the control plane (`self_consistency_runs`); the request returns once the
jobs exist, or with the errors (beside their fields) that stopped it first. The page reads
`<output>/run.json` and `report.json` (`evaluation.self_consistency.load_report`); it
writes nothing. A run whose thread is gone (the server restarted) is finished by the Score
button, which runs the same function again: finished jobs are reused, stopped ones resumed.

Locations are the server's data roots only (`LocationPolicy.http()`), as for every form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from springboard.errors import Issue, NotFoundError, SpringboardError, ValidationError
from springboard.ui import self_consistency_runs as runs
from springboard.ui.charts import line_chart
from springboard.ui.endpoint_pages import read_form
from springboard.ui.render import csrf_ok, error_page, field_errors, forbidden, page

router = APIRouter(include_in_schema=False)
FIELDS = (
    "model",
    "questions",
    "exemplars",
    "output",
    "paths",
    "temperatures",
    "answer_format",
    "max_tokens",
    "top_k",
    "shots",
    "seed",
    "resamples",
)
READY_SECONDS = 120.0  # the request waits this long at most for the jobs to exist
QUESTION_ROWS = 100


def _local(uri: str, field_name: str, issues: list[Issue]) -> Path | None:
    """`uri` as a local path under the data roots, or None with its issue added."""
    from springboard.artifacts.locations import LocationPolicy

    try:
        location = LocationPolicy.http().check(uri, field_name)
    except ValidationError as exc:
        issues.extend(exc.issues)
        return None
    if location.path is None:
        issues.append(
            Issue(field_name, "must be a local path", uri, "name a file under the data roots")
        )
    return location.path


def _number(text: str, kind: type[int] | type[float]) -> Any:
    """A number as the CLI would have parsed it (so its messages read the same); text
    that is not one stays text, for the settings' own message."""
    try:
        return kind(text)
    except ValueError:
        return text.strip()


def _checked(form: dict[str, str]) -> tuple[Any, Path, int]:
    """(RunSettings, output folder, resamples) from the form; every problem at once."""
    from springboard.evaluation.self_consistency import ScoreOptions
    from springboard.sdk.self_consistency import RunSettings

    issues: list[Issue] = []
    paths = {
        name: _local(form.get(name, "").strip(), name, issues)
        for name in ("questions", "exemplars", "output")
    }
    values: dict[str, Any] = {
        "model": form.get("model", ""),
        **{k: str(paths[k] or form.get(k, "")) for k in ("questions", "exemplars")},
    }
    temperatures = [_number(t, float) for t in re.split(r"[\s,]+", form.get("temperatures", ""))]
    if any(t != "" for t in temperatures):  # none: the default, as when the CLI is not told
        values["temperatures"] = [t for t in temperatures if t != ""]
    for name in ("paths", "answer_format", "max_tokens", "top_k", "shots", "seed"):
        if form.get(name, "").strip():
            values[name] = (
                _number(form[name].strip(), int) if name != "answer_format" else form[name]
            )
    settings = None
    try:
        settings = RunSettings(**values)
    except ValidationError as exc:
        issues.extend(exc.issues)
    resamples = form.get("resamples", "").strip()
    try:
        score = ScoreOptions(**({"resamples": _number(resamples, int)} if resamples else {}))
    except ValidationError as exc:
        issues.extend(exc.issues)
    if issues or settings is None or paths["output"] is None:
        raise ValidationError(issues, context=RunSettings.problem)
    return settings, paths["output"], score.resamples


def _form_page(
    request: Request, form: dict[str, str], status_code: int = 200, **context: Any
) -> HTMLResponse:
    from springboard.catalog import list_models
    from springboard.evaluation.self_consistency import ScoreOptions
    from springboard.sdk.self_consistency import RunSettings

    defaults = {
        name: info.get_default(call_default_factory=True)
        for name, info in RunSettings.model_fields.items()
    }
    defaults["resamples"] = ScoreOptions().resamples
    return page(
        request,
        "self_consistency_form.html",
        status_code=status_code,
        models=list_models(),
        form=form,
        defaults=defaults,
        **context,
    )


def _by_form_field(exc: SpringboardError) -> tuple[dict[str, list[str]], list[str]]:
    """The error's messages per form field (`temperatures.0` is the temperatures box)."""
    errors, general = field_errors(exc)
    shown: dict[str, list[str]] = {}
    for name, messages in errors.items():
        base = re.split(r"[.\[]", name)[0]
        if base in FIELDS:
            shown.setdefault(base, []).extend(messages)
        else:
            general.extend(messages)
    return shown, general


@router.get("/ui/self-consistency/new")
def run_form(request: Request, model: str = "") -> HTMLResponse:
    return _form_page(request, {"model": model})


@router.post("/ui/self-consistency/new")
async def run_submit(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    try:
        settings, out, resamples = await run_in_threadpool(_checked, form)
        run = runs.start(settings, out, resamples)
        await run_in_threadpool(run.ready.wait, READY_SECONDS)
        if run.error is not None and not run.started:
            raise run.error
    except SpringboardError as exc:
        errors, general = _by_form_field(exc)
        return _form_page(
            request, form, status_code=exc.http_status, errors=errors, general=general
        )
    return RedirectResponse(_report_url(out), status_code=303)


def _report_url(out: Path | str) -> str:
    from urllib.parse import quote

    return f"/ui/self-consistency/run?output={quote(str(out))}"


@router.post("/ui/self-consistency/score")
async def score_again(request: Request) -> Response:
    """Run the same settings again in their folder: finished jobs are reused, then scored."""
    from starlette.concurrency import run_in_threadpool

    from springboard.sdk.self_consistency import RunSettings

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    try:
        out, state = await run_in_threadpool(_run_state, form.get("output", ""))
        if state is None:
            raise NotFoundError(
                f"{out} holds no run.json",
                field="output",
                value=str(out),
                fix="start the run from the form",
            )
        run = runs.start(RunSettings(**state["settings"]), out, _resamples(out))
        await run_in_threadpool(run.ready.wait, READY_SECONDS)
    except SpringboardError as exc:
        return error_page(request, exc)
    return RedirectResponse(_report_url(out), status_code=303)


def _resamples(out: Path) -> int:
    """The resamples an earlier report used (the run.json does not keep them)."""
    from springboard.evaluation.self_consistency import ScoreOptions, load_report

    try:
        return load_report(out).resamples
    except SpringboardError:
        return ScoreOptions().resamples


def _run_state(output: str) -> tuple[Path, dict[str, Any] | None]:
    """The folder (checked) and its run.json, if any."""
    from springboard.sdk.self_consistency import RUN_FILE

    issues: list[Issue] = []
    out = _local(output.strip(), "output", issues)
    if issues or out is None:
        raise ValidationError(issues, context="cannot show the run")
    path = out / RUN_FILE
    if not path.is_file():
        return out, None
    try:
        return out, json.loads(path.read_text())
    except ValueError:
        raise ValidationError(
            [Issue("output", f"{path} is not JSON", str(out), "name a run's output folder")]
        ) from None


def run_view(output: str) -> dict[str, Any]:
    """What a run's page shows: settings, jobs, and the report once there is one."""
    from springboard.evaluation.self_consistency import REPORT_FILE, load_report
    from springboard.jobs import service
    from springboard.ui.job_pages import percent

    out, state = _run_state(output)
    run = runs.current(out)
    running = run is not None and run.alive
    # while its thread runs, a report there is an earlier one, or being written
    report = load_report(out) if (out / REPORT_FILE).is_file() and not running else None
    if state is None and report is None:
        raise NotFoundError(
            f"no self-consistency run in {out}",
            field="output",
            value=str(out),
            fix="name the output folder of a run (it holds run.json)",
        )
    jobs = []
    for key, job_id in (state or {}).get("jobs", {}).items():
        try:
            job = service.get(job_id)
        except NotFoundError:
            continue
        jobs.append((key, job, percent(job)))
    error = None if run is None or running else run.error
    return {
        "out": str(out),
        "settings": (state or {}).get("settings", {}),
        "jobs": jobs,
        "report": report,
        "running": running,
        "error": str(error) if error else None,
        "notes": list(run.notes) if run else [],
        # nothing on this process will score it: offer to (finished jobs are reused)
        "can_score": report is None and not running and state is not None,
        "chart": accuracy_chart(report) if report else None,
        "rows": table_rows(report) if report else [],
        "questions": report.per_question[:QUESTION_ROWS] if report else [],
    }


def accuracy_chart(report: Any) -> Any:
    """Voted accuracy against N per temperature (mean, with a mean ± std band), and
    greedy decoding's accuracy as a dashed line."""
    series: dict[str, list[tuple[float, float]]] = {}
    bands: dict[str, list[tuple[float, float, float]]] = {}
    longest = 1
    for result in report.by_temperature:
        name = f"T={result.temperature:g}"
        points = result.accuracy_by_n
        series[name] = [(p.n, p.mean) for p in points]
        bands[name] = [(p.n, max(0.0, p.mean - p.std), min(1.0, p.mean + p.std)) for p in points]
        longest = max([longest, *(p.n for p in points)])
    series["greedy"] = [(1, report.greedy.accuracy), (longest, report.greedy.accuracy)]
    return line_chart(
        series,
        bands=bands,
        dashed={"greedy"},
        title=f"accuracy vs sampled paths: {report.model}",
        x_label="sampled reasoning paths (N)",
        y_label="accuracy",
    )


def table_rows(report: Any) -> list[tuple[str, str, list[str]]]:
    """(decoding, N, a cell per temperature) as `self-consistency report` prints them."""
    from springboard.evaluation.self_consistency import table_ns

    temps = report.by_temperature
    rows = [("greedy", "1", [f"{report.greedy.accuracy:.3f}" for _ in temps])]
    longest = max((len(r.accuracy_by_n) for r in temps), default=0)
    for n in table_ns(longest):
        cells = []
        for result in temps:
            point = next((p for p in result.accuracy_by_n if p.n == n), None)
            cells.append(f"{point.mean:.3f} ± {point.std:.3f}" if point else "")
        rows.append(("vote" if n > 1 else "sample", str(n), cells))
    rows.append(("vote, all paths", "all", [f"{r.final_accuracy:.3f}" for r in temps]))
    return rows


@router.get("/ui/self-consistency/run")
def run_page(request: Request, output: str = "") -> HTMLResponse:
    try:
        return page(request, "self_consistency_run.html", **run_view(output))
    except SpringboardError as exc:
        return error_page(request, exc)


@router.get("/ui/self-consistency/run/live")
def run_live(request: Request, output: str = "") -> HTMLResponse:
    try:
        view = run_view(output)
    except SpringboardError as exc:
        return error_page(request, exc)
    ended = not view["running"]
    # 286: htmx shows this answer, then stops polling
    return page(request, "_self_consistency_live.html", status_code=286 if ended else 200, **view)


@router.get("/ui/self-consistency")
def runs_list(request: Request) -> HTMLResponse:
    """The runs the invocation jobs name (`sc-<run>-<decoding>`, output `<folder>/outputs`)."""
    from springboard.jobs import service
    from springboard.store import job_records

    found: dict[str, dict[str, Any]] = {}
    for row in job_records.find(kind=service.job_kind("invocation")):
        name, uri = row.get("name") or "", (row.get("outputs") or {}).get("uri") or ""
        if not name.startswith("sc-") or not uri:
            continue
        folder = str(Path(uri).parent)
        entry = found.setdefault(
            folder,
            {"out": folder, "model": row["model_id"], "created": row["created_at"], "jobs": []},
        )
        entry["jobs"].append((name.rsplit("-", 1)[-1], row["status"]))
    listed = sorted(found.values(), key=lambda r: r["created"], reverse=True)
    return page(request, "self_consistency_runs.html", runs=listed, report_url=_report_url)
