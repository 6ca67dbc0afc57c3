"""The catalog pages: the models table with the filter language, and a model's page
(card, license and EULA, hyperparameters, presets, versions, lineage, the deploy form).

Routes parse, call `springboard.catalog` and render; the filter's parser message is
shown inline, as the CLI prints it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from springboard.errors import SpringboardError
from springboard.ui.render import error_page, field_errors, page

router = APIRouter(include_in_schema=False)

DEPLOY_SETTINGS = ("OPTION_MAX_ROLLING_BATCH_SIZE", "OPTION_N_POSITIONS", "OPTION_DTYPE")


@router.get("/ui/models")
def models(request: Request, filter: str = "") -> HTMLResponse:
    from springboard.catalog import list_models

    try:
        specs = list_models(filter.strip() or None)
    except SpringboardError as exc:
        _, general = field_errors(exc)
        return page(
            request,
            "models.html",
            status_code=exc.http_status,
            specs=[],
            filter=filter,
            filter_error=str(exc) if not general else "\n".join(general),
        )
    return page(request, "models.html", specs=specs, filter=filter, filter_error=None)


def model_context(model_id: str, version: str) -> dict[str, Any]:
    """What the model page shows (also re-rendered with a deploy form's errors)."""
    from springboard.catalog import get_model, load_catalog

    spec = get_model(model_id, version)
    return {
        "spec": spec,
        "versions": load_catalog().versions(spec.id),
        "deploy_settings": DEPLOY_SETTINGS,
    }


@router.get("/ui/models/{model_id}")
def model(request: Request, model_id: str, version: str = "*") -> HTMLResponse:
    try:
        context = model_context(model_id, version)
    except SpringboardError as exc:
        return error_page(request, exc)
    return page(request, "model.html", form={}, **context)
