"""`Estimator`, as the managed SDK's generic one: a training job from a model named by
Springboard URIs (`model_uri`, `image_uri`, `source_dir` from `model_uris` / `image_uris`
/ `script_uris.retrieve`), with the notebooks' channels, logs, analytics and artifact.

- `fit({"training": uri})` (or `"train"`; `"validation"`; `"test"` is accepted and not
  used), `wait=False` to return at once, `logs` to print the job's log lines as they come;
  a job that ends other than Completed raises `UnexpectedStatusException` naming the job
  and its reason.
- The job writes `<output_path>/<job name>/output/model.tar.gz` (`model/`, unpacked, with
  `disable_output_compression=True`); `output_path` defaults to the session's default
  bucket. Locations are local paths or `s3://` (`uris.localize` for the local bucket).
- `instance_type` is checked against this machine (`instance_types.require`);
  `instance_count` above 1 trains on that many Ray Train workers of the cluster
  `SPRINGBOARD_RAY_ADDRESS` names (the `instance_count` hyperparameter; without a cluster
  `fit` says so, naming it); the other settings of the managed hub's machines are accepted
  and ignored (`sdk.arguments`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

from springboard.errors import Issue, ValidationError
from springboard.jobs.models import Job
from springboard.sagemaker import instance_types, uris
from springboard.sagemaker.analytics import TrainingJobAnalytics
from springboard.sagemaker.exceptions import UnexpectedStatusException
from springboard.sagemaker.inputs import TrainingInput
from springboard.sagemaker.model import catalog_model, require_no_script
from springboard.sagemaker.predictor import Predictor
from springboard.sagemaker.utils import name_from_base
from springboard.sdk.arguments import managed_hub_arguments
from springboard.sdk.estimator import training_channels

log = logging.getLogger("springboard.sdk")

JOB_NAME_LENGTH = 41  # a job name becomes part of the fine-tuned model's id
# what the job's parameters are called here, as the managed SDK calls them
RENAMED = {
    "name": "job_name",
    "archive": "output_path",
    "train": "inputs",
    "validation": "inputs",
    "checkpoint_uri": "checkpoint_s3_uri",
}


def print_log(job_id: str, *, follow: bool, poll: float = 0.5, out: Any = None) -> Job:
    """Write the job's log lines to `out` (stdout); with `follow`, as they are written
    until the job ends. Returns the job as it was last read."""
    from pathlib import Path

    from springboard.jobs import service

    out = out or sys.stdout
    offset = 0
    while True:
        job = service.get(job_id)
        path = Path(job.log_path)
        if path.exists():
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            whole = chunk[: chunk.rfind(b"\n") + 1] if not job.done else chunk
            offset += len(whole)
            if whole:
                out.write(whole.decode(errors="replace"))
                out.flush()
        if job.done or not follow:
            return job
        time.sleep(poll)


def raise_unless_completed(job: Job) -> None:
    """The managed SDK's error for a job that did not complete: names the job and why."""
    if job.status == "Completed":
        return
    reason = job.status_message or "no reason recorded"
    raise UnexpectedStatusException(
        f"Error for Training job {job.name}: {job.status}. Reason: {reason}. "
        f"Its log: `springboard jobs logs {job.id}`",
        allowed_statuses=["Completed"],
        actual_status=job.status,
    )


def _job_name(base: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-") or "training"
    return name_from_base(cleaned, max_length=JOB_NAME_LENGTH)


class _TrainingJob:
    """`estimator.latest_training_job`: `.name`, `.job_name`, `.describe()`, `.wait()`."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.name = self.job_name = job.name

    def describe(self) -> dict[str, Any]:
        from springboard.jobs import service

        job = self.job = service.get(self.job.id)
        described: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobStatus": job.status,
            "HyperParameters": {
                k: str(v) for k, v in job.settings.get("hyperparameters", {}).items()
            },
            "ModelArtifacts": {"S3ModelArtifacts": job.outputs.get("archive")},
            "CreationTime": job.created_at,
            "TrainingStartTime": job.started_at,
            "TrainingEndTime": job.ended_at,
        }
        if job.status_message and job.status != "Completed":
            described["FailureReason"] = job.status_message
        return described

    def wait(self, logs: Any = "All") -> None:
        from springboard.jobs import service

        self.job = (
            print_log(self.job.id, follow=True) if _wants_logs(logs) else service.wait(self.job.id)
        )
        raise_unless_completed(self.job)


def _wants_logs(logs: Any) -> bool:
    return logs not in (False, "None", "none")


class Estimator:
    """`Estimator(image_uri=..., model_uri=..., hyperparameters=..., output_path=...)`."""

    @managed_hub_arguments("sagemaker.Estimator")
    def __init__(
        self,
        image_uri: str | None = None,
        *,
        instance_type: str | None = None,
        instance_count: int | None = None,
        output_path: str | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        model_uri: str | None = None,
        source_dir: str | None = None,
        base_job_name: str | None = None,
        disable_output_compression: bool = False,
        checkpoint_s3_uri: str | None = None,
    ) -> None:
        instance_types.require(instance_type)
        require_no_script(source_dir)
        self.model_id, self.model_version = catalog_model(
            {"model_uri": model_uri, "image_uri": image_uri, "source_dir": source_dir},
            field="model_uri",
            fix="pass model_uri=model_uris.retrieve(model_id=..., model_scope='training')",
        )
        self.image_uri = image_uri
        self.instance_type = instance_type
        self.output_path = output_path
        self._hyperparameters = {k: v for k, v in (hyperparameters or {}).items()}
        if instance_count not in (None, 1):  # workers on the Ray cluster (docs/scale-out.md)
            self._hyperparameters.setdefault("instance_count", instance_count)
        self.instance_count = instance_count or 1
        self.environment = dict(environment or {})
        self._accept_eula = str(self.environment.pop("accept_eula", "")).lower() == "true"
        self.model_uri = model_uri
        self.source_dir = source_dir
        self.base_job_name = base_job_name
        self.disable_output_compression = disable_output_compression
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.latest_training_job: _TrainingJob | None = None
        self._current_job_name: str | None = None

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self._hyperparameters)

    @staticmethod
    def _channels(inputs: Any) -> tuple[str, str | None]:
        """(train, validation) locations from the notebook's channels."""
        given = dict(inputs) if isinstance(inputs, Mapping) else inputs
        if isinstance(given, dict):
            given = {
                k: uris.localize(v.s3_data if isinstance(v, TrainingInput) else str(v))
                for k, v in given.items()
            }
        elif isinstance(given, TrainingInput):
            given = uris.localize(given.s3_data)
        elif isinstance(given, str):
            given = uris.localize(given)
        return training_channels(given)

    def _output_path(self) -> str:
        if self.output_path is not None:
            return uris.localize(self.output_path)
        from springboard.sagemaker.session import Session

        return uris.localize(f"s3://{Session().default_bucket()}/")

    @managed_hub_arguments("sagemaker.Estimator.fit")
    def fit(
        self,
        inputs: Any = None,
        wait: bool = True,
        logs: Any = "All",
        job_name: str | None = None,
        *,
        accept_eula: bool | None = None,
    ) -> None:
        """Start the training job on `inputs` ({"training": uri, "validation": uri} or a
        uri); with `wait`, block until it ends (printing its log unless `logs` is False)
        and raise `UnexpectedStatusException` unless it completed."""
        from springboard.training import jobs

        train, validation = self._channels(inputs)
        name = job_name or _job_name(self.base_job_name or self.model_id)
        if accept_eula is not None:
            self._accept_eula = accept_eula
        try:
            job = jobs.submit(
                self.model_id,
                train=train,
                validation=validation,
                hyperparameters=self._hyperparameters,
                version=self.model_version,
                name=name,
                accept_eula=self._accept_eula,
                archive=self._output_path(),
                compress_archive=not self.disable_output_compression,
                checkpoint_uri=(
                    uris.localize(self.checkpoint_s3_uri) if self.checkpoint_s3_uri else None
                ),
            )
        except ValidationError as exc:
            raise exc.renamed(RENAMED) from None
        self.latest_training_job = _TrainingJob(job)
        self._current_job_name = job.name
        if wait:
            self.latest_training_job.wait(logs=logs)

    def _job(self) -> _TrainingJob:
        if self.latest_training_job is None:
            raise ValidationError([Issue(None, "no training job yet", None, "call fit() first")])
        return self.latest_training_job

    def logs(self) -> None:
        """Print the latest job's log, following it until the job ends."""
        print_log(self._job().job.id, follow=True)

    @property
    def model_data(self) -> str | None:
        """Where the job writes (or wrote) the model archive."""
        return self._job().job.outputs.get("archive")

    @property
    def training_job_analytics(self) -> TrainingJobAnalytics:
        return TrainingJobAnalytics(self._job().name)

    @managed_hub_arguments("sagemaker.Estimator.deploy")
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
        """Deploy the fine-tuned model (after the job ends; raises if it failed)."""
        from springboard.jobs import service
        from springboard.serving import endpoints

        instance_types.require(instance_type)
        training = self._job()
        training.job = service.wait(training.job.id)
        raise_unless_completed(training.job)
        model_id = training.job.outputs["model_id"]
        info = endpoints.deploy(
            model_id,
            name=endpoint_name,
            env=self.environment,
            accept_eula=bool(accept_eula) or self._accept_eula,
            wait=wait,
        )
        predictor = (predictor_cls or self._default_predictor())(info.name)
        if serializer is not None:
            predictor.serializer = serializer
        if deserializer is not None:
            predictor.deserializer = deserializer
        if isinstance(predictor, Predictor):
            predictor.model_id = model_id
        return predictor

    def _default_predictor(self) -> Any:
        return Predictor

    @classmethod
    def attach(cls, training_job_name: str, sagemaker_session: Any = None) -> Estimator:
        """An estimator for an existing training job (to read it, or deploy its model)."""
        from springboard.sagemaker.analytics import job_named

        job = job_named(training_job_name)
        estimator = cls(model_uri=uris.build("models", job.model_id, job.model_version))
        estimator._hyperparameters = dict(job.settings.get("hyperparameters", {}))
        estimator.latest_training_job = _TrainingJob(job)
        return estimator
