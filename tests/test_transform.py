"""Batch transform jobs for real: worker processes, the state database, files on disk,
kill -9 and resume, stop, bad records and bad job settings."""

from __future__ import annotations

import json
import os
import signal
from functools import partial
from pathlib import Path

import pytest

from springboard.errors import ClientError, ValidationError
from springboard.jobs import service, transform
from springboard.jobs.states import IllegalTransitionError
from tests import waiting

pytestmark = pytest.mark.integration


def write_records(path: Path, n: int, *, bad: dict[int, dict] | None = None) -> Path:
    with open(path, "w") as handle:
        for i in range(n):
            record = {"id": f"r{i}", "text_inputs": f"summarize: note {i} about the weather"}
            record.update((bad or {}).get(i, {}))
            handle.write(json.dumps(record) + "\n")
    return path


def out_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


wait_for = partial(waiting.wait_for, timeout=60.0)


def test_bad_record_gets_an_error_line_and_siblings_succeed(tmp_path, t5_generator):
    source = write_records(tmp_path / "in.jsonl", 40, bad={7: {"top_p": 2}})
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(source),
        output=str(tmp_path / "out"),
        env={"HYPER_PARAMS": "{'max_length': 6, 'num_beams': 1}"},
        batch_size=16,
    )
    job = service.wait(job.id, timeout=120)
    assert job.status == "PartiallyCompleted"
    assert job.counts["succeeded"] == 39 and job.counts["failed"] == 1
    assert job.counts["output_tokens"] > 0
    lines = out_lines(tmp_path / "out" / "in.jsonl.out")
    assert [line["id"] for line in lines] == [f"r{i}" for i in range(40)]
    assert lines[7]["error"]["field"] == "top_p"
    expected = t5_generator.predict(
        {"text_inputs": "summarize: note 3 about the weather", "max_length": 6, "num_beams": 1}
    )
    assert lines[3]["generated_texts"] == expected["generated_texts"]


def test_hyper_params_win_over_record_values(tmp_path):
    source = write_records(tmp_path / "in.jsonl", 3, bad={1: {"max_length": 40}})
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(source),
        output=str(tmp_path / "o"),
        env={"HYPER_PARAMS": '{"max_length": 3}'},
    )
    job = service.wait(job.id, timeout=120)
    assert job.status == "Completed"
    assert job.counts["output_tokens"] <= 3 * 3


def test_invalid_hyper_params_fail_at_submission_naming_the_field(tmp_path):
    source = write_records(tmp_path / "in.jsonl", 3)
    with pytest.raises(ValidationError) as err:
        transform.submit(
            "springboard-tiny-t5",
            input=str(source),
            output=str(tmp_path / "o"),
            env={"HYPER_PARAMS": "{'top_p': 3, 'max_lenght': 2}"},
        )
    fields = {issue.field for issue in err.value.issues}
    assert fields == {"HYPER_PARAMS.top_p", "HYPER_PARAMS.max_lenght"}
    with pytest.raises(ValidationError, match="HYPER_PARAMS"):
        transform.submit(
            "springboard-tiny-t5",
            input=str(source),
            output=str(tmp_path / "o"),
            env={"HYPER_PARAMS": "__import__('os').system('true')"},
        )
    with pytest.raises(ValidationError) as err:
        transform.submit("springboard-tiny-t5", input=str(tmp_path / "nope"), output=str(tmp_path))
    assert [issue.field for issue in err.value.issues] == ["input"]
    assert "does not exist" in str(err.value)
    assert service.list_jobs() == []


def test_directory_input_text_lines_and_text_generation(tmp_path, llama_generator):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("Once\nupon a time\n\nthe end\n")
    (data / "b.txt").write_text("hello\n")
    job = transform.submit(
        "springboard-tiny-llama",
        input=str(data),
        output=str(tmp_path / "o"),
        content_type="text/plain",
        env={"HYPER_PARAMS": json.dumps({"max_new_tokens": 4})},
    )
    job = service.wait(job.id, timeout=120)
    assert job.status == "Completed" and job.counts["total"] == 4
    a = out_lines(tmp_path / "o" / "a.txt.out")
    assert [line["id"] for line in a] == [1, 2, 3]
    expected = llama_generator.predict(
        {"inputs": "upon a time", "parameters": {"max_new_tokens": 4}}
    )
    assert a[1]["generated_texts"] == [expected[0]["generated_text"]]
    assert len(out_lines(tmp_path / "o" / "b.txt.out")) == 1


def test_kill_9_then_resume_writes_every_record_exactly_once_in_order(tmp_path):
    n = 600
    source = write_records(tmp_path / "in.jsonl", n)
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(source),
        output=str(tmp_path / "o"),
        env={"HYPER_PARAMS": '{"max_length": 8}'},
        batch_size=8,
    )
    wait_for(lambda: service.get(job.id).counts.get("processed", 0) >= 16)
    os.kill(service.get(job.id).pid, signal.SIGKILL)
    failed = wait_for(lambda: (j := service.get(job.id)).status == "Failed" and j)
    assert "worker lost" in failed.status_message
    out = tmp_path / "o" / "in.jsonl.out"
    with open(out, "ab") as handle:  # a torn write, as if killed mid-line
        handle.write(b'{"id": "r999", "generated_te')
    service.resume(job.id)
    done = service.wait(job.id, timeout=300)
    assert done.status == "Completed"
    ids = [line["id"] for line in out_lines(out)]
    assert ids == [f"r{i}" for i in range(n)]
    assert done.counts["processed"] == n and done.counts["succeeded"] == n


def test_stop_keeps_output_and_resume_finishes(tmp_path):
    n = 1200  # enough that the job is still running when the stop arrives
    source = write_records(tmp_path / "in.jsonl", n)
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(source),
        output=str(tmp_path / "o"),
        env={"HYPER_PARAMS": '{"max_length": 8}'},
        batch_size=8,
    )
    wait_for(lambda: service.get(job.id).counts.get("processed", 0) >= 8)
    assert service.stop(job.id).status in ("Stopping", "Stopped")
    stopped = service.wait(job.id, timeout=60)
    assert stopped.status == "Stopped"
    kept = out_lines(tmp_path / "o" / "in.jsonl.out")
    assert 8 <= len(kept) < n and len(kept) == stopped.counts["processed"]
    service.resume(job.id)
    with pytest.raises(IllegalTransitionError):
        service.resume(job.id)  # it is running again
    finished = service.wait(job.id, timeout=300)
    assert finished.status == "Completed"
    assert [line["id"] for line in out_lines(tmp_path / "o" / "in.jsonl.out")] == [
        f"r{i}" for i in range(n)
    ]


def test_unknown_job_and_completed_jobs_cannot_resume(tmp_path):
    with pytest.raises(ClientError):
        service.get("tr-doesnotexist")
    source = write_records(tmp_path / "in.jsonl", 2)
    job = transform.submit("springboard-tiny-t5", input=str(source), output=str(tmp_path / "o"))
    assert service.wait(job.id, timeout=120).status == "Completed"
    with pytest.raises(IllegalTransitionError) as err:
        service.resume(job.id)
    assert "Completed" in str(err.value)
    assert [j.id for j in service.list_jobs(kind="transform", status="Completed")] == [job.id]


def test_sdk_transformer_mirrors_the_managed_hub(tmp_path):
    from springboard import Model

    source = write_records(tmp_path / "in.jsonl", 4)
    transformer = Model("springboard-tiny-t5").transformer(
        output_path=str(tmp_path / "o"),
        env={"HYPER_PARAMS": '{"max_length": 4}'},
        instance_type="ml.m5.xlarge",
    )
    job = transformer.transform(str(source), content_type="application/jsonlines")
    assert job.status == "Completed" and transformer.latest_transform_job.id == job.id
    assert len(out_lines(tmp_path / "o" / "in.jsonl.out")) == 4


def test_one_default_batch_size_everywhere():
    import inspect

    from springboard.cli.transform import transform as transform_command
    from springboard.jobs.transform import DEFAULT_BATCH_SIZE, TransformSettings
    from springboard.sdk import Transformer

    option = inspect.signature(transform_command).parameters["batch_size"].default
    assert option == DEFAULT_BATCH_SIZE == TransformSettings.model_fields["batch_size"].default
    assert inspect.signature(Transformer).parameters["batch_size"].default == DEFAULT_BATCH_SIZE
