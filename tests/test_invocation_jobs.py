"""Invocation jobs for real: worker processes run the bundled models over JSON Lines of
Bedrock-style records; the scheduler, stop/resume, expiry and the CLI are exercised end
to end against a real SQLite store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from springboard.config import reset_settings
from springboard.errors import ConflictError, QuotaExceededError, ValidationError
from springboard.jobs import invocation, service
from springboard.store import job_records
from tests import waiting
from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration


def completion_records(path: Path, n: int, *, generations: int = 3, max_tokens: int = 8) -> Path:
    with open(path, "w") as handle:
        for i in range(n):
            handle.write(
                json.dumps(
                    {
                        "recordId": f"r{i}",
                        "modelInput": {
                            "prompt": f"Tom has {i} apples.",
                            "temperature": 0.7,
                            "max_tokens": max_tokens,
                            "num_generations": generations,
                            "seed": i,
                        },
                    }
                )
                + "\n"
            )
    return path


def out_lines(job) -> list[dict]:
    path = Path(job.outputs["files"][0])
    return [json.loads(line) for line in path.read_text().splitlines()]


def manifest(job) -> dict:
    return json.loads((Path(job.outputs["dir"]) / "manifest.json.out").read_text())


def set_settings(job_id: str, settings: dict) -> None:
    """Rewrite a job's recorded settings (a column `update_row` cannot name)."""
    from sqlalchemy import update

    from springboard.store.db import session_scope
    from springboard.store.schema import jobs

    with session_scope() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(settings=settings))


wait_for = partial(waiting.wait_for, timeout=120, interval=0.1)


def test_cli_job_writes_one_line_per_record_and_a_manifest(tmp_path, isolated_env):
    records = completion_records(tmp_path / "records.jsonl", 50)

    def cli(*args: str) -> dict:
        done = subprocess.run(
            [str(VENV_BIN / "springboard"), "invocation-jobs", *args, "--json"],
            env=cli_env(isolated_env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    created = cli(
        "create",
        "--job-name",
        "demo1",
        "--model-id",
        "springboard-tiny-llama",
        "--input",
        str(records),
        "--output",
        str(tmp_path / "out"),
    )
    assert created["status"] in ("Submitted", "Validating", "Scheduled", "InProgress")
    assert created["jobArn"].startswith("arn:aws:bedrock:") and created["jobArn"].endswith(
        created["jobId"]
    )
    wait_for(lambda: cli("get", created["jobArn"])["status"] == "Completed")
    final = cli("get", created["jobId"])
    job = invocation.get(created["jobId"])
    lines = out_lines(job)
    assert Path(job.outputs["dir"]) == tmp_path / "out" / created["jobId"]
    assert [line["recordId"] for line in lines] == [f"r{i}" for i in range(50)]
    assert all(len(line["modelOutput"]["generations"]) == 3 for line in lines)
    first = lines[0]["modelOutput"]
    assert first["prompt"] == "Tom has 0 apples." and set(first["generations"][0]) >= {
        "id",
        "text",
        "finish_reason",
    }
    counts = manifest(job)
    assert (
        counts["totalRecordCount"]
        == counts["processedRecordCount"]
        == counts["successRecordCount"]
        == 50
    )
    assert counts["errorRecordCount"] == 0
    assert counts["outputTokenCount"] == sum(
        g["token_count"] for line in lines for g in line["modelOutput"]["generations"]
    )
    assert (
        final["successRecordCount"] == 50 and final["inputTokenCount"] == counts["inputTokenCount"]
    )
    listed = cli("list", "--name-contains", "demo")["invocationJobSummaries"]
    assert [j["jobName"] for j in listed] == ["demo1"]


def test_bad_records_get_error_lines_and_spare_their_siblings(tmp_path):
    source = tmp_path / "mixed.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "recordId": "ok",
                        "modelInput": {"prompt": "Hi", "temperature": 0, "max_tokens": 4},
                    }
                ),
                json.dumps({"modelInput": {"prompt": "no id", "temperature": 0, "max_tokens": 4}}),
                json.dumps({"recordId": "typo", "modelInput": {"prompt": "x", "temprature": 1}}),
                json.dumps(
                    {
                        "recordId": "greedy-n",
                        "modelInput": {"prompt": "x", "temperature": 0, "num_generations": 2},
                    }
                ),
                json.dumps(
                    {"recordId": "shape", "modelInput": {"text_inputs": "a text2text payload"}}
                ),
                json.dumps(
                    {
                        "recordId": "native",
                        "modelInput": {"inputs": "Once", "parameters": {"max_new_tokens": 3}},
                    }
                ),
                "not json",
            ]
        )
        + "\n"
    )
    job = invocation.create(
        job_name="mixed",
        model_id="springboard-tiny-llama",
        input_uri=str(source),
        output_uri=f"file://{tmp_path}/out",
    )
    job = invocation.wait(job.id, timeout=120)
    assert job.status == "PartiallyCompleted"
    lines = {line["recordId"]: line for line in out_lines(job)}
    assert len(lines) == 7
    generated = [rid for rid in lines if rid not in {"ok", "typo", "greedy-n", "shape", "native"}]
    assert len(generated) == 2 and all(len(rid) == 11 and rid.isalnum() for rid in generated)
    assert (
        "modelOutput" in lines["ok"]
        and lines["native"]["modelOutput"][0]["generated_text"] is not None
    )
    assert "temprature" in lines["typo"]["error"]["errorMessage"]
    assert "prompt" in lines["typo"]["error"]["errorMessage"]  # the allowed fields are listed
    assert "num_generations" in lines["greedy-n"]["error"]["errorMessage"]
    assert "text2text" in lines["shape"]["error"]["errorMessage"]
    assert all(lines[r]["error"]["errorCode"] == 400 for r in ("typo", "greedy-n", "shape"))
    assert manifest(job)["errorRecordCount"] == 4 and manifest(job)["successRecordCount"] == 3


def test_the_text2text_model_takes_the_completion_shape_too(tmp_path):
    source = completion_records(tmp_path / "t5.jsonl", 3, generations=2)
    job = invocation.create(
        job_name="t5",
        model_id="springboard-tiny-t5",
        input_uri=str(source),
        output_uri=str(tmp_path / "out"),
    )
    job = invocation.wait(job.id, timeout=120)
    assert job.status == "Completed", job.status_message
    assert all(len(line["modelOutput"]["generations"]) == 2 for line in out_lines(job))


def test_requests_are_validated_before_a_job_exists(tmp_path):
    source = completion_records(tmp_path / "in.jsonl", 2)
    good = dict(
        model_id="springboard-tiny-llama", input_uri=str(source), output_uri=str(tmp_path / "o")
    )
    with pytest.raises(ValidationError) as err:
        invocation.create(job_name="bad name!", timeout_hours=2, **good)
    assert {i.field for i in err.value.issues} == {"jobName", "timeoutDurationInHours"}
    with pytest.raises(ValidationError, match="does not exist"):
        invocation.create(
            job_name="nofile", **{**good, "input_uri": str(tmp_path / "missing.jsonl")}
        )
    with pytest.raises(ValidationError, match="cannot open nosuch:// locations"):
        invocation.create(job_name="nofs", **{**good, "input_uri": "nosuch://bucket/in.jsonl"})
    first = invocation.create(job_name="tok", client_token="t-1", launch=False, **good)
    again = invocation.create(job_name="tok", client_token="t-1", launch=False, **good)
    assert again.id == first.id and len(invocation.list_jobs()) == 1
    with pytest.raises(ConflictError, match="clientRequestToken"):
        invocation.create(job_name="other", client_token="t-1", launch=False, **good)
    with pytest.raises(ConflictError, match="outputDataConfig"):
        invocation.create(
            job_name="tok",
            client_token="t-1",
            launch=False,
            **{**good, "output_uri": str(tmp_path / "elsewhere")},
        )
    with pytest.raises(ValidationError) as err:  # every problem at once
        invocation.create(job_name="-bad", **{**good, "input_uri": str(tmp_path / "nope.jsonl")})
    assert {i.field for i in err.value.issues} == {"jobName", "inputDataConfig"}
    with pytest.raises(ConflictError, match="exists already"):
        invocation.create(job_name="tok", launch=False, **good)


def test_at_most_three_run_and_the_rest_wait_in_order(tmp_path):
    source = completion_records(tmp_path / "in.jsonl", 40, generations=2)
    jobs = [
        invocation.create(
            job_name=f"c{i}",
            model_id="springboard-tiny-llama",
            input_uri=str(source),
            output_uri=str(tmp_path / "out"),
        )
        for i in range(4)
    ]
    statuses = [invocation.get(j.id).status for j in jobs]
    assert statuses[3] == "Scheduled", statuses
    assert all(s in ("Validating", "InProgress", "Completed") for s in statuses[:3]), statuses
    done = [invocation.wait(j.id, timeout=180) for j in jobs]
    assert [j.status for j in done] == ["Completed"] * 4
    assert done[3].started_at >= min(j.ended_at for j in done[:3])  # it got a freed slot


def test_quota_on_waiting_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_MAX_QUEUED_INVOCATION_JOBS", "2")
    reset_settings()
    source = completion_records(tmp_path / "in.jsonl", 1)
    for i in range(2):
        invocation.create(
            job_name=f"q{i}",
            model_id="springboard-tiny-llama",
            input_uri=str(source),
            output_uri=str(tmp_path / "o"),
            launch=False,
        )
    with pytest.raises(QuotaExceededError, match="limit is 2"):
        invocation.create(
            job_name="q2",
            model_id="springboard-tiny-llama",
            input_uri=str(source),
            output_uri=str(tmp_path / "o"),
            launch=False,
        )


def test_stop_keeps_lines_and_resume_after_kill_finishes_exactly_once(tmp_path):
    n = 1500
    source = completion_records(tmp_path / "in.jsonl", n, generations=1, max_tokens=4)
    job = invocation.create(
        job_name="long",
        model_id="springboard-tiny-llama",
        input_uri=str(source),
        output_uri=str(tmp_path / "out"),
    )
    wait_for(lambda: (service.get(job.id).counts or {}).get("processed", 0) >= 32)
    assert invocation.stop(invocation.job_arn(job.id)).status in ("Stopping", "Stopped")
    stopped = invocation.wait(job.id, timeout=60)
    assert stopped.status == "Stopped"
    kept = out_lines(stopped)
    assert 32 <= len(kept) < n and len(kept) == manifest(stopped)["processedRecordCount"]
    assert invocation.stop(job.id).status == "Stopped"  # stopping again is a no-op
    service.resume(job.id)
    wait_for(lambda: (service.get(job.id).counts or {}).get("processed", 0) >= len(kept) + 32)
    os.kill(service.get(job.id).pid, signal.SIGKILL)
    wait_for(lambda: service.get(job.id).status == "Failed")
    service.resume(job.id)
    done = invocation.wait(job.id, timeout=300)
    assert done.status == "Completed"
    assert [line["recordId"] for line in out_lines(done)] == [f"r{i}" for i in range(n)]
    assert manifest(done)["successRecordCount"] == n
    with pytest.raises(ConflictError, match="Completed"):
        invocation.stop(job.id)


def test_a_job_past_its_timeout_expires_and_keeps_its_output(tmp_path):
    source = completion_records(tmp_path / "in.jsonl", 200, generations=1, max_tokens=4)
    job = invocation.create(
        job_name="late",
        model_id="springboard-tiny-llama",
        input_uri=str(source),
        output_uri=str(tmp_path / "out"),
        launch=False,
    )
    settings = {**job.settings, "deadline": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
    set_settings(job.id, settings)
    waiting = invocation.create(
        job_name="late2",
        model_id="springboard-tiny-llama",
        input_uri=str(source),
        output_uri=str(tmp_path / "out"),
        launch=False,
    )
    set_settings(waiting.id, settings)
    job_records.update_row(waiting.id, status="Scheduled")
    assert invocation.get(waiting.id).status == "Expired"  # never ran
    from springboard.jobs import scheduler

    scheduler.admit("invocation")
    expired = invocation.wait(job.id, timeout=120)
    assert expired.status == "Expired" and "timeoutDurationInHours" in expired.status_message
    assert len(out_lines(expired)) == manifest(expired)["processedRecordCount"] == 16
