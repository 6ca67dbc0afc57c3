"""The Generator on the bundled models: real forward passes, batching, seeds, limits."""

from __future__ import annotations

import pytest

from springboard.errors import ContextLengthError, ValidationError
from springboard.inference import DecodingParams


def test_text2text_single_and_list_shapes(t5_generator):
    single = t5_generator.predict({"text_inputs": "hello", "max_length": 5})
    assert list(single) == ["generated_texts"] and len(single["generated_texts"]) == 1
    listed = t5_generator.predict(
        {"text_inputs": ["a", "b c", "d e f"], "max_length": 5, "batch_size": 2}
    )
    assert len(listed["generated_texts"]) == 3
    assert all(isinstance(t, str) for t in listed["generated_texts"])


def test_list_answers_equal_single_answers_greedy(t5_generator):
    prompts = ["summarize: the cat sat", "a much longer prompt with many more words in it", "x"]
    batched = t5_generator.predict({"text_inputs": prompts, "max_length": 8})["generated_texts"]
    alone = [
        t5_generator.predict({"text_inputs": p, "max_length": 8})["generated_texts"][0]
        for p in prompts
    ]
    assert batched == alone


def test_seeded_sampling_is_reproducible_alone_or_batched(llama_generator):
    params = {"max_new_tokens": 12, "do_sample": True, "seed": 7, "temperature": 0.9}
    alone = llama_generator.predict({"inputs": "Once", "parameters": params})
    again = llama_generator.predict({"inputs": "Once", "parameters": params})
    batched = llama_generator.predict(
        {"inputs": ["a long and different prompt first", "Once", "z"], "parameters": params}
    )
    assert alone == again
    assert batched[1] == alone[0]


def test_different_seeds_differ(llama_generator):
    outs = {
        llama_generator.predict(
            {"inputs": "Once", "parameters": {"max_new_tokens": 12, "do_sample": True, "seed": s}}
        )[0]["generated_text"]
        for s in range(4)
    }
    assert len(outs) > 1


def test_mixed_settings_share_a_call_but_keep_their_own_results(llama_generator):
    greedy = DecodingParams(max_new_tokens=6)
    sampled = DecodingParams(max_new_tokens=10, do_sample=True, seed=3, temperature=0.8)
    mixed = llama_generator.generate(["Once", "Once"], [greedy, sampled])
    assert mixed[0].texts == llama_generator.generate(["Once"], greedy)[0].texts
    assert mixed[1].texts == llama_generator.generate(["Once"], sampled)[0].texts
    assert mixed[0].output_tokens[0] <= 6 and mixed[1].output_tokens[0] <= 10


def test_num_return_sequences_with_sampling_and_beams(t5_generator):
    sampled = t5_generator.predict(
        {
            "text_inputs": ["a", "b"],
            "max_length": 6,
            "do_sample": True,
            "seed": 1,
            "num_return_sequences": 3,
        }
    )["generated_texts"]
    assert [len(x) for x in sampled] == [3, 3]
    beams = t5_generator.predict({"text_inputs": "hi", "num_return_sequences": 3, "max_length": 6})
    assert len(beams["generated_texts"]) == 3


def test_token_counts_and_finish_reasons(llama_generator):
    result = llama_generator.generate(["Once upon"], DecodingParams(max_new_tokens=5))[0]
    assert result.input_tokens == llama_generator.count_tokens(["Once upon"])[0]
    assert result.output_tokens[0] <= 5
    assert result.finish_reasons[0] in ("length", "eos_token")


def test_stop_sequences_cut_the_text(llama_generator):
    free = llama_generator.generate(["Once"], DecodingParams(max_new_tokens=20))[0].texts[0]
    stop = free.strip()[1:3] or free[:2]
    cut = llama_generator.generate(["Once"], DecodingParams(max_new_tokens=20, stop=(stop,)))[0]
    assert stop not in cut.texts[0]
    assert cut.finish_reasons[0] == "stop_sequence"
    assert free.startswith(cut.texts[0])


def test_max_length_counts_the_prompt_for_causal_models(llama_generator):
    n = llama_generator.count_tokens(["one two three"])[0]
    out = llama_generator.predict(
        {"inputs": "one two three", "parameters": {"max_length": n + 3, "details": True}}
    )
    assert out[0]["details"]["generated_tokens"] <= 3
    with pytest.raises(ValidationError) as err:
        llama_generator.predict({"inputs": "one two three", "parameters": {"max_length": n}})
    assert err.value.field == "max_length"


def test_context_overflow_states_both_numbers(llama_generator):
    prompt = "word " * 600
    with pytest.raises(ContextLengthError) as err:
        llama_generator.predict({"inputs": prompt, "parameters": {"max_new_tokens": 10}})
    message = str(err.value)
    assert str(llama_generator.context_length) in message
    assert str(llama_generator.count_tokens([prompt])[0]) in message


def test_return_full_text_and_details(llama_generator):
    out = llama_generator.predict(
        {
            "inputs": "Once",
            "parameters": {
                "max_new_tokens": 4,
                "return_full_text": True,
                "details": True,
                "do_sample": True,
                "seed": 5,
            },
        }
    )
    assert out[0]["generated_text"].startswith("Once")
    assert out[0]["details"]["seed"] == 5
    assert out[0]["details"]["prompt_tokens"] >= 1
