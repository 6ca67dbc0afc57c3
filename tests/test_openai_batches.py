"""The OpenAI Batch API on `springboard serve`, driven by the official `openai` client: a
batch runs as an invocation job on the bundled model (no endpoint), splits its lines into
output and error files keeping every custom_id once, shows in `springboard jobs list`,
keeps finished lines when cancelled, and after its worker is killed (-9) resumes to
exactly-once results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from springboard.config import reset_settings
from springboard.jobs import service
from tests import servers
from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration
HANG_GUARD = 120
ENDED = ("completed", "failed", "cancelled", "expired")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("batches-home")


@pytest.fixture
def env(home, monkeypatch) -> Path:
    monkeypatch.setenv("SPRINGBOARD_HOME", str(home))
    reset_settings()
    return home


@pytest.fixture(scope="module")
def url(home) -> Iterator[str]:
    with servers.control_plane(home, home / "serve.log") as base:
        yield base


def client(url: str) -> OpenAI:
    return OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=60)


def line(i: int, **body: object) -> dict:
    question = (
        f"Q: Lena has {i + 3} shells. Lena finds 4 more shells. How many shells does Lena have now?"
    )
    return {
        "custom_id": f"q{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "springboard-tiny-llama",
            "max_tokens": 24,
            "temperature": 0,
            "messages": [{"role": "user", "content": question}],
            **body,
        },
    }


def upload(c: OpenAI, lines: list[dict]) -> str:
    data = "\n".join(json.dumps(x) for x in lines).encode()
    return c.files.create(file=("b.jsonl", data), purpose="batch").id


def wait_for(c: OpenAI, batch_id: str, until: tuple[str, ...] = ENDED):
    deadline = time.monotonic() + HANG_GUARD
    while (b := c.batches.retrieve(batch_id)).status not in until:
        assert time.monotonic() < deadline, b
        time.sleep(0.3)
    return b


def lines_of(c: OpenAI, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [json.loads(x) for x in c.files.content(file_id).text.splitlines()]


def test_a_batch_runs_on_the_model_and_splits_answers_from_errors(env, url):
    c = client(url)
    lines = [line(i) for i in range(5)] + [line(5, top_p=2)]
    b = c.batches.create(
        input_file_id=upload(c, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": "t1"},
    )
    assert b.status in ("validating", "in_progress") and b.metadata == {"run": "t1"}
    b = wait_for(c, b.id)
    assert b.status == "completed", b
    assert (b.request_counts.total, b.request_counts.completed, b.request_counts.failed) == (
        6,
        5,
        1,
    )
    out, errors = lines_of(c, b.output_file_id), lines_of(c, b.error_file_id)
    assert sorted(x["custom_id"] for x in out) == [f"q{i}" for i in range(5)]
    for x in out:
        body = x["response"]["body"]
        assert x["response"]["status_code"] == 200 and body["object"] == "chat.completion"
        assert body["usage"]["completion_tokens"] > 0
    first = next(x for x in out if x["custom_id"] == "q0")["response"]["body"]
    assert first["choices"][0]["message"]["content"].startswith(" 3 + 4 = 7.")  # worked answers
    [error] = errors
    assert error["custom_id"] == "q5" and error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["param"] == "top_p"
    assert b.id in [x.id for x in c.batches.list()]

    listed = subprocess.run(
        [str(VENV_BIN / "springboard"), "jobs", "list", "--json"],
        env=cli_env(env),
        capture_output=True,
        text=True,
        check=True,
    )
    assert b.id.removeprefix("batch_") in [j["id"] for j in json.loads(listed.stdout)]


def test_a_batch_is_refused_by_name_before_it_exists(env, url):
    c = client(url)
    mixed = [line(0), {**line(1), "url": "/v1/completions"}]
    with pytest.raises(openai.BadRequestError) as err:
        c.batches.create(
            input_file_id=upload(c, mixed), endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert "line 2.url" in err.value.body["message"]
    unknown = [line(0, model="no-such-model")]
    with pytest.raises(openai.BadRequestError) as err:
        c.batches.create(
            input_file_id=upload(c, unknown),
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
    assert "line 1.body.model" in err.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        c.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    with pytest.raises(openai.BadRequestError) as err:
        c.batches.create(
            input_file_id=upload(c, [line(0)]), endpoint="/v1/embeddings", completion_window="1h"
        )
    assert (
        "endpoint" in err.value.body["message"] and "completion_window" in err.value.body["message"]
    )
    with pytest.raises(openai.NotFoundError):
        c.batches.retrieve("batch_nope")


def test_cancel_keeps_finished_lines_and_a_killed_worker_resumes_exactly_once(env, url):
    c = client(url)
    lines = [line(i, max_tokens=24) for i in range(96)]  # 6 batches of 16
    file_id = upload(c, lines)

    cancelled = c.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    job_id = cancelled.id.removeprefix("batch_")
    deadline = time.monotonic() + HANG_GUARD
    while service.get(job_id).counts.get("processed", 0) == 0:  # a first batch is written
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert c.batches.cancel(cancelled.id).status in ("cancelling", "cancelled")
    cancelled = wait_for(c, cancelled.id)
    assert cancelled.status == "cancelled"
    kept = lines_of(c, cancelled.output_file_id)
    assert 0 < len(kept) == cancelled.request_counts.completed < len(lines)

    lines = lines[:64]  # 4 batches of 16, shorter answers
    for x in lines:
        x["body"]["max_tokens"] = 12
    killed = c.batches.create(
        input_file_id=upload(c, lines), endpoint="/v1/chat/completions", completion_window="24h"
    )
    job_id = killed.id.removeprefix("batch_")
    deadline = time.monotonic() + HANG_GUARD
    while (job := service.get(job_id)).counts.get("processed", 0) == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job.counts["processed"] < len(lines)
    os.kill(job.pid, signal.SIGKILL)
    deadline = time.monotonic() + HANG_GUARD
    while service.get(job_id).status != "Failed":  # the dead worker is noticed
        assert time.monotonic() < deadline
        time.sleep(0.2)
    service.resume(job_id)
    done = wait_for(c, killed.id)
    assert done.status == "completed"
    ids = [x["custom_id"] for x in lines_of(c, done.output_file_id)]
    assert sorted(ids) == sorted(x["custom_id"] for x in lines)  # each exactly once
