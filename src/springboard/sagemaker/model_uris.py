"""`model_uris.retrieve`: a catalog model's weights as a Springboard URI."""

from __future__ import annotations

from springboard.sagemaker import uris
from springboard.sagemaker.hyperparameters import _required
from springboard.sdk.arguments import managed_hub_arguments


@managed_hub_arguments("model_uris.retrieve")
def retrieve(
    *,
    model_id: str | None = None,
    model_version: str | None = None,
    model_scope: str | None = None,
) -> str:
    """`springboard://models/<model id>/<version>` (the same weights for either scope)."""
    from springboard.catalog import get_model

    spec = get_model(_required(model_id), model_version or "*")
    return uris.build("models", spec.id, spec.version)
