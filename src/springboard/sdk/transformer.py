"""`Transformer`: batch transform jobs from Python, as `sagemaker.transformer.Transformer`.

Defaults come from `options.TransformOptions` (as the CLI's do); unknown keyword arguments
are refused with a did-you-mean, the managed hub's own ones ignored (`sdk.arguments`)."""

from __future__ import annotations

from typing import Any

from springboard.jobs.models import Job
from springboard.options import TransformOptions, default_of
from springboard.sdk.arguments import managed_hub_arguments


class Transformer:
    """Runs a model over datasets as batch transform jobs.

    `Model("springboard-tiny-t5").transformer(output_path="out").transform("in.jsonl")`;
    with `prompt_template=` (and `examples=`) each record holds the template's fields.
    """

    @managed_hub_arguments("Transformer")
    def __init__(
        self,
        model_id: str,
        model_version: str = "*",
        *,
        output_path: str,
        env: dict[str, str] | None = None,
        batch_size: int = default_of(TransformOptions, "batch_size"),
        max_payload: float = default_of(TransformOptions, "max_payload_mb"),
        accept_eula: bool = False,
        model_dir: str | None = None,
        prompt_template: Any = None,
        examples: Any = None,
        shots: int | None = None,
        keep_prompt: bool = False,
    ) -> None:
        self.model_id = model_id
        self.model_version = model_version
        self.output_path = output_path
        self.env = dict(env or {})
        self.batch_size = batch_size
        self.max_payload = max_payload
        self.accept_eula = accept_eula
        self.model_dir = model_dir
        self.prompter = None
        if prompt_template is not None:  # records then hold the template's fields
            from springboard.prompting import Prompter

            self.prompter = Prompter.load(prompt_template, examples, shots=shots)
        self.keep_prompt = keep_prompt
        self.latest_transform_job: Job | None = None

    @managed_hub_arguments("Transformer.transform")
    def transform(
        self,
        data: str,
        *,
        content_type: str = default_of(TransformOptions, "content_type"),
        job_name: str | None = None,
        wait: bool = True,
        overwrite: bool = False,
    ) -> Job:
        """Start a job over `data` (a file, or a folder whose .jsonl/.json/.txt files are
        read: a path, `file://` or `s3://` URI, as `output_path` may be); by default wait for
        it to end, raising `JobFailedError` if it ends Failed, Stopped or Expired. An
        `output_path` holding earlier results (`*.out`) is refused (`ConflictError`) unless
        `overwrite`."""
        from springboard.jobs import service, transform
        from springboard.sdk.estimator import raise_if_failed

        job = transform.submit(
            self.model_id,
            input=data,
            output=self.output_path,
            version=self.model_version,
            env=self.env,
            content_type=content_type,
            batch_size=self.batch_size,
            max_payload_mb=self.max_payload,
            name=job_name,
            accept_eula=self.accept_eula,
            model_dir=self.model_dir,
            prompter=self.prompter,
            keep_prompt=self.keep_prompt,
            overwrite=overwrite,
        )
        self.latest_transform_job = service.wait(job.id) if wait else job
        if wait:
            raise_if_failed(self.latest_transform_job)
        return self.latest_transform_job

    def wait(self) -> Job:
        """Wait for the latest job; raises `JobFailedError` if it ends Failed, Stopped or
        Expired."""
        from springboard.jobs import service
        from springboard.sdk.estimator import raise_if_failed

        if self.latest_transform_job is None:
            raise RuntimeError("no transform job started yet; call transform() first")
        self.latest_transform_job = service.wait(self.latest_transform_job.id)
        raise_if_failed(self.latest_transform_job)
        return self.latest_transform_job
