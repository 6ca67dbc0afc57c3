"""Endpoint pages: the list with live status, deploy (from the model page's form), an
endpoint's page with its live status and log tail, the playground and Delete.

The playground of a text-generation endpoint streams from the control plane's OpenAI
gateway (`/v1/chat/completions`, in `static/ui.js`); a text2text endpoint's form is
answered here through `serving.client.invoke`, with tokens and latency. Routes call
`serving.endpoints` as the CLI does, so errors read the same.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from springboard.errors import Issue, SpringboardError, ValidationError
from springboard.store.endpoint_records import EndpointStatus
from springboard.ui import endpoint_metrics
from springboard.ui.model_pages import model_context
from springboard.ui.render import csrf_ok, error_page, field_errors, forbidden, page

router = APIRouter(include_in_schema=False)
LOG_LINES = 30


async def read_form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


def _settings(form: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The deploy form's settings: the named fields, then `KEY=VALUE` lines of `env`."""
    env = {name: form[name].strip() for name in names if form.get(name, "").strip()}
    issues = []
    for line in form.get("env", "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            issues.append(Issue("env", f"'{line}' is not KEY=VALUE", line, "one KEY=VALUE a line"))
        else:
            env[key.strip()] = value.strip()
    if issues:
        raise ValidationError(issues)
    return env


@router.get("/ui/endpoints")
def endpoints_list(request: Request) -> HTMLResponse:
    from springboard.serving import endpoints

    return page(request, "endpoints.html", endpoints=endpoints.list_endpoints())


@router.get("/ui/endpoints/rows")
def endpoint_rows(request: Request) -> HTMLResponse:
    from springboard.serving import endpoints

    return page(request, "_endpoint_rows.html", endpoints=endpoints.list_endpoints())


@router.post("/ui/endpoints")
async def deploy(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from springboard.serving import endpoints
    from springboard.ui.model_pages import DEPLOY_SETTINGS

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    model_id, version = form.get("model_id", ""), form.get("version", "*") or "*"
    try:
        info = await run_in_threadpool(
            lambda: endpoints.deploy(
                model_id,
                version=version,
                name=form.get("name", "").strip() or None,
                env=_settings(form, DEPLOY_SETTINGS),
                accept_eula=form.get("accept_eula") == "on",
                wait=False,
            )
        )
    except SpringboardError as exc:
        errors, general = field_errors(exc)
        try:
            context = model_context(model_id, version)
        except SpringboardError as missing:
            return error_page(request, missing)
        return page(
            request,
            "model.html",
            status_code=exc.http_status,
            form=form,
            errors=errors,
            general=general,
            **context,
        )
    return RedirectResponse(f"/ui/endpoints/{info.name}", status_code=303)


def _endpoint_context(name: str) -> dict[str, Any]:
    from springboard import processes
    from springboard.catalog import get_model
    from springboard.serving import endpoints

    info = endpoints.describe(name)
    try:
        task = get_model(info.model_id, info.model_version).task.value
    except SpringboardError:  # a fine-tuned model deleted since: no playground
        task = None
    live = info.status == EndpointStatus.IN_SERVICE and info.url
    return {
        "info": info,
        "task": task,
        "log": processes.log_tail(info.log_path, LOG_LINES),
        "figures": endpoint_metrics.read(info.url) if live and info.url else None,
    }


@router.get("/ui/endpoints/{name}")
def endpoint(request: Request, name: str) -> HTMLResponse:
    try:
        return page(request, "endpoint.html", **_endpoint_context(name))
    except SpringboardError as exc:
        return error_page(request, exc)


@router.get("/ui/endpoints/{name}/live")
def endpoint_live(request: Request, name: str) -> HTMLResponse:
    try:
        return page(request, "_endpoint_live.html", **_endpoint_context(name))
    except SpringboardError as exc:
        return error_page(request, exc)


def _number(form: dict[str, str], key: str, kind: type, issues: list[Issue]) -> Any:
    raw = form.get(key, "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        issues.append(Issue(key, f"must be a {kind.__name__}", raw))
        return None


@router.post("/ui/endpoints/{name}/answer")
async def answer(request: Request, name: str) -> HTMLResponse:
    """The text2text playground: the form's text and parameters to the endpoint."""
    from starlette.concurrency import run_in_threadpool

    from springboard.serving import client

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    issues: list[Issue] = []
    body: dict[str, Any] = {"text_inputs": form.get("text_inputs", "")}
    for key, kind in (("max_new_tokens", int), ("num_beams", int), ("temperature", float)):
        value = _number(form, key, kind, issues)
        if value is not None:
            body[key] = value
    try:
        if issues:
            raise ValidationError(issues)
        started = time.perf_counter()
        response = await run_in_threadpool(client.invoke, name, body)
        seconds = time.perf_counter() - started
        decoded = client.decode(response)
        texts = decoded.get("generated_texts", []) if isinstance(decoded, dict) else [decoded]
    except SpringboardError as exc:
        errors, general = field_errors(exc)
        return page(
            request,
            "_answer.html",
            status_code=200,
            texts=[],
            errors=errors,
            general=general or [m for ms in errors.values() for m in ms],
        )
    return page(
        request,
        "_answer.html",
        texts=texts,
        latency_ms=round(seconds * 1000),
        tokens_in=response.headers.get("x-springboard-input-tokens", "?"),
        tokens_out=response.headers.get("x-springboard-output-tokens", "?"),
    )


@router.post("/ui/endpoints/{name}/delete")
async def delete(request: Request, name: str) -> Response:
    from starlette.concurrency import run_in_threadpool

    from springboard.serving import endpoints

    form = await read_form(request)
    if not csrf_ok(request, form):
        return forbidden(request)
    if form.get("confirm", "").strip() != name:
        try:
            context = _endpoint_context(name)
        except SpringboardError as exc:
            return error_page(request, exc)
        return page(
            request,
            "endpoint.html",
            status_code=400,
            errors={"confirm": [f"type the endpoint's name ({name}) to delete it"]},
            **context,
        )
    try:
        await run_in_threadpool(endpoints.delete, name)
    except SpringboardError as exc:
        return error_page(request, exc)
    return RedirectResponse("/ui/endpoints", status_code=303)
