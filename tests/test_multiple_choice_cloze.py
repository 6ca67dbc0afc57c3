"""Multiple choice in the cloze form: a question laid out as its exemplars are (no choices
after exemplars without them), an answer given as a choice's value read as its letter, and
the shipped sample in that form, scored end to end from real generations of the bundled
model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.evaluation import extract_answer
from springboard.evaluation.answers import canonical_answer
from springboard.prompting import Exemplar, few_shot_prompt

ROOT = Path(__file__).resolve().parents[1]
MC = ROOT / "examples" / "self-consistency" / "multiple-choice"
CHOICES = {"A": "39", "B": "29", "C": "40", "D": "17", "E": "37"}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("27 + 1 = 28. 28 + 11 = 39. The answer is 39.", "A"),
        ("The answer is 39.0", "A"),
        ("The answer is (C).", "C"),  # a letter wins
        ("The answer is c) 40", "C"),
        ("27 + 11 = 38. The answer is 38.", None),  # a value that is no choice
        ("27 + 1 = 28.", None),
        ("The answer is 4 = 10.", None),
    ],
)
def test_a_choice_is_read_from_its_letter_or_its_value(text, expected):
    assert extract_answer(text, "choice", choices=CHOICES) == expected


def test_values_compare_as_numbers_or_as_text_without_case_and_punctuation():
    assert extract_answer("The answer is 7", "choice", choices=["5", "7.0"]) == "B"
    assert extract_answer("the answer is blue.", "choice", choices=["Red", "Blue"]) == "B"
    assert extract_answer("the answer is a bus", "choice", choices=["a car", "a bus"]) == "B"
    # two choices with the same value: no single letter
    assert extract_answer("The answer is 3.", "choice", choices=["3", "3.0"]) is None
    # without choices, only a letter counts (as before)
    assert extract_answer("The answer is 39.", "choice") is None


def test_a_gold_value_becomes_its_letter():
    assert canonical_answer("(e)", "choice", choices=CHOICES) == "E"
    assert canonical_answer(40, "choice", choices=CHOICES) == "C"
    assert canonical_answer("41", "choice", choices=CHOICES) == "41"  # no such choice: kept


def test_the_question_is_laid_out_as_its_exemplars_are():
    plain = Exemplar(question="2 + 2?", rationale="2 + 2 = 4.", answer="4")
    lettered = Exemplar(
        question="2 + 2?", rationale="2 + 2 = 4.", answer="B", choices={"A": "3", "B": "4"}
    )
    cloze = few_shot_prompt([plain], "3 + 3?", choices=["5", "6"])
    assert cloze == "Q: 2 + 2?\nA: 2 + 2 = 4. The answer is 4.\n\nQ: 3 + 3?\nA:"
    shown = few_shot_prompt([lettered], "3 + 3?", choices=["5", "6"])
    assert shown.endswith("Q: 3 + 3?\nAnswer Choices: (A) 5 (B) 6\nA:")
    assert few_shot_prompt([], "3 + 3?", choices=["5", "6"]).endswith("(B) 6\nA:")


def test_the_shipped_sample_is_answered_in_the_format_the_model_was_trained_on(llama_generator):
    """The sample's prompts are the arithmetic format, and the bundled model's greedy
    answers to them map to choices: well above chance (0.2), few without a choice."""
    exemplars = [json.loads(line) for line in (MC / "exemplars.jsonl").read_text().splitlines()]
    questions = [json.loads(line) for line in (MC / "questions.jsonl").read_text().splitlines()]
    assert len(questions) == 40 and not any("choices" in e for e in exemplars)
    assert all(len(q["choices"]) == 5 and q["answer"] in q["choices"] for q in questions)
    prompts = [few_shot_prompt(exemplars, q["question"], choices=q["choices"]) for q in questions]
    assert not any("Answer Choices" in p for p in prompts)
    out = llama_generator.predict(
        {"inputs": prompts[:20], "parameters": {"max_new_tokens": 96, "stop": ["\n\n", "\nQ:"]}}
    )
    answers = [
        extract_answer(o["generated_text"], "choice", choices=q["choices"])
        for o, q in zip(out, questions, strict=False)
    ]
    right = sum(a == q["answer"] for a, q in zip(answers, questions, strict=False))
    assert right >= 10, answers  # 14 of 20 measured; chance is 4
    assert sum(a is None for a in answers) <= 8
