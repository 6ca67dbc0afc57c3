"""`script_uris.retrieve`: a model's training or inference "scripts" as a Springboard URI
(Springboard runs its own trainer and server; the URI names the model and the scope)."""

from __future__ import annotations

from springboard.sagemaker import uris
from springboard.sagemaker.hyperparameters import _required
from springboard.sdk.arguments import managed_hub_arguments


@managed_hub_arguments("script_uris.retrieve")
def retrieve(
    *,
    model_id: str | None = None,
    model_version: str | None = None,
    script_scope: str | None = None,
) -> str:
    """`springboard://scripts/<model id>/<version>/<scope>`."""
    from springboard.catalog import get_model

    spec = get_model(_required(model_id), model_version or "*")
    return uris.build("scripts", spec.id, spec.version, script_scope or "inference")
