"""`Transformer`, as the managed SDK's: a batch transform job with a model by name (a
model `Model(name=...)` registered, a fine-tuned one, or a catalog id), run by
`springboard.sdk.Transformer`."""

from __future__ import annotations

from typing import Any

from springboard.jobs.models import Job
from springboard.sagemaker import instance_types, uris
from springboard.sdk.arguments import managed_hub_arguments


class Transformer:
    """`Transformer(model_name, instance_count, instance_type, output_path=...).transform(data)`."""

    @managed_hub_arguments("sagemaker.Transformer")
    def __init__(
        self,
        model_name: str,
        instance_count: int | None = None,
        instance_type: str | None = None,
        *,
        output_path: str | None = None,
        max_payload: float | None = None,
        env: dict[str, str] | None = None,
        accept: str | None = None,
    ) -> None:
        instance_types.require(instance_type)
        self.model_name = model_name
        self.output_path = output_path
        self.max_payload = max_payload
        self.env = dict(env or {})
        self.latest_transform_job: Job | None = None

    @managed_hub_arguments("sagemaker.Transformer.transform")
    def transform(
        self,
        data: str,
        *,
        content_type: str | None = None,
        job_name: str | None = None,
        wait: bool = True,
    ) -> None:
        """Run the model over `data` (a file or folder, local or `s3://`); results go to
        `output_path` (default: the session's default bucket) as `<file>.out`."""
        from springboard.sagemaker.session import Session
        from springboard.sdk.transformer import Transformer as SdkTransformer

        output = self.output_path or f"s3://{Session().default_bucket()}/transform/"
        options: dict[str, Any] = {}
        if self.max_payload is not None:
            options["max_payload"] = self.max_payload
        sdk = SdkTransformer(
            self.model_name, output_path=uris.localize(output), env=self.env, **options
        )
        kwargs: dict[str, Any] = {"job_name": job_name, "wait": wait}
        if content_type is not None:
            kwargs["content_type"] = content_type
        self.latest_transform_job = sdk.transform(uris.localize(data), **kwargs)

    def wait(self, logs: bool = True) -> None:
        from springboard.jobs import service
        from springboard.sdk.estimator import raise_if_failed

        if self.latest_transform_job is not None:
            self.latest_transform_job = service.wait(self.latest_transform_job.id)
            raise_if_failed(self.latest_transform_job)
