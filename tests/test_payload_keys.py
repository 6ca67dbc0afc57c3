"""The task -> payload-key rule is stated once (`inference.payloads`) and the places that
build or read payloads agree with it."""

from __future__ import annotations

import pytest

from springboard.catalog import Task
from springboard.inference.payloads import (
    PROMPT_KEYS,
    parse_request,
    payload_for,
    prompt_key,
    task_of_payload,
)


@pytest.mark.parametrize("task", list(Task))
def test_a_payload_built_for_a_task_parses_for_it_and_names_its_task(task):
    payload = payload_for(task, ["a", "b"], {"max_new_tokens": 3, "seed": 1})
    parsed = parse_request(payload, task)
    assert parsed.prompts == ["a", "b"] and parsed.params.max_new_tokens == 3
    assert task_of_payload(payload) is task
    assert prompt_key(task) == prompt_key(task.value) == PROMPT_KEYS[task]


def test_the_two_shapes():
    assert payload_for("text2text", "hi", {"max_length": 5}) == {
        "max_length": 5,
        "text_inputs": "hi",
    }
    assert payload_for("text-generation", "hi") == {"inputs": "hi", "parameters": {}}
    assert task_of_payload({"prompt": "hi"}) is None
    with pytest.raises(ValueError):
        prompt_key("summarization")


def test_templates_generator_and_compare_use_the_rule(t5_generator):
    from springboard.evaluation.compare import PROMPT_FIELDS
    from springboard.prompting import Prompter

    prompter = Prompter.load("summarization", shots=0)
    for task in Task:
        payload, prompt = prompter.request({"article": "x", "max_new_tokens": 2}, task.value)
        assert payload[prompt_key(task)] == prompt
    assert t5_generator.input_field == prompt_key(t5_generator.task)
    assert set(PROMPT_KEYS.values()) <= set(PROMPT_FIELDS)
