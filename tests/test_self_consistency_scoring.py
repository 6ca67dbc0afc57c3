"""Self-consistency building blocks: answer extraction, voting, the accuracy-vs-N curve,
the report round trip and chain-of-thought prompts. No model runs here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.errors import NotFoundError, ValidationError
from springboard.evaluation import accuracy_curve, extract_answer, majority_vote
from springboard.evaluation.answers import canonical_answer, parse_answer_format

ROOT = Path(__file__).resolve().parents[1]


# --- extract_answer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 * 4 = 12. The answer is 12.", "12"),
        ("The answer is $1,234.50.", "1234.5"),
        ("the answer is -3", "-3"),
        ("The answer is 42.0", "42"),
        ("The answer is 42.00.", "42"),
        ("The answer is 2.5.", "2.5"),
        ("The Answer is: **7** apples", "7"),
        ("The answer is 5. Wait, no: the answer is 6.", "6"),  # the last occurrence wins
        ("So 3 + 4 = 7 apples in all.", None),  # no "answer is": unparsable
        ("The answer is twelve.", None),
    ],
)
def test_number_answers(text, expected):
    assert extract_answer(text) == expected
    assert extract_answer(text, "number") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is (B).", "B"),
        ("The answer is B) 15", "B"),
        ("so the answer is b.", "B"),
        ("The answer is (a) and then (c)... no, the answer is E", "E"),
        ("The answer is a bus.", None),  # an article, not a choice
        ("The answer is F.", None),
        ("It must be C.", None),
    ],
)
def test_choice_answers(text, expected):
    assert extract_answer(text, "choice") == expected


def test_regex_answers_use_the_last_match_and_its_first_group():
    text = "Answer: Paris\nHmm.\nAnswer: Lyon"
    assert extract_answer(text, "regex:Answer: (\\w+)") == "Lyon"
    assert extract_answer("12 then 13", r"regex:\d+") == "13"
    assert extract_answer("nothing here", r"regex:\d+") is None


def test_a_bad_regex_names_the_field_the_value_and_the_fix():
    with pytest.raises(ValidationError) as caught:
        extract_answer("x", "regex:(unclosed")
    issue = caught.value.issues[0]
    assert issue.field == "answer_format" and issue.value == "regex:(unclosed" and issue.fix
    assert "answer_format" in str(caught.value)


def test_an_unknown_format_lists_the_valid_ones():
    with pytest.raises(ValidationError) as caught:
        parse_answer_format("numeric")
    assert all(name in str(caught.value) for name in ("number", "choice", "regex:PATTERN"))


def test_gold_answers_take_the_extracted_form():
    assert canonical_answer(26) == "26"
    assert canonical_answer("$1,000.0") == "1000"
    assert canonical_answer("(c)", "choice") == "C"


# --- majority_vote --------------------------------------------------------------------


def test_unparsable_paths_never_win():
    assert majority_vote([None, None, "3"], seed=0) == "3"
    assert majority_vote([None, None, None]) is None
    assert majority_vote([]) is None


def test_the_most_common_answer_wins():
    assert majority_vote(["7", "8", "7", None, None, None]) == "7"


def test_ties_are_broken_by_the_seed():
    tied = ["5", "9", "9", "5"]
    assert majority_vote(tied, seed=3) == majority_vote(tied, seed=3)
    assert {majority_vote(tied, seed=s) for s in range(30)} == {"5", "9"}


# --- accuracy_curve -------------------------------------------------------------------


def _six_right_four_wrong(questions: int = 40) -> tuple[list[list[str]], list[str]]:
    return ([["1"] * 6 + ["2", "3", "4", "5"] for _ in range(questions)], ["1"] * questions)


def test_voting_beats_a_single_path():
    paths, gold = _six_right_four_wrong()
    curve = accuracy_curve(paths, gold, resamples=200, seed=1)
    assert [p.n for p in curve] == list(range(1, 11))
    assert curve[0].mean == pytest.approx(0.6, abs=0.03)
    assert curve[-1].mean == 1.0 and curve[-1].std == 0.0
    assert curve[4].mean > curve[0].mean
    assert all(p.resamples == 200 for p in curve)


def test_the_curve_is_reproducible_and_respects_max_n():
    paths, gold = _six_right_four_wrong(10)
    first = accuracy_curve(paths, gold, max_n=4, resamples=30, seed=7)
    assert first == accuracy_curve(paths, gold, max_n=4, resamples=30, seed=7)
    assert len(first) == 4
    with pytest.raises(ValidationError, match="max_n"):
        accuracy_curve(paths, gold, max_n=11)
    with pytest.raises(ValidationError, match="gold"):
        accuracy_curve(paths, gold[:-1])


def test_answers_compare_without_case_or_spaces():
    curve = accuracy_curve([[" b"], ["C "]], ["B", "c"], resamples=3)
    assert curve[0].mean == 1.0


# --- the report -----------------------------------------------------------------------


def _score(**overrides):
    from springboard.evaluation.self_consistency import score

    questions = [{"id": 1, "answer": 26}, {"id": "2", "answer": "1,000"}]
    greedy = {1: "The answer is 26.", "2": "The answer is 999."}
    sampled = {
        0.7: {
            1: ["The answer is 26."] * 3 + ["The answer is 25.", "I am not sure."],
            2: ["The answer is $1,000."] * 3 + ["The answer is 999."] * 2,
        }
    }
    arguments = {
        "answer_format": "number",
        "resamples": 20,
        "seed": 0,
        "tokens": {"greedy": (100, 40), 0.7: (500, 400)},
        "seconds": {"greedy": 1.5, 0.7: 6.0},
        "price_in": 0.5,
        "price_out": 1.5,
    }
    arguments.update(overrides)
    return score("tiny/model", questions, greedy, sampled, **arguments)


def test_score_write_and_load_round_trip(tmp_path):
    from springboard.evaluation.self_consistency import (
        load_report,
        render_table,
        write_report,
    )

    report = _score()
    assert report.greedy.accuracy == 0.5
    (sampled,) = report.by_temperature
    assert sampled.final_accuracy == 1.0 and sampled.unparsable == pytest.approx(0.1)
    assert [p.n for p in sampled.accuracy_by_n] == [1, 2, 3, 4, 5]
    assert report.cost.greedy == pytest.approx((100 * 0.5 + 40 * 1.5) / 1000)
    assert report.per_question[1].gold == "1000"
    assert report.per_question[0].samples[0].counts == {"26": 3, "25": 1}

    paths = write_report(report, tmp_path / "out")
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(paths["report"].read_text())
    assert {
        "model",
        "questions",
        "answer_format",
        "paths",
        "temperatures",
        "resamples",
        "seed",
        "greedy",
        "by_temperature",
        "cost",
        "per_question",
    } <= data.keys()
    assert data["by_temperature"][0]["accuracy_by_n"][0].keys() == {"n", "mean", "std", "resamples"}
    assert load_report(tmp_path / "out") == report
    assert render_table(report).row_count == 1 + 4 + 1  # greedy, N = 1 2 3 5, all paths


def test_score_reports_every_bad_argument_at_once(tmp_path):
    with pytest.raises(ValidationError) as caught:
        _score(tokens={"greedy": (1, 1)}, price_out=None)
    fields = {issue.field for issue in caught.value.issues}
    assert {"tokens", "price_out"} <= fields
    with pytest.raises(NotFoundError):
        from springboard.evaluation.self_consistency import load_report

        load_report(tmp_path)


# --- chain-of-thought prompts ---------------------------------------------------------


def test_arithmetic_prompt_format():
    from springboard.prompting import few_shot_prompt, load_exemplars

    exemplars = load_exemplars(
        ROOT / "examples" / "self-consistency" / "arithmetic" / "exemplars.jsonl"
    )
    assert len(exemplars) >= 2
    first = exemplars[0]
    prompt = few_shot_prompt(exemplars[:2], "Ada has 3 hens. How many hens?")
    assert prompt.startswith(
        f"Q: {first.question}\nA: {first.rationale} The answer is {first.answer}.\n\nQ: "
    )
    assert prompt.endswith("\n\nQ: Ada has 3 hens. How many hens?\nA:")
    assert prompt.count("The answer is") == 2


def test_multiple_choice_prompt_format():
    from springboard.prompting import Exemplar, few_shot_prompt

    exemplar = Exemplar(
        question="2 + 2?", rationale="2 + 2 = 4.", answer="B", choices={"A": "3", "B": "4"}
    )
    prompt = few_shot_prompt([exemplar], "3 + 3?", choices=["5", "6"])
    assert prompt == (
        "Q: 2 + 2?\nAnswer Choices: (A) 3 (B) 4\nA: 2 + 2 = 4. The answer is B.\n\n"
        "Q: 3 + 3?\nAnswer Choices: (A) 5 (B) 6\nA:"
    )


def test_a_bad_exemplar_line_names_the_file_line_and_field(tmp_path):
    from springboard.prompting import load_exemplars

    path = tmp_path / "exemplars.jsonl"
    path.write_text(
        json.dumps({"question": "q", "rationale": "r", "answer": 1, "note": "x"})
        + "\n"
        + json.dumps({"question": "q", "answer": 2})
        + "\n"
    )
    with pytest.raises(ValidationError) as caught:
        load_exemplars(path)
    assert f"{path}:2" in str(caught.value)
    assert caught.value.issues[0].field == "rationale"
