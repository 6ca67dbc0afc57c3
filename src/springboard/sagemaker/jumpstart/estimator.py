"""`JumpStartEstimator`, as the managed SDK's: `Estimator` for a catalog model by id,
deploying its fine-tuned model with JSON in and out. `environment={"accept_eula": "true"}`
or `fit(accept_eula=True)` accepts a gated model's EULA, for training and the deploy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from springboard.sagemaker import uris
from springboard.sagemaker.deserializers import JSONDeserializer
from springboard.sagemaker.estimator import Estimator
from springboard.sagemaker.predictor import Predictor
from springboard.sagemaker.serializers import JSONSerializer
from springboard.sdk.arguments import managed_hub_arguments


class JumpStartEstimator(Estimator):
    """`JumpStartEstimator(model_id="springboard-tiny-llama", environment={"accept_eula": "true"})`."""

    @managed_hub_arguments("JumpStartEstimator")
    def __init__(
        self,
        model_id: str | None = None,
        model_version: str | None = None,
        *,
        image_uri: str | None = None,
        instance_type: str | None = None,
        instance_count: int | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        output_path: str | None = None,
        base_job_name: str | None = None,
        model_uri: str | None = None,
        source_dir: str | None = None,
        disable_output_compression: bool | None = None,
    ) -> None:
        from springboard.catalog import get_model, retrieve_default

        spec = get_model(model_id or "", model_version or "*")
        defaults = {k: str(v) for k, v in retrieve_default(spec.id, spec.version).items()}
        super().__init__(
            image_uri if uris.is_catalog(image_uri) else None,
            instance_type=instance_type,
            instance_count=instance_count,
            output_path=output_path,
            hyperparameters={**defaults, **dict(hyperparameters or {})},
            environment=environment,
            model_uri=model_uri or uris.build("models", spec.id, spec.version),
            source_dir=source_dir,
            base_job_name=base_job_name,
            disable_output_compression=bool(disable_output_compression),
        )

    def _default_predictor(self) -> Any:
        def make(endpoint_name: str) -> Predictor:
            return Predictor(
                endpoint_name, serializer=JSONSerializer(), deserializer=JSONDeserializer()
            )

        return make
