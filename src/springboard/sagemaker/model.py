"""`Model`, as the managed SDK's: a model from `model_data` (a `model.tar.gz`, local or
`s3://`, or a `model_uris` URI) or a Springboard `image_uri`, deployed as an endpoint.

An archive is registered as a model when it is deployed (`artifacts.model_archive`):
under `name` if given (the managed SDK's model name), else `model-<digest>`. An
`image_uri` that is not Springboard's (notebooks pass a container image) names nothing
here; with `model_data` it is ignored, with a log line.
"""

from __future__ import annotations

import logging
from typing import Any

from springboard.errors import Issue, ValidationError
from springboard.sagemaker import instance_types, uris
from springboard.sagemaker.predictor import Predictor, delete_archive_model
from springboard.sdk.arguments import managed_hub_arguments

log = logging.getLogger("springboard.sdk")


DEPLOY_FIX = (
    "pass model_data (a model.tar.gz, local or s3://) or an image_uri from "
    "image_uris.retrieve(model_id=...)"
)


def catalog_model(
    field_uris: dict[str, Any], *, field: str = "model_data", fix: str = DEPLOY_FIX
) -> tuple[str, str]:
    """The (model id, version) the Springboard URIs among `field_uris` name (they must
    agree); none is an error naming `field`, with `fix`."""
    named: dict[str, tuple[str, str]] = {}
    for field, uri in field_uris.items():
        if uris.is_catalog(uri):
            ref = uris.parse(uri, field)
            named[field] = (ref.model_id, ref.version)
    if len(set(named.values())) > 1:
        shown = ", ".join(f"{f} names {m}" for f, (m, _) in named.items())
        raise ValidationError(
            [
                Issue(
                    next(iter(named)),
                    f"the URIs name different models: {shown}",
                    None,
                    "retrieve them all with one model_id",
                )
            ]
        )
    if named:
        return next(iter(named.values()))
    given = ", ".join(f for f, v in field_uris.items() if v is not None) or "none"
    raise ValidationError([Issue(field, f"names no Springboard model (given: {given})", None, fix)])


def model_data_uri(model_data: Any) -> str | None:
    """`model_data` as a location: a string as it is; the managed SDK's dict form
    (`{"S3DataSource": {"S3Uri": ..., "CompressionType": "None"}}`, an unpacked model
    folder) as its URI, ending in `/` when uncompressed."""
    if model_data is None or isinstance(model_data, str):
        return model_data
    source = model_data.get("S3DataSource") if isinstance(model_data, dict) else None
    uri = source.get("S3Uri") if isinstance(source, dict) else None
    if not isinstance(uri, str):
        raise ValidationError(
            [
                Issue(
                    "model_data",
                    "is neither a location nor {'S3DataSource': {'S3Uri': ...}}",
                    model_data,
                    "give the model.tar.gz's location",
                )
            ]
        )
    packed = source.get("CompressionType", "None") != "None"  # type: ignore[union-attr]
    return uri if packed or uri.endswith("/") else uri + "/"


def require_no_script(source_dir: Any) -> None:
    if source_dir is not None and not uris.is_catalog(source_dir):
        raise ValidationError(
            [
                Issue(
                    "source_dir",
                    "Springboard runs its own trainer and server, not a script folder",
                    source_dir,
                    "use script_uris.retrieve(model_id=..., script_scope=...), or leave it out",
                )
            ]
        )


class Model:
    """`Model(image_uri=..., model_data="s3://.../model.tar.gz", name="ft").deploy(...)`."""

    @managed_hub_arguments("sagemaker.Model")
    def __init__(
        self,
        image_uri: str | None = None,
        model_data: str | dict[str, Any] | None = None,
        *,
        predictor_cls: Any = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
        source_dir: str | None = None,
    ) -> None:
        require_no_script(source_dir)
        model_data = model_data_uri(model_data)
        self.image_uri = image_uri
        self.model_data = model_data
        self.predictor_cls = predictor_cls
        self.env = dict(env or {})
        self.name = name
        self.source_dir = source_dir
        self.endpoint_name: str | None = None
        self.predictor: Any = None
        self._accept_eula = False
        self._registered: str | None = None
        archive = model_data is not None and not uris.is_catalog(model_data)
        self._catalog = (
            None
            if archive
            else catalog_model(
                {"model_data": model_data, "image_uri": image_uri, "source_dir": source_dir}
            )
        )
        if archive and image_uri is not None and not uris.is_catalog(image_uri):
            log.info(
                "Model: image_uri %r names no Springboard model; model_data is served", image_uri
            )

    def _model(self) -> tuple[str, str]:
        """The model to serve: the catalog's, or the archive registered now."""
        if self._catalog is not None:
            return self._catalog
        if self._registered is None:
            from springboard.artifacts import model_archive

            assert self.model_data is not None  # no catalog model means an archive
            spec = model_archive.register(uris.localize(self.model_data), self.name)
            self._registered = spec.id
        return self._registered, "*"

    @managed_hub_arguments("sagemaker.Model.deploy")
    def deploy(
        self,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        serializer: Any = None,
        deserializer: Any = None,
        *,
        endpoint_name: str | None = None,
        wait: bool = True,
        accept_eula: bool | None = None,
        predictor_cls: Any = None,
    ) -> Any:
        """Start an endpoint serving the model; returns `predictor_cls(endpoint_name)`
        (a `Predictor` by default), with `serializer` / `deserializer` set on it."""
        from springboard.serving import endpoints

        instance_types.require(instance_type)
        model_id, version = self._model()
        info = endpoints.deploy(
            model_id,
            version=version,
            name=endpoint_name or self.name,  # as the managed SDK: the model's name
            env=self.env,
            accept_eula=bool(accept_eula) or self._accept_eula,
            wait=wait,
        )
        self.endpoint_name = info.name
        cls = predictor_cls or self.predictor_cls or self._default_predictor()
        predictor = cls(info.name)
        if serializer is not None:
            predictor.serializer = serializer
        if deserializer is not None:
            predictor.deserializer = deserializer
        if isinstance(predictor, Predictor):
            predictor.model_id = model_id
        self.predictor = predictor
        return predictor

    def _default_predictor(self) -> Any:
        return Predictor

    @managed_hub_arguments("sagemaker.Model.transformer")
    def transformer(
        self,
        instance_count: int | None = None,
        instance_type: str | None = None,
        *,
        output_path: str | None = None,
        max_payload: float | None = None,
        env: dict[str, str] | None = None,
        accept: str | None = None,
    ) -> Any:
        """A `Transformer` running this model (an archive is registered first)."""
        from springboard.sagemaker.transformer import Transformer

        model_id, _ = self._model()
        return Transformer(
            model_id,
            instance_count,
            instance_type,
            output_path=output_path,
            max_payload=max_payload,
            env={**self.env, **(env or {})},
            accept=accept,
        )

    def delete_model(self) -> None:
        """Remove a model registered from `model_data` (the archive stays)."""
        if self._registered is not None:
            delete_archive_model(self._registered)
            self._registered = None
