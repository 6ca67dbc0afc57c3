"""`JumpStartModel`, as the managed SDK's: a catalog model by `model_id` (or an archive by
`model_data`), deployed with JSON in and out."""

from __future__ import annotations

from typing import Any

from springboard.sagemaker import instance_types, uris
from springboard.sagemaker.deserializers import JSONDeserializer
from springboard.sagemaker.model import Model, require_no_script
from springboard.sagemaker.predictor import Predictor
from springboard.sagemaker.serializers import JSONSerializer
from springboard.sdk.arguments import managed_hub_arguments


class JumpStartModel(Model):
    """`JumpStartModel(model_id="springboard-tiny-llama").deploy(accept_eula=True)`."""

    @managed_hub_arguments("JumpStartModel")
    def __init__(
        self,
        model_id: str | None = None,
        model_version: str | None = None,
        *,
        instance_type: str | None = None,
        image_uri: str | None = None,
        model_data: str | None = None,
        source_dir: str | None = None,
        env: dict[str, str] | None = None,
        predictor_cls: Any = None,
        name: str | None = None,
    ) -> None:
        from springboard.catalog import get_model

        instance_types.require(instance_type)
        require_no_script(source_dir)
        if model_data is None or uris.is_catalog(model_data):
            spec = get_model(model_id or "", model_version or "*")  # an unknown id fails here
            model_data = uris.build("models", spec.id, spec.version)
        super().__init__(
            image_uri=image_uri if uris.is_catalog(image_uri) else None,
            model_data=model_data,
            predictor_cls=predictor_cls,
            env=env,
            name=name,
            source_dir=source_dir,
        )
        self.model_id = model_id
        self.model_version = model_version or "*"
        self.instance_type = instance_type

    def _default_predictor(self) -> Any:
        def make(endpoint_name: str) -> Predictor:
            return Predictor(
                endpoint_name, serializer=JSONSerializer(), deserializer=JSONDeserializer()
            )

        return make
