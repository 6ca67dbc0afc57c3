"""The OpenAI fine-tuning API on `springboard serve`, driven by the official `openai`
client: a job on uploaded prompt/completion lines trains the bundled T5 as a Springboard
training job, its events show the losses falling, and its `fine_tuned_model` answers in a
batch; what cannot be honoured is refused by name."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tests.conftest import ROOT
from tests.test_openai_batches import client, env, home, url, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
HANG_GUARD = 300
ENDED_JOBS = ("succeeded", "failed", "cancelled")
EXAMPLES = ROOT / "examples" / "question-generation" / "fine-tune.jsonl"


def qg_lines(count: int) -> bytes:
    """The question-generation sample as prompt/completion lines."""
    return "\n".join(EXAMPLES.read_text().splitlines()[:count]).encode()


def test_fine_tune_then_use_the_model_in_a_batch(env, url):
    c = client(url)
    train = c.files.create(file=("qg.jsonl", qg_lines(200)), purpose="fine-tune")
    job = c.fine_tuning.jobs.create(
        model="springboard-tiny-t5",
        training_file=train.id,
        hyperparameters={"n_epochs": 2, "batch_size": 16, "learning_rate_multiplier": 2},
        suffix="qg",
        seed=3,
    )
    assert job.status in ("queued", "running") and job.user_provided_suffix == "qg"
    assert (job.hyperparameters.n_epochs, job.hyperparameters.batch_size) == (2, 16)
    assert job.hyperparameters.learning_rate_multiplier == 2
    assert job.id in [j.id for j in c.fine_tuning.jobs.list()]
    deadline = time.monotonic() + HANG_GUARD
    while (job := c.fine_tuning.jobs.retrieve(job.id)).status not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model and job.fine_tuned_model.startswith("springboard-tiny-t5-ft-qg-")

    events = list(c.fine_tuning.jobs.list_events(job.id, limit=1000))
    messages = [e.message for e in events]
    assert messages[0] == "The job has successfully completed"
    assert messages[-1].startswith("Created fine-tuning job")
    assert any(m.startswith("Checkpoint created at step") for m in messages)
    losses = [
        e.data["train_loss"]
        for e in reversed(events)
        if e.type == "metrics" and "train_loss" in (e.data or {})
    ]
    assert len(losses) >= 2 and losses[-1] < losses[0]  # it learned
    with pytest.raises(openai.NotFoundError):  # an API id is whole, not a prefix
        c.fine_tuning.jobs.retrieve(job.id[:-3])
    with pytest.raises(openai.NotFoundError):  # nor a job of another API
        c.batches.retrieve("batch_" + job.id.removeprefix("ftjob-"))
    with pytest.raises(openai.APIStatusError) as err:  # it has ended
        c.fine_tuning.jobs.cancel(job.id)
    assert err.value.status_code == 409

    line = {
        "custom_id": "q",
        "method": "POST",
        "url": "/v1/completions",
        "body": {
            "model": job.fine_tuned_model,
            "prompt": "Ask a question about: The market in Dunmere opens in May.",
            "max_tokens": 24,
            "temperature": 0,
        },
    }
    batch_file = c.files.create(file=("b.jsonl", json.dumps(line).encode()), purpose="batch")
    batch = c.batches.create(
        input_file_id=batch_file.id, endpoint="/v1/completions", completion_window="24h"
    )
    batch = wait_for(c, batch.id)
    [answer] = [json.loads(x) for x in c.files.content(batch.output_file_id).text.splitlines()]
    text = answer["response"]["body"]["choices"][0]["text"]
    # it asks a question now (the base model answers instead: "May")
    assert text.split()[0] in ("When", "What", "Where", "Who", "How", "Which", "Why"), text


def test_what_cannot_be_honoured_is_refused_by_name(env, url):
    c = client(url)
    chat = c.files.create(
        file=(
            "chat.jsonl",
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "hello"},
                    ]
                }
            ).encode(),
        ),
        purpose="fine-tune",
    )
    with pytest.raises(openai.BadRequestError) as err:
        c.fine_tuning.jobs.create(
            model="springboard-tiny-t5",
            training_file=chat.id,
            hyperparameters={"n_epochs": 1, "beta": 2},
        )
    message = err.value.body["message"]
    assert "training_file" in message and "hyperparameters.beta" in message
    with pytest.raises(openai.NotFoundError):
        c.fine_tuning.jobs.create(model="no-such-model", training_file=chat.id)
    with pytest.raises(openai.NotFoundError):
        c.fine_tuning.jobs.create(model="springboard-tiny-t5", training_file="file-nope")
    with pytest.raises(openai.NotFoundError):
        c.fine_tuning.jobs.retrieve("ftjob-nope")
    batch_file = c.files.create(
        file=(
            "b.jsonl",
            b'{"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {}}',
        ),
        purpose="batch",
    )
    with pytest.raises(openai.BadRequestError) as err:
        c.fine_tuning.jobs.create(model="springboard-tiny-t5", training_file=batch_file.id)
    assert "purpose fine-tune" in err.value.body["message"]


def test_chat_fine_tuning_of_the_causal_model_then_chat_with_it(env, url):
    """Chat-format training lines tune springboard-tiny-llama (its chat template, the last
    assistant turn learned); the fine-tuned model deploys and answers the chat API."""
    from springboard.serving import endpoints

    lines = [
        {
            "messages": [
                {
                    "role": "user",
                    "content": f"Q: Lena has {a} shells. Lena finds {b} more "
                    "shells. How many shells does Lena have now?",
                },
                {"role": "assistant", "content": f" {a} + {b} = {a + b}. The answer is {a + b}."},
            ]
        }
        for a, b in [(3 + i % 11, 2 + i % 7) for i in range(48)]
    ]
    c = client(url)
    train = c.files.create(
        file=("chat.jsonl", "\n".join(json.dumps(x) for x in lines).encode()), purpose="fine-tune"
    )
    job = c.fine_tuning.jobs.create(
        model="springboard-tiny-llama", training_file=train.id, hyperparameters={"n_epochs": 1}
    )
    deadline = time.monotonic() + HANG_GUARD
    while (job := c.fine_tuning.jobs.retrieve(job.id)).status not in ENDED_JOBS:
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job.status == "succeeded", job.error
    events = list(c.fine_tuning.jobs.list_events(job.id, limit=100))
    losses = [e.data["train_loss"] for e in reversed(events) if e.type == "metrics"]
    assert len(losses) >= 2 and losses[-1] < losses[0]

    info = endpoints.deploy(job.fine_tuned_model, name="tuned-chat")
    try:
        reply = client(info.url).chat.completions.create(
            model="tuned-chat",
            messages=lines[0]["messages"][:1],
            max_tokens=30,
            temperature=0,
        )
        assert "The answer is" in reply.choices[0].message.content
    finally:
        endpoints.delete("tuned-chat")
