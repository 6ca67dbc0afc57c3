"""Training data formats: templates, instruction/chat/domain records, splits, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.errors import ValidationError
from springboard.training.data import Example, load_domain_text, load_instruction, split


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_template_names_record_fields(tmp_path):
    jsonl(tmp_path / "train.jsonl", [{"context": "The bridge closed.", "question": "What closed?"}])
    (tmp_path / "template.json").write_text(
        json.dumps({"prompt": "Ask about: {context}", "completion": "{question}"})
    )
    assert load_instruction(tmp_path) == [Example("Ask about: The bridge closed.", "What closed?")]


def test_template_beside_a_file_channel_and_shared_with_validation(tmp_path):
    train = jsonl(
        tmp_path / "train.jsonl", [{"context": "The bridge closed.", "question": "What closed?"}]
    )
    (tmp_path / "template.json").write_text(
        json.dumps({"prompt": "Ask about: {context}", "completion": "{question}"})
    )
    assert load_instruction(train)[0].prompt == "Ask about: The bridge closed."
    elsewhere = tmp_path / "val"
    elsewhere.mkdir()
    val = jsonl(elsewhere / "val.jsonl", [{"context": "Rain fell.", "question": "What fell?"}])
    assert load_instruction(val, template_from=train) == [
        Example("Ask about: Rain fell.", "What fell?")
    ]


def test_missing_template_field_names_it_and_the_line(tmp_path):
    jsonl(tmp_path / "train.jsonl", [{"context": "a", "question": "b"}, {"context": "c"}])
    (tmp_path / "template.json").write_text(
        json.dumps({"prompt": "{context}", "completion": "{question}"})
    )
    with pytest.raises(ValidationError) as err:
        load_instruction(tmp_path)
    assert err.value.field == "question" and "train.jsonl:2" in str(err.value)


def test_bad_template_reports_every_problem(tmp_path):
    jsonl(tmp_path / "train.jsonl", [{"a": 1}])
    (tmp_path / "template.json").write_text(json.dumps({"prompt": "{a}", "completon": "x"}))
    with pytest.raises(ValidationError) as err:
        load_instruction(tmp_path)
    assert {i.field for i in err.value.issues} == {
        "template.json:completion",
        "template.json:completon",
    }


def test_default_fields_and_alpaca_for_causal(tmp_path):
    jsonl(tmp_path / "a.jsonl", [{"prompt": "p", "completion": "c"}, {"input": "i", "output": "o"}])
    assert load_instruction(tmp_path / "a.jsonl") == [Example("p", "c"), Example("i", "o")]
    jsonl(tmp_path / "b.jsonl", [{"instruction": "Add 2 and 3.", "context": "", "response": "5"}])
    (example,) = load_instruction(tmp_path / "b.jsonl", causal=True)
    assert "### Instruction:\nAdd 2 and 3." in example.prompt and example.completion == "5"
    assert "### Input" not in example.prompt
    jsonl(tmp_path / "c.jsonl", [{"text": "no pair here"}])
    with pytest.raises(ValidationError, match="prompt/completion"):
        load_instruction(tmp_path / "c.jsonl")


def test_chat_records(tmp_path):
    jsonl(
        tmp_path / "chat.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                ]
            }
        ],
    )
    (example,) = load_instruction(tmp_path / "chat.jsonl", chat_dataset=True)
    assert example.completion == "hello" and example.prompt.endswith("<|assistant|>\n")
    jsonl(tmp_path / "bad.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    with pytest.raises(ValidationError, match="assistant"):
        load_instruction(tmp_path / "bad.jsonl", chat_dataset=True)


def test_domain_adaptation_needs_exactly_one_file(tmp_path):
    (tmp_path / "one.txt").write_text("some domain text")
    assert load_domain_text(tmp_path) == ["some domain text"]
    (tmp_path / "two.txt").write_text("more")
    with pytest.raises(ValidationError) as err:
        load_domain_text(tmp_path)
    assert "exactly one file" in str(err.value) and "one.txt" in str(err.value)
    lines = jsonl(tmp_path / "x.jsonl", [{"text": "a"}, {"body": "b"}])
    with pytest.raises(ValidationError) as err:
        load_domain_text(lines)
    assert err.value.field == "text" and "x.jsonl:2" in str(err.value)


def test_missing_channel_and_empty_directory(tmp_path):
    with pytest.raises(ValidationError, match="`train`"):
        load_instruction(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no data files"):
        load_instruction(tmp_path / "empty")


def test_split_is_seeded_and_keeps_both_sides():
    items = list(range(20))
    train, val = split(items, 0.2, seed=0)
    assert len(val) == 4 and sorted(train + val) == items
    assert split(items, 0.2, seed=0) == (train, val)
    assert split(items, 0.2, seed=1) != (train, val)
    small_train, small_val = split([1, 2], 0.05, seed=0)
    assert len(small_train) == 1 and len(small_val) == 1
    assert split([1], 0.5, seed=0) == ([1], [])
