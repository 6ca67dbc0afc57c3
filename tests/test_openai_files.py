"""The OpenAI Files API on `springboard serve`, driven by the official `openai` client:
uploads checked line by line per purpose (nothing kept when refused), list with paging,
retrieve, content and delete, and the upload size limit."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from tests import servers

pytestmark = pytest.mark.integration
HANG_GUARD = 60


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory) -> Iterator[str]:
    """`springboard serve` over a home of its own, with a 1 MiB file limit."""
    home = tmp_path_factory.mktemp("files-home")
    env = {"SPRINGBOARD_FILES_MAX_MB": "1"}
    with servers.control_plane(home, home / "serve.log", env=env) as url:
        yield url


def client(url: str) -> OpenAI:
    return OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=HANG_GUARD)


def batch_lines(n: int) -> list[dict]:
    return [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "springboard-tiny-llama",
                "messages": [{"role": "user", "content": f"{i}?"}],
            },
        }
        for i in range(n)
    ]


def jsonl(lines: list) -> bytes:
    return "\n".join(json.dumps(line) for line in lines).encode() + b"\n"


def test_upload_list_retrieve_content_delete(control_plane):
    c = client(control_plane)
    data = jsonl(batch_lines(3))
    f = c.files.create(file=("b.jsonl", data), purpose="batch")
    assert f.id.startswith("file-") and f.bytes == len(data) and f.filename == "b.jsonl"
    assert f.purpose == "batch" and f.object == "file"
    assert c.files.retrieve(f.id).id == f.id
    assert c.files.content(f.id).content == data
    tune = c.files.create(
        file=(
            "t.jsonl",
            jsonl(
                [
                    {"prompt": "a", "completion": "b"},
                    {
                        "messages": [
                            {"role": "user", "content": "hi"},
                            {"role": "assistant", "content": "hello"},
                        ]
                    },
                ]
            ),
        ),
        purpose="fine-tune",
    )
    assert [x.id for x in c.files.list()] == [tune.id, f.id]  # newest first
    assert [x.id for x in c.files.list(purpose="batch")] == [f.id]
    page = c.files.list(limit=1)
    assert [x.id for x in page.data] == [tune.id] and page.has_more
    assert [x.id for x in c.files.list(limit=1, after=tune.id).data] == [f.id]

    assert c.files.delete(f.id).deleted
    with pytest.raises(openai.NotFoundError):
        c.files.retrieve(f.id)
    with pytest.raises(openai.NotFoundError):
        c.files.content(f.id)
    c.files.delete(tune.id)
    assert c.files.list().data == []


def test_a_bad_line_is_named_and_nothing_is_kept(control_plane):
    c = client(control_plane)
    lines = batch_lines(3)
    lines[1]["url"] = "/v1/embeddings"
    lines[2]["custom_id"] = "q0"
    data = jsonl(lines) + b"not json\n"
    with pytest.raises(openai.BadRequestError) as err:
        c.files.create(file=("b.jsonl", data), purpose="batch")
    message = err.value.body["message"]
    assert "line 2.url" in message and "line 3.custom_id" in message and "line 4" in message
    with pytest.raises(openai.BadRequestError) as err:
        c.files.create(file=("t.jsonl", jsonl([{"prompt": "only"}])), purpose="fine-tune")
    assert "line 1.completion" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        c.files.create(file=("b.jsonl", jsonl(batch_lines(1))), purpose="assistants")
    assert "purpose" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        c.files.create(file=("empty.jsonl", b"\n"), purpose="batch")
    assert c.files.list().data == []


def test_the_size_limit_refuses_before_keeping(control_plane):
    c = client(control_plane)
    big = jsonl(batch_lines(8000))  # ~1.2 MB, over the server's 1 MiB
    assert len(big) > 1024 * 1024
    with pytest.raises(openai.APIStatusError) as err:
        c.files.create(file=("big.jsonl", big), purpose="batch")
    assert err.value.status_code == 413
    assert "SPRINGBOARD_FILES_MAX_MB" in json.dumps(err.value.body)
    assert c.files.list().data == []
