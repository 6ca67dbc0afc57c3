"""A training job's checkpoints at a shared location (`checkpoint_uri`, the managed hub's
`checkpoint_s3_uri`), for real: moto's S3 server in its own process, real training jobs.
The two-worker (Ray) side is in tests/test_ray_cluster.py."""

from __future__ import annotations

import pytest

from springboard.errors import ValidationError
from springboard.jobs import paths, service
from springboard.training import jobs as training_jobs
from tests.conftest import ROOT
from tests.s3server import bucket, keys, s3, s3_env  # noqa: F401 (fixtures)

QG_TRAIN = ROOT / "examples" / "question-generation" / "train"
COMMON = {"validation_split_ratio": "0", "save_steps": "1", "batch_size": "8", "seed": "3"}


def _train(uri: str, name: str, **hyperparameters: str):
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(QG_TRAIN),
        name=name,
        hyperparameters={**COMMON, **hyperparameters},
        checkpoint_uri=uri,
    )
    done = service.wait(job.id, timeout=300, poll=0.2)  # a hang guard only
    assert done.status == "Completed", done.status_message
    return done


def _steps(job_id: str) -> list[int]:
    return [p["step"] for p in paths.read_metrics(job_id) if p["metric_name"] == "train_loss"]


@pytest.mark.integration
@pytest.mark.slow
def test_checkpoints_go_to_s3_and_the_next_job_resumes_from_them(s3_env, bucket):
    uri = f"s3://{bucket}/runs/qg/"
    first = _train(uri, "first", max_steps="2", keep_checkpoints="true")
    saved = keys(s3_env, bucket, "runs/qg/")
    for step in (1, 2):  # both the trainer keeps; each complete, its state written
        for name in ("model.safetensors", "optimizer.pt", "trainer_state.json"):
            assert f"runs/qg/checkpoint-{step}/{name}" in saved, saved
    assert _steps(first.id) == [1, 2]

    # a new job (another machine, a spot restart) given the same location goes on from it
    second = _train(uri, "second", max_steps="4")
    log = (paths.job_dir(second.id) / "job.log").read_text()
    assert f"restored checkpoint-2 from {uri}" in log and "resuming from checkpoint-2" in log
    assert _steps(second.id) == [3, 4]  # steps 1-2 were not trained again
    # a success removes the checkpoints, there as here (keep_checkpoints keeps them)
    assert keys(s3_env, bucket, "runs/qg/") == []
    assert f"also from {uri}" in (second.status_message or "")


@pytest.mark.integration
def test_a_location_that_cannot_be_written_is_refused_by_its_name(s3_env, tmp_path):
    from springboard.sdk import Estimator

    with pytest.raises(ValidationError) as refused:
        training_jobs.submit(
            "springboard-tiny-t5",
            train=str(QG_TRAIN),
            checkpoint_uri="s3://no-such-bucket-here/ckpt/",
            launch=False,
        )
    issue = refused.value.issues[0]
    assert issue.field == "checkpoint_uri" and "no-such-bucket-here" in issue.message
    assert issue.fix and "bucket" in issue.fix

    estimator = Estimator(
        "springboard-tiny-t5", checkpoint_s3_uri="s3://no-such-bucket-here/ckpt/"
    )  # the SDK names its own argument
    with pytest.raises(ValidationError) as refused:
        estimator.fit({"train": str(QG_TRAIN)}, wait=False)
    assert refused.value.issues[0].field == "checkpoint_s3_uri"
