"""Batch jobs with `s3://` inputs and outputs, for real: moto's S3 server in its own
process, worker processes reading and writing it through s3fs, the standard AWS
settings (`AWS_ENDPOINT_URL`, keys) in their environment — including kill -9 of the
worker and resume, after which every record is in the output exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from functools import partial
from pathlib import Path

import pytest

from springboard.artifacts.locations import LocationPolicy
from springboard.errors import ValidationError
from springboard.jobs import invocation, service, transform
from tests import waiting
from tests.conftest import VENV_BIN, cli_env
from tests.s3server import bucket, get, keys, put, s3, s3_env  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration

T5 = "springboard-tiny-t5"


def t5_records(n: int, start: int = 0) -> str:
    return "".join(
        json.dumps({"id": f"r{i}", "text_inputs": f"summarize: note {i} about rain"}) + "\n"
        for i in range(start, start + n)
    )


def completion_records(n: int) -> str:
    return "".join(
        json.dumps(
            {
                "recordId": f"q{i}",
                "modelInput": {"prompt": f"Tom has {i} apples.", "temperature": 0, "max_tokens": 4},
            }
        )
        + "\n"
        for i in range(n)
    )


def lines_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


wait_for = partial(waiting.wait_for, timeout=120.0)


def test_cli_transform_reads_an_s3_folder_and_writes_an_s3_folder(
    s3_env, bucket, isolated_env, tmp_path
):
    put(s3_env, bucket, "in/a.jsonl", t5_records(5))
    put(s3_env, bucket, "in/b.jsonl", t5_records(3, start=5))
    put(s3_env, bucket, "in/.hidden", "not a record\n")
    done = subprocess.run(
        [
            str(VENV_BIN / "springboard"),
            "transform",
            T5,
            "--input",
            f"s3://{bucket}/in/",
            "--output",
            f"s3://{bucket}/out/",
            "--env",
            'HYPER_PARAMS={"max_length": 6}',
            "--wait",
            "--json",
        ],
        env=cli_env(isolated_env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "Completed" and job["counts"]["succeeded"] == 8
    assert job["counts"]["total"] == 8  # counted by the worker from the remote input
    assert keys(s3_env, bucket, "out/") == ["out/a.jsonl.out", "out/b.jsonl.out"]
    a = lines_of(get(s3_env, bucket, "out/a.jsonl.out"))
    b = lines_of(get(s3_env, bucket, "out/b.jsonl.out"))
    assert [line["id"] for line in a + b] == [f"r{i}" for i in range(8)]
    described = service.get(job["id"])
    assert described.outputs["files"] == [
        f"s3://{bucket}/out/a.jsonl.out",
        f"s3://{bucket}/out/b.jsonl.out",
    ]

    # the same records from local files give the same lines: s3 changes where, not what
    local = tmp_path / "in"
    local.mkdir()
    (local / "a.jsonl").write_bytes(get(s3_env, bucket, "in/a.jsonl"))
    same = transform.submit(
        T5,
        input=str(local / "a.jsonl"),
        output=str(tmp_path / "out"),
        env={"HYPER_PARAMS": '{"max_length": 6}'},
    )
    assert service.wait(same.id, timeout=120).status == "Completed"
    assert lines_of((tmp_path / "out" / "a.jsonl.out").read_bytes()) == a


def test_kill_9_and_resume_write_each_record_to_s3_exactly_once(s3_env, bucket):
    n = 600
    put(s3_env, bucket, "big/in.jsonl", t5_records(n))
    job = transform.submit(
        T5,
        input=f"s3://{bucket}/big/in.jsonl",
        output=f"s3://{bucket}/res/",
        env={"HYPER_PARAMS": '{"max_length": 8}'},
        batch_size=8,
    )
    wait_for(lambda: service.get(job.id).counts.get("processed", 0) >= 16)
    os.kill(service.get(job.id).pid, signal.SIGKILL)
    failed = wait_for(lambda: (j := service.get(job.id)).status == "Failed" and j)
    assert "worker lost" in failed.status_message
    assert keys(s3_env, bucket, "res/") == []  # nothing half-written reached the bucket
    staged = service.get(job.id).settings["output_dir"]
    with open(Path(staged) / "in.jsonl.out", "ab") as handle:  # a torn write, as if mid-line
        handle.write(b'{"id": "r999", "generated_te')
    service.resume(job.id)
    done = service.wait(job.id, timeout=300)
    assert done.status == "Completed", done.status_message
    ids = [line["id"] for line in lines_of(get(s3_env, bucket, "res/in.jsonl.out"))]
    assert ids == [f"r{i}" for i in range(n)]
    assert done.counts["processed"] == done.counts["succeeded"] == done.counts["total"] == n


def test_invocation_job_with_s3_input_and_output_and_a_stop(s3_env, bucket):
    put(s3_env, bucket, "jobs/in/records.jsonl", completion_records(400))
    job = invocation.create(
        job_name="s3-job",
        model_id="springboard-tiny-llama",
        input_uri=f"s3://{bucket}/jobs/in/",
        output_uri=f"s3://{bucket}/jobs/out",
    )
    assert job.outputs["dir"] == f"s3://{bucket}/jobs/out/{job.id}"
    wait_for(lambda: (service.get(job.id).counts or {}).get("processed", 0) >= 32)
    invocation.stop(job.id)
    stopped = invocation.wait(job.id, timeout=120)
    assert stopped.status == "Stopped"
    prefix = f"jobs/out/{job.id}/"
    assert keys(s3_env, bucket, prefix) == [
        prefix + "manifest.json.out",
        prefix + "records.jsonl.out",
    ]
    kept = lines_of(get(s3_env, bucket, prefix + "records.jsonl.out"))  # what it had, published
    manifest = json.loads(get(s3_env, bucket, prefix + "manifest.json.out"))
    assert 32 <= len(kept) < 400 and manifest["processedRecordCount"] == len(kept)
    service.resume(job.id)
    done = invocation.wait(job.id, timeout=300)
    assert done.status == "Completed", done.status_message
    lines = lines_of(get(s3_env, bucket, prefix + "records.jsonl.out"))
    assert [line["recordId"] for line in lines] == [f"q{i}" for i in range(400)]
    assert all(line["modelOutput"]["generations"] for line in lines)
    manifest = json.loads(get(s3_env, bucket, prefix + "manifest.json.out"))
    assert manifest["successRecordCount"] == manifest["totalRecordCount"] == 400


def test_missing_bucket_or_key_is_an_error_naming_the_parameter(s3_env, bucket, tmp_path):
    good = tmp_path / "in.jsonl"
    good.write_text(t5_records(2))
    with pytest.raises(ValidationError) as err:
        transform.submit(T5, input="s3://no-such-bucket/in/", output=str(tmp_path / "o"))
    assert [i.field for i in err.value.issues] == ["input"]
    assert "no bucket 'no-such-bucket'" in str(err.value) and "AWS_ENDPOINT_URL" in str(err.value)
    with pytest.raises(ValidationError) as err:
        transform.submit(T5, input=f"s3://{bucket}/missing.jsonl", output=str(tmp_path / "o"))
    assert [i.field for i in err.value.issues] == ["input"]
    assert f"s3://{bucket}/missing.jsonl does not exist" in str(err.value)
    with pytest.raises(ValidationError) as err:  # both at once, before any job exists
        transform.submit(T5, input=f"s3://{bucket}/nope/", output="s3://no-such-bucket/out/")
    assert [i.field for i in err.value.issues] == ["input", "output"]
    with pytest.raises(ValidationError) as err:
        invocation.create(
            job_name="nobucket",
            model_id="springboard-tiny-llama",
            input_uri=str(good),
            output_uri="s3://no-such-bucket/out/",
        )
    assert [i.field for i in err.value.issues] == ["outputDataConfig"]
    assert service.list_jobs() == []


def test_http_callers_s3_locations_are_opened_by_the_worker_only(s3_env, bucket, monkeypatch):
    # a listener that must never be connected to while the jobs are created
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
    from tests.s3server import _forget_filesystems

    _forget_filesystems()
    try:
        job = transform.submit(
            T5,
            input=f"s3://{bucket}/missing/",
            output=f"s3://{bucket}/o/",
            policy=LocationPolicy.http(),
            launch=False,
        )
        other = invocation.create(
            job_name="http-s3",
            model_id="springboard-tiny-llama",
            input_uri=f"s3://{bucket}/missing/",
            output_uri=f"s3://{bucket}/o/",
            policy=LocationPolicy.http(),
            launch=False,
        )
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert job.inputs["files"] == [] and job.settings["location_policy"] == "http"
    with pytest.raises(
        ValidationError, match="allowed schemes"
    ):  # the same policy as invocation jobs
        transform.submit(
            T5,
            input="gs://b/in/",
            output=f"s3://{bucket}/o/",
            policy=LocationPolicy.http(),
            launch=False,
        )

    # the worker lists the input: a missing one fails the job, naming the parameter
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_env.url)
    _forget_filesystems()
    service.resume(service.stop(job.id).id)
    failed = service.wait(job.id, timeout=120)
    assert failed.status == "Failed" and "input" in failed.status_message
    assert f"s3://{bucket}/missing/ does not exist" in failed.status_message
    assert other.outputs["files"] == []
