"""`Estimator` (alias `JumpStartEstimator`): fine-tuning from Python, as the managed hub's
SDK does it — `fit` a training job, read its metrics, `deploy` the result. Unknown
keyword arguments are refused with a did-you-mean; the managed hub's own arguments with
no local meaning are accepted and ignored (`sdk.arguments`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from springboard.errors import Issue, ValidationError
from springboard.jobs.models import Job
from springboard.sdk.arguments import managed_hub_arguments
from springboard.sdk.model import Model
from springboard.sdk.predictor import Predictor

log = logging.getLogger("springboard.sdk")


TRAIN_CHANNELS = ("training", "train")  # the managed hub's notebooks name it `training`
OTHER_CHANNELS = ("validation", "test", "model")


def training_channels(inputs: str | Mapping[str, str] | None) -> tuple[str, str | None]:
    """(train, validation) from `fit`'s inputs: a location, or channels — `training` or
    `train`, `validation`; `test` and `model` are accepted and not used (logged). Every
    problem is reported at once, naming the channel."""
    if inputs is None:
        raise ValidationError(
            [Issue("inputs", "is required", None, 'give {"training": "<data location>"}')]
        )
    given = {"training": inputs} if isinstance(inputs, str) else dict(inputs)
    trains = [k for k in TRAIN_CHANNELS if k in given]
    issues = [
        Issue(
            f"inputs.{k}",
            f"unknown channel {k!r}",
            k,
            "channels: training (or train), validation, test",
        )
        for k in sorted(set(given) - {*TRAIN_CHANNELS, *OTHER_CHANNELS})
    ]
    if len(trains) != 1:
        issues.append(
            Issue(
                "inputs",
                "give the training data as one channel, `training` or `train`",
                sorted(given),
                'e.g. {"training": "s3://bucket/train/"}',
            )
        )
    if issues:
        raise ValidationError(issues, context="cannot start training")
    for name in ("test", "model"):
        if name in given:
            log.info("fit: the %s channel is not used by Springboard's trainer; ignored", name)
    return str(given[trains[0]]), given.get("validation")


def raise_if_failed(job: Job) -> None:
    """Raise `JobFailedError` when a waited-for job ended Failed, Stopped or Expired
    (Completed and PartiallyCompleted pass)."""
    from springboard.errors import JobFailedError

    if job.status in ("Failed", "Stopped", "Expired"):
        raise JobFailedError(job.id, job.status, job.status_message)


class TrainingJobAnalytics:
    """A training job's metrics stream."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id

    def dataframe(self) -> Any:
        """A pandas DataFrame with columns timestamp, metric_name, value (and step, epoch)."""
        import pandas as pd

        from springboard.jobs.paths import read_metrics

        frame = pd.DataFrame(read_metrics(self.job_id))
        if frame.empty:
            return pd.DataFrame(columns=["timestamp", "metric_name", "value"])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
        return frame


class Estimator:
    """`Estimator("springboard-tiny-t5", hyperparameters={"epochs": 2}).fit({"train": "data/"})`."""

    @managed_hub_arguments("Estimator")
    def __init__(
        self,
        model_id: str,
        model_version: str = "*",
        *,
        hyperparameters: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        accept_eula: bool = False,
        output_path: str | None = None,
        checkpoint_s3_uri: str | None = None,
    ) -> None:
        """`output_path` (a local path, `s3://...` or another fsspec URL), as the managed
        hub's: the fine-tuned model is also copied to `<output_path>/<model id>/`.
        `checkpoint_s3_uri` (any such location), as the managed hub's: each checkpoint is
        also copied there, and a newer one found there is resumed from."""
        self.model_id = model_id
        self.model_version = model_version
        self.hyperparameters = dict(hyperparameters or {})
        self.environment = dict(environment or {})
        self.accept_eula = accept_eula
        self.output_path = output_path
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.latest_training_job: Job | None = None

    def set_hyperparameters(self, **kwargs: Any) -> None:
        """Set (or change) hyperparameters for the next `fit`, as the managed hub's SDK does."""
        self.hyperparameters.update(kwargs)

    @managed_hub_arguments("Estimator.fit")
    def fit(
        self,
        inputs: str | Mapping[str, str],
        *,
        job_name: str | None = None,
        wait: bool = True,
        accept_eula: bool | None = None,
    ) -> Job:
        """Start a training job on `inputs` (a path, or {"training": ..., "validation": ...};
        `train` is taken for `training`).
        `accept_eula`, as the managed hub's `fit` takes it, overrides the constructor's.
        With `wait` (the default), raises `JobFailedError` if the job ends Failed,
        Stopped or Expired."""
        from springboard.jobs import service
        from springboard.training import jobs

        train, validation = training_channels(inputs)
        try:
            job = jobs.submit(
                self.model_id,
                train=train,
                validation=validation,
                hyperparameters=self.hyperparameters,
                version=self.model_version,
                name=job_name,
                output=self.output_path,
                accept_eula=self.accept_eula if accept_eula is None else accept_eula,
                checkpoint_uri=self.checkpoint_s3_uri,
            )
        except ValidationError as exc:  # named as this call's arguments are
            raise exc.renamed(
                {"output": "output_path", "checkpoint_uri": "checkpoint_s3_uri"}
            ) from None
        self.latest_training_job = service.wait(job.id) if wait else job
        if wait:
            raise_if_failed(self.latest_training_job)
        return self.latest_training_job

    @property
    def training_job_analytics(self) -> TrainingJobAnalytics:
        return TrainingJobAnalytics(self._job().id)

    def _job(self) -> Job:
        if self.latest_training_job is None:
            raise RuntimeError("no training job yet; call fit() first")
        return self.latest_training_job

    @managed_hub_arguments("Estimator.deploy", forwards_to=Model.deploy)
    def deploy(self, *, endpoint_name: str | None = None, **kwargs: Any) -> Predictor:
        """Deploy the fine-tuned model (waits for the training job if it still runs);
        `kwargs` are `Model.deploy`'s (an unknown one is refused before anything waits)."""
        from springboard.jobs import service

        job = service.wait(self._job().id)
        raise_if_failed(job)
        return Model(job.outputs["model_id"], env=self.environment).deploy(
            endpoint_name=endpoint_name, **kwargs
        )


JumpStartEstimator = Estimator
