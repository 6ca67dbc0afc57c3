"""Continuous batching on the bundled causal model: rows join and leave between steps,
and every answer equals what the Generator gives the same request on its own."""

from __future__ import annotations

import asyncio
import json

import pytest

from springboard.serving.continuous import ContinuousBatcher
from springboard.serving.service import EndpointService
from springboard.serving.settings import DeploymentSettings


@pytest.fixture
def service(llama_generator):
    service = EndpointService(
        "cb", llama_generator.spec, DeploymentSettings(max_rolling_batch_size=4, batch_wait_ms=0)
    )
    service.attach(llama_generator)
    assert isinstance(service.batcher, ContinuousBatcher)
    yield service
    service.shutdown()


def run_all(service, payloads):
    async def go():
        return await asyncio.gather(
            *(
                service.invoke(json.dumps(p).encode(), "application/json", runtime_shape=False)
                for p in payloads
            )
        )

    return asyncio.run(go())


def test_mixed_requests_match_the_generator_alone(service, llama_generator):
    payloads = [
        {"inputs": "Once", "parameters": {"max_new_tokens": 3}},
        {
            "inputs": "a much longer prompt than the others " * 3,
            "parameters": {"max_new_tokens": 20, "do_sample": True, "seed": 11},
        },
        {
            "inputs": "x",
            "parameters": {
                "max_new_tokens": 9,
                "do_sample": True,
                "seed": 2,
                "temperature": 0.5,
                "top_k": 5,
            },
        },
        {
            "inputs": ["one", "two two"],
            "parameters": {
                "max_new_tokens": 6,
                "do_sample": True,
                "seed": 3,
                "num_return_sequences": 2,
            },
        },
        {"inputs": "greedy too", "parameters": {"max_new_tokens": 15}},
        {"inputs": "beams", "parameters": {"max_new_tokens": 5, "num_beams": 2}},
        {"inputs": "ngram", "parameters": {"max_new_tokens": 5, "no_repeat_ngram_size": 2}},
        {"inputs": "top p", "parameters": {"max_new_tokens": 12, "top_p": 0.8, "seed": 9}},
    ]
    replies = run_all(service, payloads)
    for payload, reply in zip(payloads, replies, strict=True):
        assert reply.status == 200, reply.body
        assert json.loads(reply.body) == llama_generator.predict(payload), payload


def test_more_requests_than_rows_all_finish_in_order(service, llama_generator):
    payloads = [
        {
            "inputs": f"request {i}",
            "parameters": {"max_new_tokens": 4 + i % 7, "do_sample": True, "seed": i},
        }
        for i in range(12)
    ]
    replies = run_all(service, payloads)
    assert [json.loads(r.body) for r in replies] == [llama_generator.predict(p) for p in payloads]
    rows = service.metrics.batch_rows
    assert rows._sum.get() / sum(b.get() for b in rows._buckets) > 1.5, (
        "steps should run several rows at once"
    )


def test_stop_strings_and_details(service, llama_generator):
    prompt = (
        "Q: Maya has 12 apples. Maya buys 5 more apples. How many apples does Maya have now?\nA:"
    )
    free = llama_generator.predict(
        {"inputs": prompt, "parameters": {"max_new_tokens": 20, "return_full_text": False}}
    )
    stop = free[0]["generated_text"].strip()[2:4]  # e.g. " +" of "12 + 5 = 17."
    assert stop.strip(), free
    payload = {
        "inputs": prompt,
        "parameters": {"max_new_tokens": 20, "stop": [stop], "details": True},
    }
    reply = run_all(service, [payload])[0]
    answer = json.loads(reply.body)
    assert answer == llama_generator.predict(payload)
    assert answer[0]["details"]["finish_reason"] == "stop_sequence"
