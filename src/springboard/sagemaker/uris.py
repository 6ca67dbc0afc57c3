"""Springboard's own URIs for what the managed SDK's `image_uris`, `model_uris` and
`script_uris` return, and the local "bucket".

`springboard://images/<model id>/<version>/<scope>`, `springboard://models/<model id>/<version>`
and `springboard://scripts/<model id>/<version>/<scope>` name a catalog model; `Estimator`
and `Model` read the model from them. `localize` turns `s3:///abs/path` — what
`f"s3://{Session().default_bucket()}/..."` gives when the default bucket is a local
folder — into the local path; every other location passes unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from springboard.errors import Issue, ValidationError

SCHEME = "springboard://"
KINDS = ("images", "models", "scripts")


@dataclass(frozen=True)
class CatalogRef:
    kind: str
    model_id: str
    version: str
    scope: str | None


def build(kind: str, model_id: str, version: str, scope: str | None = None) -> str:
    return f"{SCHEME}{kind}/{model_id}/{version}" + (f"/{scope}" if scope else "")


def is_catalog(uri: object) -> bool:
    return isinstance(uri, str) and uri.startswith(SCHEME)


def parse(uri: str, field: str) -> CatalogRef:
    parts = uri[len(SCHEME) :].strip("/").split("/")
    if not is_catalog(uri) or parts[0] not in KINDS or len(parts) not in (3, 4):
        raise ValidationError(
            [
                Issue(
                    field,
                    f"{uri!r} is not a Springboard URI",
                    uri,
                    "use what image_uris / model_uris / script_uris.retrieve(model_id=...) return",
                )
            ]
        )
    return CatalogRef(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else None)


def localize(uri: str) -> str:
    """`s3:///abs/path` (a local default bucket in an s3 f-string) as `/abs/path`."""
    if uri.startswith("s3:///"):
        return uri[len("s3://") :]
    return uri
