"""Inference payloads: request parsing and decoding rules for both tasks, response shapes."""

from __future__ import annotations

import json

import pytest

from springboard.catalog import Catalog
from springboard.catalog.spec import Task
from springboard.errors import ValidationError
from springboard.inference.payloads import (
    GenerationResult,
    ParsedRequest,
    parse_request,
    render_response,
)

T2T, TG = Task.TEXT2TEXT, Task.TEXT_GENERATION


def t2t(**fields: object) -> ParsedRequest:
    return parse_request({"text_inputs": "hello", **fields}, T2T)


def tg(inputs: object = "hello", **parameters: object) -> ParsedRequest:
    return parse_request({"inputs": inputs, "parameters": parameters}, TG)


def issues(payload: object, task: Task, defaults: dict | None = None) -> dict[str | None, str]:
    """field -> its rendered issues (joined) for a request expected to fail."""
    with pytest.raises(ValidationError) as info:
        parse_request(payload, task, defaults)
    found: dict[str | None, str] = {}
    for issue in info.value.issues:
        found[issue.field] = (found.get(issue.field, "") + "\n" + issue.render()).strip()
    return found


def t2t_issues(**fields: object) -> dict[str | None, str]:
    return issues({"text_inputs": "hello", **fields}, T2T)


def tg_issues(**parameters: object) -> dict[str | None, str]:
    return issues({"inputs": "hello", "parameters": parameters}, TG)


# --- shape of the request ---------------------------------------------------------------------


def test_text2text_string_input() -> None:
    request = t2t(max_length=20)
    assert request.prompts == ["hello"] and not request.is_list
    assert request.params.max_length == 20


def test_text_generation_list_input() -> None:
    request = tg(["a", "b"], max_new_tokens=5)
    assert request.prompts == ["a", "b"] and request.is_list
    assert request.params.max_new_tokens == 5


def test_payload_must_be_an_object() -> None:
    assert None in issues(["hello"], T2T)


def test_text2text_unknown_key_lists_allowed_keys() -> None:
    message = t2t_issues(max_tokens=5)["max_tokens"]
    assert "unknown field" in message
    assert "max_length" in message and "max_new_tokens" in message and "text_inputs" in message


def test_text_generation_unknown_top_level_key_lists_allowed() -> None:
    message = issues({"inputs": "x", "max_new_tokens": 5}, TG)["max_new_tokens"]
    assert "inputs" in message and "parameters" in message


def test_text_generation_unknown_parameter_lists_allowed() -> None:
    message = tg_issues(max_tokens=5)["parameters.max_tokens"]
    assert "max_new_tokens" in message and "return_full_text" in message and "details" in message


def test_text2text_given_inputs_hints_text_inputs() -> None:
    found = issues({"inputs": "hello"}, T2T)
    assert "text_inputs" in found["inputs"]


def test_text_generation_given_text_inputs_hints_inputs() -> None:
    found = issues({"text_inputs": "hello"}, TG)
    assert "`inputs`" in found["text_inputs"]


def test_missing_inputs_is_required() -> None:
    assert "required" in issues({"parameters": {}}, TG)["inputs"]


def test_empty_list_input_refused() -> None:
    assert "empty" in issues({"text_inputs": []}, T2T)["text_inputs"]
    assert "empty" in issues({"inputs": []}, TG)["inputs"]


def test_wrong_type_refused_naming_field() -> None:
    assert "max_length" in t2t_issues(max_length="long")


# --- decoding rules -------------------------------------------------------------------------


@pytest.mark.parametrize("top_p", [1.5, 0, -0.1])
def test_top_p_outside_unit_interval_refused(top_p: float) -> None:
    assert "(0, 1]" in t2t_issues(top_p=top_p)["top_p"]


def test_top_p_one_accepted() -> None:
    assert t2t(top_p=1.0).params.top_p == 1.0


def test_top_k_negative_refused() -> None:
    assert "top_k" in t2t_issues(top_k=-1)


def test_temperature_negative_refused() -> None:
    assert "temperature" in t2t_issues(temperature=-1)


@pytest.mark.parametrize("bad", ["NaN", "Infinity"])
def test_non_finite_numbers_refused(bad: str) -> None:
    payload = json.loads(
        f'{{"text_inputs": "x", "temperature": {bad}, "repetition_penalty": {bad}}}'
    )
    assert {"temperature", "repetition_penalty"} <= set(issues(payload, T2T))


def test_temperature_zero_is_greedy_even_with_do_sample() -> None:
    params = t2t(temperature=0, do_sample=True).params
    assert params.do_sample is False


def test_sampling_fields_turn_sampling_on() -> None:
    assert t2t(temperature=0.7).params.do_sample
    assert t2t(top_p=0.9).params.do_sample
    assert t2t(top_k=5).params.do_sample
    assert not t2t(top_k=0).params.do_sample
    assert not t2t().params.do_sample


def test_explicit_do_sample_false_wins_over_sampling_fields() -> None:
    assert not t2t(temperature=0.7, do_sample=False).params.do_sample


def test_fewer_beams_than_sequences_names_num_beams() -> None:
    found = t2t_issues(num_beams=2, num_return_sequences=3)
    assert set(found) == {"num_beams"}
    assert "num_return_sequences" in found["num_beams"]


def test_only_num_return_sequences_sets_beams_for_greedy() -> None:
    params = t2t(num_return_sequences=3).params
    assert params.num_beams == 3 and not params.do_sample


def test_num_return_sequences_with_sampling_keeps_one_beam() -> None:
    params = t2t(num_return_sequences=3, do_sample=True).params
    assert params.num_beams == 1 and params.do_sample


def test_sampling_with_beams_refused() -> None:
    assert "sampling" in t2t_issues(do_sample=True, num_beams=2)["num_beams"]


def test_no_repeat_ngram_size_one_refused() -> None:
    assert "no_repeat_ngram_size" in t2t_issues(no_repeat_ngram_size=1)
    assert t2t(no_repeat_ngram_size=2).params.no_repeat_ngram_size == 2


@pytest.mark.parametrize(
    "field", ["max_length", "max_new_tokens", "num_return_sequences", "num_beams", "batch_size"]
)
def test_non_positive_counts_refused(field: str) -> None:
    assert "positive" in t2t_issues(**{field: 0})[field]


def test_repetition_penalty_must_be_positive() -> None:
    assert "repetition_penalty" in t2t_issues(repetition_penalty=0)


def test_stop_must_be_a_list_not_a_bare_string() -> None:
    assert "stop" in t2t_issues(stop="END")


def test_stop_refuses_empty_string() -> None:
    assert "non-empty" in t2t_issues(stop=["END", ""])["stop"]


def test_stop_list_of_strings_accepted() -> None:
    assert t2t(stop=["END", "\n"]).params.stop == ("END", "\n")


def test_several_bad_fields_reported_at_once() -> None:
    found = t2t_issues(top_p=1.5, top_k=-1, temperature=-1, max_length=0, bogus=1)
    # Unknown keys are type errors and stop before the rule checks; check rules separately.
    assert "bogus" in found
    found = t2t_issues(top_p=1.5, top_k=-1, temperature=-1, max_length=0, stop=[""])
    assert set(found) == {"top_p", "top_k", "temperature", "max_length", "stop"}


def test_several_bad_fields_in_one_error_message() -> None:
    with pytest.raises(ValidationError) as info:
        t2t(top_p=0, top_k=-1)
    assert "2 problems" in str(info.value)


def test_text_generation_field_paths_are_prefixed_with_parameters() -> None:
    with pytest.raises(ValidationError) as info:
        tg(top_p=1.5)
    assert info.value.field == "parameters.top_p"
    assert set(tg_issues(top_p=1.5, top_k=-1)) == {"parameters.top_p", "parameters.top_k"}


def test_text_generation_type_error_path_is_prefixed() -> None:
    assert "parameters.top_p" in tg_issues(top_p="high")


def test_text_generation_extras_are_parsed() -> None:
    request = tg(return_full_text=True, details=True)
    assert request.return_full_text and request.details


# --- catalog defaults -----------------------------------------------------------------------


def chat_defaults() -> dict:
    return dict(Catalog.load().get("meta-textgeneration-llama-2-7b-f").default_inference_parameters)


def test_defaults_fill_gaps() -> None:
    defaults = chat_defaults()
    request = parse_request({"inputs": "hi"}, TG, defaults)
    assert request.params.max_new_tokens == defaults["max_new_tokens"]
    assert request.params.temperature == pytest.approx(defaults["temperature"])
    assert request.params.top_p == pytest.approx(defaults["top_p"])
    assert request.params.do_sample


def test_request_values_override_defaults() -> None:
    request = parse_request(
        {"inputs": "hi", "parameters": {"max_new_tokens": 7, "top_p": 0.5}}, TG, chat_defaults()
    )
    assert request.params.max_new_tokens == 7
    assert request.params.top_p == pytest.approx(0.5)


def test_do_sample_false_does_not_inherit_sampling_defaults() -> None:
    request = parse_request(
        {"inputs": "hi", "parameters": {"do_sample": False}}, TG, chat_defaults()
    )
    params = request.params
    assert not params.do_sample
    assert params.temperature == 1.0 and params.top_p == 1.0
    assert params.max_new_tokens == chat_defaults()["max_new_tokens"]


def test_temperature_zero_does_not_inherit_top_p_default() -> None:
    request = parse_request({"inputs": "hi", "parameters": {"temperature": 0}}, TG, chat_defaults())
    assert not request.params.do_sample and request.params.top_p == 1.0


def test_given_max_new_tokens_replaces_default_max_length() -> None:
    request = parse_request({"text_inputs": "hi", "max_new_tokens": 5}, T2T, {"max_length": 50})
    assert request.params.max_new_tokens == 5 and request.params.max_length is None


def test_defaults_are_not_mutated() -> None:
    defaults = chat_defaults()
    before = dict(defaults)
    parse_request(
        {"inputs": "hi", "parameters": {"do_sample": False, "max_length": 9}}, TG, defaults
    )
    assert defaults == before


# --- responses ------------------------------------------------------------------------------


def result(*texts: str, seed: int | None = None) -> GenerationResult:
    return GenerationResult(
        texts=list(texts),
        input_tokens=4,
        output_tokens=[len(t) for t in texts],
        finish_reasons=["length"] * len(texts),
        seed=seed,
    )


def test_text2text_single_response() -> None:
    assert render_response(t2t(), [result("hallo")]) == {"generated_texts": ["hallo"]}


def test_text2text_list_response_one_text_per_input() -> None:
    request = parse_request({"text_inputs": ["a", "b"]}, T2T)
    body = render_response(request, [result("A"), result("B")])
    assert body == {"generated_texts": ["A", "B"]}


def test_text2text_list_with_several_sequences() -> None:
    request = parse_request({"text_inputs": ["a", "b"], "num_return_sequences": 2}, T2T)
    body = render_response(request, [result("A1", "A2"), result("B1", "B2")])
    assert body == {"generated_texts": [["A1", "A2"], ["B1", "B2"]]}


def test_text2text_single_with_several_sequences() -> None:
    request = t2t(num_return_sequences=2)
    assert render_response(request, [result("x", "y")]) == {"generated_texts": ["x", "y"]}


def test_text_generation_single_response() -> None:
    assert render_response(tg(), [result(" world")]) == [{"generated_text": " world"}]


def test_text_generation_list_response_one_entry_per_input() -> None:
    body = render_response(tg(["a", "b"]), [result("A"), result("B")])
    assert body == [{"generated_text": "A"}, {"generated_text": "B"}]


def test_text_generation_list_with_several_sequences() -> None:
    request = tg(["a", "b"], num_return_sequences=2)
    body = render_response(request, [result("A1", "A2"), result("B1", "B2")])
    assert body == [
        [{"generated_text": "A1"}, {"generated_text": "A2"}],
        [{"generated_text": "B1"}, {"generated_text": "B2"}],
    ]


def test_text_generation_return_full_text_prepends_prompt() -> None:
    request = tg(["Once", "Twice"], return_full_text=True)
    body = render_response(request, [result(" upon"), result(" more")])
    assert body == [{"generated_text": "Once upon"}, {"generated_text": "Twice more"}]


def test_text_generation_details() -> None:
    request = tg(details=True, do_sample=True, seed=7)
    body = render_response(request, [result("abc", seed=7)])
    assert body == [
        {
            "generated_text": "abc",
            "details": {
                "finish_reason": "length",
                "generated_tokens": 3,
                "prompt_tokens": 4,
                "seed": 7,
            },
        }
    ]


def test_text_generation_without_details_has_no_details_key() -> None:
    assert "details" not in render_response(tg(), [result("abc")])[0]
