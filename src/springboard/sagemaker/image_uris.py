"""`image_uris.retrieve`: a model's "image" as a Springboard URI. There are no containers
here; the URI names the catalog model and the scope, and `Estimator` / `Model` read it."""

from __future__ import annotations

from springboard.errors import Issue, ValidationError
from springboard.sagemaker import uris
from springboard.sdk.arguments import managed_hub_arguments


@managed_hub_arguments("image_uris.retrieve")
def retrieve(
    framework: str | None = None,
    region: str | None = None,
    *,
    image_scope: str | None = None,
    model_id: str | None = None,
    model_version: str | None = None,
) -> str:
    """`springboard://images/<model id>/<version>/<scope>`; `framework` and `region` are
    accepted, as notebooks pass them, and mean nothing here."""
    from springboard.catalog import get_model

    if model_id is None:
        raise ValidationError(
            [
                Issue(
                    "model_id",
                    f"Springboard has no framework containers ({framework or 'none'} asked)",
                    None,
                    "retrieve a catalog model's image: image_uris.retrieve(model_id=..., "
                    "model_version=..., image_scope='training' or 'inference')",
                )
            ]
        )
    spec = get_model(model_id, model_version or "*")
    return uris.build("images", spec.id, spec.version, image_scope or "inference")
