"""Forms that create jobs: a batch transform (model, input and output locations under the
server's data roots — or an uploaded input, kept by the OpenAI Files service —,
HYPER_PARAMS, a built-in or inline prompt template) and a training
job (its hyperparameter form generated from the catalog schema: defaults, ranges,
choices). Errors come back from the same submit functions the CLI calls and are shown
beside the field they name.

Locations are checked as for any HTTP caller (`LocationPolicy.http()`): the data roots and
allowed schemes only. An invocation job (Bedrock-style records) has its form too;
self-consistency runs have theirs in `self_consistency_pages`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from springboard.errors import Issue, SpringboardError, ValidationError
from springboard.ui.endpoint_pages import read_form
from springboard.ui.render import csrf_ok, error_page, field_errors, forbidden, page

router = APIRouter(include_in_schema=False)
# an invocation job's errors name the managed service's fields (as the CLI shows them)
INVOCATION_FIELDS = {
    "jobName": "job_name",
    "modelId": "model_id",
    "inputDataConfig": "input_uri",
    "outputDataConfig": "output_uri",
    "timeoutDurationInHours": "timeout_hours",
}
UPLOAD_PURPOSE = "user_data"  # OpenAI's purpose for a file of any use


def _models(task_training: bool = False) -> list[Any]:
    from springboard.catalog import list_models

    return list_models("training_supported == true" if task_training else None)


def _templates() -> list[str]:
    from springboard.prompting.template import builtin_templates

    return sorted(builtin_templates())


def _upload_mb() -> int:
    from springboard.config import get_settings

    return get_settings().files_max_mb


def _prompter(text: str) -> Any:
    """A built-in template name, or inline JSON; never a path (a form must not name the
    server's files)."""
    from springboard.prompting import Prompter

    text = text.strip()
    if not text:
        return None
    if not text.startswith("{") and text not in _templates():
        raise ValidationError(
            [
                Issue(
                    "prompt_template",
                    f"{text!r} is neither a built-in template nor inline JSON",
                    text,
                    "pick a built-in name or paste the template as JSON",
                )
            ]
        )
    return Prompter.load(text)


@router.get("/ui/jobs/new/transform")
def transform_form(request: Request, model: str = "") -> HTMLResponse:
    return page(
        request,
        "transform_form.html",
        upload_mb=_upload_mb(),
        models=_models(),
        templates=_templates(),
        form={"model_id": model},
    )


async def _transform_form(request: Request) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The transform form's fields, and its upload (file name, bytes) when one was chosen."""
    from starlette.datastructures import UploadFile

    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    upload = raw.get("upload")
    if isinstance(upload, UploadFile) and upload.filename:
        return form, (upload.filename, await upload.read())
    return form, None


def _keep_upload(filename: str, content: bytes) -> str:
    """Keep an uploaded input with the OpenAI Files service (its size limit, its storage;
    purpose `user_data`) and return the folder holding it as `data.jsonl`."""
    import secrets

    from springboard.errors import PayloadTooLargeError
    from springboard.files import service as files

    if len(content) > files.max_bytes():
        raise PayloadTooLargeError(
            f"the file is {len(content)} bytes; files may hold at most {files.max_bytes()}",
            field="upload",
            value=len(content),
            fix="split it, or raise SPRINGBOARD_FILES_MAX_MB on the server",
        )
    lines = sum(1 for line in content.splitlines() if line.strip())
    if not lines:
        raise ValidationError([Issue("upload", "the file holds no records", filename)])
    kept = files.keep(
        f"file-{secrets.token_hex(12)}",
        content,
        filename=Path(filename).name[:255] or "upload.jsonl",
        purpose=UPLOAD_PURPOSE,
        lines=lines,
    )
    return str(files.as_jsonl(kept.id))


@router.post("/ui/jobs/new/transform")
async def transform_submit(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from springboard.artifacts.locations import LocationPolicy
    from springboard.jobs import transform

    form, upload = await _transform_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)

    def submit() -> Any:
        from springboard.files import service as files

        env = {"HYPER_PARAMS": form["hyper_params"]} if form.get("hyper_params", "").strip() else {}
        output = form.get("output", "").strip()
        policy, source, kept = LocationPolicy.http(), form.get("input", "").strip(), None
        if upload is not None:
            issues = []
            if source:
                issues.append(
                    Issue("input", "give an input path or an upload, not both", source, "clear one")
                )
            try:  # the output is checked as for any HTTP caller; the input is our own file
                policy.check(output, "output")
            except ValidationError as exc:
                issues.extend(exc.issues)
            if issues:
                raise ValidationError(issues, context="cannot start the transform")
            source = _keep_upload(*upload)
            kept, policy = Path(source).parent.name, LocationPolicy.local_user()
        try:
            return transform.submit(
                form.get("model_id", ""),
                input=source,
                output=output,
                env=env,
                content_type=form.get("content_type") or "application/jsonlines",
                name=form.get("name", "").strip() or None,
                accept_eula=form.get("accept_eula") == "on",
                prompter=_prompter(form.get("prompt_template", "")),
                overwrite=form.get("overwrite") == "on",
                policy=policy,
            )
        except SpringboardError:
            if kept is not None:  # no job reads it: it is not kept
                files.delete(kept)
            raise

    try:
        job = await run_in_threadpool(submit)
    except SpringboardError as exc:
        errors, general = field_errors(exc)
        if "env" in errors or "HYPER_PARAMS" in errors:
            errors["hyper_params"] = errors.pop("env", []) + errors.pop("HYPER_PARAMS", [])
        return page(
            request,
            "transform_form.html",
            status_code=exc.http_status,
            upload_mb=_upload_mb(),
            models=_models(),
            templates=_templates(),
            form=form,
            errors=errors,
            general=general,
        )
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


@router.get("/ui/jobs/new/invocation")
def invocation_form(request: Request, model: str = "") -> HTMLResponse:
    return page(
        request,
        "invocation_form.html",
        models=_models(),
        templates=_templates(),
        form={"model_id": model, "timeout_hours": "24"},
    )


@router.post("/ui/jobs/new/invocation")
async def invocation_submit(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from springboard.artifacts.locations import LocationPolicy
    from springboard.jobs import invocation

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)

    def submit() -> Any:
        hours = form.get("timeout_hours", "").strip()
        if hours and not hours.isdigit():
            raise ValidationError(
                [Issue("timeout_hours", "must be a whole number of hours", hours, "e.g. 24")]
            )
        return invocation.create(
            job_name=form.get("job_name", "").strip(),
            model_id=form.get("model_id", ""),
            input_uri=form.get("input_uri", "").strip(),
            output_uri=form.get("output_uri", "").strip(),
            timeout_hours=int(hours) if hours else None,
            accept_eula=form.get("accept_eula") == "on",
            prompter=_prompter(form.get("prompt_template", "")),
            policy=LocationPolicy.http(),
        )

    try:
        job = await run_in_threadpool(submit)
    except SpringboardError as exc:
        errors, general = field_errors(exc)
        for api_name, form_name in INVOCATION_FIELDS.items():  # the messages stay as they are
            if api_name in errors:
                errors[form_name] = errors.get(form_name, []) + errors.pop(api_name)
        return page(
            request,
            "invocation_form.html",
            status_code=exc.http_status,
            models=_models(),
            templates=_templates(),
            form=form,
            errors=errors,
            general=general,
        )
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


def _training_context(model_id: str) -> dict[str, Any]:
    from springboard.catalog import get_model

    return {
        "models": _models(task_training=True),
        "spec": get_model(model_id) if model_id else None,
    }


@router.get("/ui/jobs/new/training")
def training_form(request: Request, model: str = "") -> HTMLResponse:
    try:
        context = _training_context(model)
    except SpringboardError as exc:
        return error_page(request, exc)
    return page(request, "training_form.html", form={"model_id": model}, **context)


@router.post("/ui/jobs/new/training")
async def training_submit(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from springboard.artifacts.locations import LocationPolicy
    from springboard.catalog import get_model, validate_hyperparameters
    from springboard.training import jobs as training_jobs

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    model_id = form.get("model_id", "")

    def submit() -> Any:
        spec = get_model(model_id)
        # only the values changed from their defaults: the job records what was asked for
        hp = {
            h.name: form[f"hp.{h.name}"]
            for h in spec.hyperparameters
            if f"hp.{h.name}" in form and form[f"hp.{h.name}"].strip() != _shown(h.default)
        }
        for h in spec.hyperparameters:  # an unticked box is false
            if h.type == "bool" and f"hp.{h.name}" not in form and h.default:
                hp[h.name] = "false"
        policy = LocationPolicy.http()
        train = form.get("train", "").strip()
        validation = form.get("validation", "").strip() or None
        issues: list[Issue] = []  # every field's problem at once: locations and values
        for field, uri in (("train", train), ("validation", validation)):
            if field == "train" or uri:
                try:
                    policy.check(uri or "", field)
                except ValidationError as exc:
                    issues.extend(exc.issues)
        try:
            validate_hyperparameters(spec.id, hp, spec.version)
        except ValidationError as exc:
            issues.extend(exc.issues)
        if issues:
            raise ValidationError(issues, context="cannot start the training job")
        return training_jobs.submit(
            spec.id,
            train=train,
            validation=validation,
            hyperparameters=hp,
            name=form.get("name", "").strip() or None,
            accept_eula=form.get("accept_eula") == "on",
        )

    try:
        job = await run_in_threadpool(submit)
    except SpringboardError as exc:
        errors, general = field_errors(exc)
        try:
            context = _training_context(model_id)
        except SpringboardError:
            context = {"models": _models(task_training=True), "spec": None}
        return page(
            request,
            "training_form.html",
            status_code=exc.http_status,
            form=form,
            errors=errors,
            general=general,
            **context,
        )
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


def _shown(value: Any) -> str:
    """A default as the form shows it (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
