"""`TrainingJobAnalytics`, as the managed SDK's: a training job's metrics, found by the
job's name, as a DataFrame of `timestamp` (seconds since the job started), `metric_name`
and `value`."""

from __future__ import annotations

from typing import Any

from springboard.errors import NotFoundError
from springboard.jobs.models import Job


def job_named(name: str, field: str = "training_job_name") -> Job:
    """The training job called `name` (the latest, if names were reused) or with that id."""
    from springboard.jobs import service
    from springboard.store import job_records

    rows = job_records.find(kind="training", name=name)
    if rows:
        return service.get(rows[-1]["id"])
    try:
        return service.get(name)
    except NotFoundError:
        raise NotFoundError(
            f"no training job named '{name}'",
            field=field,
            value=name,
            fix="list them with `springboard jobs list --kind training`",
        ) from None


class TrainingJobAnalytics:
    """`TrainingJobAnalytics(training_job_name=...).dataframe()`."""

    CLOUDWATCH_NAMESPACE = "/aws/sagemaker/TrainingJobs"

    def __init__(
        self,
        training_job_name: str,
        metric_names: list[str] | None = None,
        sagemaker_session: Any = None,
        start_time: Any = None,
        end_time: Any = None,
        period: int | None = None,
    ) -> None:
        self.name = training_job_name
        self._metric_names = metric_names
        self._frame: Any = None

    def dataframe(self, force_refresh: bool = False) -> Any:
        """The metrics read now (again with `force_refresh`), oldest first."""
        import pandas as pd

        from springboard.jobs.paths import read_metrics

        if self._frame is not None and not force_refresh:
            return self._frame
        job = job_named(self.name)
        points = [
            p
            for p in read_metrics(job.id)
            if self._metric_names is None or p["metric_name"] in self._metric_names
        ]
        start = job.started_at.timestamp() if job.started_at else None
        if points and start is None:
            start = points[0]["timestamp"]
        rows = [
            {
                "timestamp": round(p["timestamp"] - (start or 0.0), 3),
                "metric_name": p["metric_name"],
                "value": p["value"],
            }
            for p in points
        ]
        self._frame = pd.DataFrame(rows, columns=["timestamp", "metric_name", "value"])
        return self._frame

    def export_csv(self, filename: str) -> None:
        self.dataframe().to_csv(filename, index=False)
