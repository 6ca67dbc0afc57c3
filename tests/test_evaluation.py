"""Evaluation: ROUGE equals rouge-score computed directly, exact match normalises as
documented, the join reports what did not match, and every bad input is a clear error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from springboard.errors import ClientError, ValidationError
from springboard.evaluation import (
    accuracy,
    exact_match,
    normalize_answer,
    read_jsonl,
    rouge,
    rouge_scores,
)
from tests.conftest import VENV_BIN, cli_env

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

PAIRS = [  # (id, prediction, reference)
    ("a", "The cat sat on the mat.", "A cat was sitting on the mat."),
    (
        "b",
        "They were released on bail.\nPolice arrested two men.",  # sentences swapped
        "Police arrested two men.\nBoth were later released on bail.",
    ),
    ("c", "running runners ran", "the runner runs"),
    ("d", "completely unrelated words", "nothing in common here"),
    ("e", "", "an empty prediction scores zero"),
]


def write(path: Path, rows: list[dict] | list[str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def direct(pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Mean scores the way a user would compute them with rouge-score alone."""
    scorer = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    raw = [scorer.score(ref, pred) for pred, ref in pairs]
    return {
        t: {
            "precision": sum(s[t].precision for s in raw) / len(raw),
            "recall": sum(s[t].recall for s in raw) / len(raw),
            "fmeasure": sum(s[t].fmeasure for s in raw) / len(raw),
        }
        for t in TYPES
    }


def assert_scores_equal(report, expected: dict[str, dict[str, float]]) -> None:
    for t in TYPES:
        got = getattr(report, t).model_dump()
        assert got == pytest.approx(expected[t], abs=1e-12), t


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    preds = write(tmp_path / "preds.out", [{"id": i, "generated_texts": [p]} for i, p, _ in PAIRS])
    refs = write(tmp_path / "refs.jsonl", [{"id": i, "reference": r} for i, _, r in PAIRS])
    return preds, refs


# --- ROUGE -------------------------------------------------------------------------------


def test_rouge_equals_rouge_score_on_the_same_pairs(files, tmp_path):
    per_record = tmp_path / "out" / "per_record.jsonl"
    report = rouge(*files, per_record=per_record)
    assert report.count == len(PAIRS)
    assert_scores_equal(report, direct([(p, r) for _, p, r in PAIRS]))
    # the multi-line pair makes rougeLsum differ from rougeL, so the newline split is live
    assert report.rougeLsum.fmeasure != report.rougeL.fmeasure

    scorer = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    rows = [json.loads(line) for line in per_record.read_text().splitlines()]
    assert [r["id"] for r in rows] == [i for i, _, _ in PAIRS]
    for row, (_, pred, ref) in zip(rows, PAIRS, strict=True):
        expected = scorer.score(ref, pred)
        assert row["prediction"] == pred and row["reference"] == ref
        for t in TYPES:
            assert row[t] == {
                "precision": expected[t].precision,
                "recall": expected[t].recall,
                "fmeasure": expected[t].fmeasure,
            }


def test_rouge_scores_without_files_and_list_references():
    scorer = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    single, multi = rouge_scores(
        [
            ("the quick brown fox", "a quick brown dog"),
            ("the quick brown fox", ["something else", "the quick brown fox jumps"]),
        ]
    )
    expected = scorer.score("a quick brown dog", "the quick brown fox")
    assert single.rouge2.fmeasure == expected["rouge2"].fmeasure
    best = scorer.score_multi(
        ["something else", "the quick brown fox jumps"], "the quick brown fox"
    )
    assert multi.rouge1.model_dump() == best["rouge1"]._asdict()
    assert multi.rouge1.recall == pytest.approx(0.8)


def test_rouge_json_shape_and_model_dump(files):
    data = rouge(*files).model_dump()
    assert list(data) == [
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
        "count",
        "missing_predictions",
        "missing_references",
        "errored",
        "errored_ids",
    ]
    assert set(data["rouge1"]) == {"precision", "recall", "fmeasure"}


# --- joining -----------------------------------------------------------------------------


def test_missing_ids_on_both_sides_are_reported_in_file_order(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [
            {"id": "x", "generated_texts": ["spare"]},
            {"id": 1, "generated_texts": ["one two"]},
            {"id": "y", "generated_texts": ["spare"]},
        ],
    )
    refs = write(
        tmp_path / "r.jsonl",
        [
            {"id": 3, "reference": "three"},
            {"id": 1, "reference": "one two three"},
            {"id": 2, "reference": "two"},
        ],
    )
    report = rouge(preds, refs)
    assert report.count == 1
    assert report.missing_predictions == [3, 2]
    assert report.missing_references == ["x", "y"]
    assert report.errored == 0 and report.errored_ids == []
    assert_scores_equal(report, direct([("one two", "one two three")]))


def test_errored_lines_are_counted_and_not_scored(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [
            {"id": 1, "generated_texts": ["the answer is four"]},
            {"id": 2, "error": {"code": "context_length_exceeded", "message": "too long"}},
            {"id": 3, "error": {"code": "generation_failed", "message": "boom"}},
            {"id": 4, "generated_texts": ["another answer"]},
        ],
    )
    refs = write(
        tmp_path / "r.jsonl", [{"id": i, "reference": "the answer is four"} for i in (1, 2, 3, 4)]
    )
    report = rouge(preds, refs)
    assert (report.count, report.errored, report.errored_ids) == (2, 2, [2, 3])
    assert report.missing_predictions == [] and report.missing_references == []
    assert_scores_equal(
        report,
        direct(
            [("the answer is four", "the answer is four"), ("another answer", "the answer is four")]
        ),
    )


def test_list_predictions_use_the_first_element_even_when_nested(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [
            {"id": 1, "generated_texts": "plain string"},
            {"id": 2, "generated_texts": ["first", "second"]},
            {"id": 3, "generated_texts": [["beam one", "beam two"], ["other input"]]},
        ],
    )
    refs = write(
        tmp_path / "r.jsonl",
        [{"id": i, "answer": a} for i, a in ((1, "plain string"), (2, "first"), (3, "beam one"))],
    )
    per_record = tmp_path / "per.jsonl"
    report = accuracy(preds, refs, per_record=per_record)
    assert (report.correct, report.count, report.accuracy) == (3, 3, 1.0)
    assert [json.loads(x)["prediction"] for x in per_record.read_text().splitlines()] == [
        "plain string",
        "first",
        "beam one",
    ]


def test_int_and_string_ids_are_the_same_key(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [{"id": 1, "generated_texts": "yes"}, {"id": "2", "generated_texts": "no"}],
    )
    refs = write(tmp_path / "r.jsonl", [{"id": "1", "answer": "yes"}, {"id": 2, "answer": "no"}])
    report = accuracy(preds, refs)
    assert (report.count, report.correct) == (2, 2)
    assert report.missing_predictions == [] and report.missing_references == []


def test_custom_field_names(tmp_path):
    preds = write(tmp_path / "p.out", [{"qid": "q1", "text": "Paris"}])
    refs = write(tmp_path / "r.jsonl", [{"qid": "q1", "gold": ["paris", "Paris, France"]}])
    report = accuracy(preds, refs, id_field="qid", prediction_field="text", reference_field="gold")
    assert report.accuracy == 1.0


def test_read_jsonl_streams_records_with_line_numbers(tmp_path):
    path = write(tmp_path / "x.jsonl", [{"a": 1}, "", {"a": 2}])
    assert list(read_jsonl(path)) == [(1, {"a": 1}), (3, {"a": 2})]
    write(path, [{"a": 1}, "oops"])
    with pytest.raises(ValidationError, match="line 2 of"):
        list(read_jsonl(path, option="input"))


# --- exact match -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prediction,reference",
    [
        ("Paris", "paris"),
        ("  Paris.  ", "Paris"),
        ("The Eiffel Tower", "eiffel tower"),
        ("an apple", "Apple!"),
        ("New   York,\tNY", "new york ny"),
        ("“Hamlet”", "hamlet"),
        ("(a) the answer", "answer"),
        ("3.14", "3.14."),
    ],
)
def test_normalised_answers_match(prediction, reference):
    assert exact_match(prediction, reference)


@pytest.mark.parametrize(
    "prediction,reference",
    [
        ("Paris", "London"),
        ("3.14", "314"),  # punctuation inside a word is kept
        ("theatre", "atre"),  # articles are whole words only
        ("not paris", "paris"),
        ("", "something"),
    ],
)
def test_different_answers_do_not_match(prediction, reference):
    assert not exact_match(prediction, reference)


def test_normalize_answer_spelled_out():
    assert (
        normalize_answer("  The  QUICK, brown fox; jumps over A lazy dog!  ")
        == "quick brown fox jumps over lazy dog"
    )
    assert normalize_answer("the a an") == ""


def test_exact_match_list_reference_and_no_normalize():
    assert exact_match("the Dog", ["cat", "dog"])
    assert not exact_match("bird", ["cat", "dog"])
    assert not exact_match("Dog", "dog", normalize=False)
    assert not exact_match(" dog", "dog", normalize=False)
    assert exact_match("dog", ["cat", "dog"], normalize=False)


def test_accuracy_report_and_per_record(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [
            {"id": 1, "generated_texts": ["The Nile."]},
            {"id": 2, "generated_texts": ["amazon"]},
            {"id": 3, "generated_texts": ["Mississippi"]},
            {"id": 4, "error": {"message": "failed"}},
            {"id": 5, "generated_texts": ["extra"]},
        ],
    )
    refs = write(
        tmp_path / "r.jsonl",
        [
            {"id": 1, "answer": "nile"},
            {"id": 2, "answer": ["Amazon River", "the Amazon"]},
            {"id": 3, "answer": "Yangtze"},
            {"id": 4, "answer": "x"},
            {"id": 6, "answer": "y"},
            {"id": 7, "answer": 42},
        ],
    )
    per_record = tmp_path / "per.jsonl"
    report = accuracy(preds, refs, per_record=per_record)
    assert report.model_dump() == {
        "accuracy": 2 / 3,
        "correct": 2,
        "normalized": True,
        "count": 3,
        "missing_predictions": [6, 7],
        "missing_references": [5],
        "errored": 1,
        "errored_ids": [4],
    }
    rows = [json.loads(x) for x in per_record.read_text().splitlines()]
    assert [(r["id"], r["correct"]) for r in rows] == [(1, True), (2, True), (3, False)]
    assert rows[1]["reference"] == ["Amazon River", "the Amazon"]
    strict = accuracy(preds, refs, normalize=False)
    assert (strict.correct, strict.normalized) == (0, False)


def test_extract_hook_picks_the_answer_and_none_counts_as_wrong(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [
            {"id": 1, "generated_texts": "so the answer is 42"},
            {"id": 2, "generated_texts": "I do not know"},
        ],
    )
    refs = write(tmp_path / "r.jsonl", [{"id": 1, "answer": 42}, {"id": 2, "answer": "7"}])

    def last_number(text: str) -> str | None:
        numbers = [w for w in text.split() if w.isdigit()]
        return numbers[-1] if numbers else None

    assert accuracy(preds, refs).correct == 0
    report = accuracy(preds, refs, extract=last_number)
    assert (report.correct, report.count) == (1, 2)


# --- errors ------------------------------------------------------------------------------


def test_missing_files_name_the_parameter_and_path(tmp_path):
    with pytest.raises(ValidationError) as exc:
        rouge(tmp_path / "nope.out", tmp_path / "nada.jsonl")
    fields = [i.field for i in exc.value.issues]
    assert fields == ["predictions", "references"]  # the library's names; the CLI's flags
    assert "--" not in str(exc.value)
    assert "nope.out" in str(exc.value) and "nada.jsonl" in str(exc.value)


def test_a_line_that_is_not_json_names_the_file_and_line(tmp_path, files):
    preds, _ = files
    bad = write(tmp_path / "bad.jsonl", [{"id": "a", "reference": "x"}, "{not json", "[1, 2]"])
    with pytest.raises(ValidationError) as exc:
        rouge(preds, bad)
    text = str(exc.value)
    assert f"is not valid JSON on line 2 of {bad}" in text
    assert f"is not a JSON object on line 3 of {bad}" in text
    assert {i.field for i in exc.value.issues} == {"references"}


def test_missing_id_field_lists_the_fields_the_record_has(tmp_path, files):
    _, refs = files
    preds = write(
        tmp_path / "p.out",
        [{"id": "a", "generated_texts": "x"}, {"qid": "b", "generated_texts": "y"}],
    )
    with pytest.raises(ValidationError) as exc:
        rouge(preds, refs)
    (issue,) = exc.value.issues
    assert issue.field == "id"
    assert f"is missing on line 2 of {preds}" in issue.message
    assert "generated_texts, qid" in issue.message
    assert "`id_field`" in issue.fix


def test_missing_reference_field_is_one_grouped_error(tmp_path, files):
    preds, _ = files
    refs = write(tmp_path / "r.jsonl", [{"id": i, "summary": "x"} for i in range(12)])
    with pytest.raises(ValidationError) as exc:
        rouge(preds, refs)
    (issue,) = exc.value.issues
    assert issue.field == "reference"
    assert f"is missing on lines 1, 2, 3, 4, 5 and 7 more of {refs}" in issue.message
    assert "has fields: id, summary" in issue.message and "`reference_field`" in issue.fix


def test_every_problem_in_both_files_is_reported_at_once(tmp_path):
    preds = write(
        tmp_path / "p.out",
        [
            {"id": 1, "generated_texts": "ok"},
            {"id": 1, "generated_texts": "again"},
            {"id": 2},
            {"id": 3, "generated_texts": []},
            {"id": 4, "generated_texts": {"a": 1}},
            {"id": 1.5, "generated_texts": "x"},
            {"id": None, "generated_texts": "x"},
        ],
    )
    refs = write(
        tmp_path / "r.jsonl", [{"id": 1, "reference": None}, {"id": 2}, {"id": 3, "reference": []}]
    )
    with pytest.raises(ValidationError) as exc:
        rouge(preds, refs)
    messages = [(i.field, i.message.split(" on ")[0]) for i in exc.value.issues]
    assert messages == [
        ("id", "is repeated"),
        ("generated_texts", "is missing (and there is no `error` object)"),
        ("generated_texts", "is an empty list"),
        ("generated_texts", "is not a string or a list whose first element is a string"),
        ("id", "is not a string or an integer"),
        ("reference", "is not a string or a non-empty list of strings"),
        ("reference", "is missing"),
    ]
    assert (
        f"is not a string or an integer on lines 6, 7 of {preds}; line 6 holds 1.5"
        in exc.value.issues[4].message
    )


def test_no_matching_ids_is_a_client_error_with_samples(tmp_path):
    preds = write(tmp_path / "p.out", [{"id": f"q{i}", "generated_texts": "x"} for i in range(8)])
    refs = write(tmp_path / "r.jsonl", [{"id": i, "reference": "x"} for i in range(3)])
    with pytest.raises(ClientError) as exc:
        rouge(preds, refs)
    assert not isinstance(exc.value, ValidationError)
    text = str(exc.value)
    assert "no ids matched" in text
    assert "'q0', 'q1', 'q2', 'q3', 'q4' and 3 more" in text and "0, 1, 2" in text


def test_only_errored_matches_is_a_client_error(tmp_path):
    preds = write(tmp_path / "p.out", [{"id": 1, "error": {"message": "boom"}}])
    refs = write(tmp_path / "r.jsonl", [{"id": 1, "reference": "x"}])
    with pytest.raises(ClientError, match="carries an `error`"):
        rouge(preds, refs)


def test_empty_reference_file_says_so(tmp_path, files):
    preds, _ = files
    refs = write(tmp_path / "r.jsonl", [""])
    with pytest.raises(ClientError, match="references have no records"):
        rouge(preds, refs)


# --- command line ------------------------------------------------------------------------


def sb(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "springboard"), "evaluate", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_cli_rouge_json_equals_the_sdk_and_writes_per_record(isolated_env, files, tmp_path):
    per_record = tmp_path / "per.jsonl"
    result = sb(
        isolated_env,
        "rouge",
        "--predictions",
        str(files[0]),
        "--references",
        str(files[1]),
        "--per-record",
        str(per_record),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == rouge(*files).model_dump()
    assert len(per_record.read_text().splitlines()) == len(PAIRS)

    table = sb(isolated_env, "rouge", "--predictions", str(files[0]), "--references", str(files[1]))
    assert table.returncode == 0, table.stderr
    assert "rougeLsum" in table.stdout and "missing predictions" in table.stdout


@pytest.mark.integration
def test_cli_accuracy_and_its_errors(isolated_env, tmp_path):
    preds = write(
        tmp_path / "p.out",
        [{"id": 1, "generated_texts": ["The Nile"]}, {"id": 2, "error": {"message": "boom"}}],
    )
    refs = write(tmp_path / "r.jsonl", [{"id": 1, "answer": "nile"}, {"id": 2, "answer": "x"}])
    result = sb(
        isolated_env, "accuracy", "--predictions", str(preds), "--references", str(refs), "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["accuracy"], data["errored_ids"]) == (1.0, [2])
    strict = sb(
        isolated_env,
        "accuracy",
        "--predictions",
        str(preds),
        "--references",
        str(refs),
        "--no-normalize",
    )
    assert strict.returncode == 0 and "0 of 1" in strict.stdout

    missing = sb(
        isolated_env,
        "accuracy",
        "--predictions",
        str(tmp_path / "nope.out"),
        "--references",
        str(refs),
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "--predictions" in missing.stderr and "nope.out" in missing.stderr
    wrong_field = sb(
        isolated_env,
        "accuracy",
        "--predictions",
        str(preds),
        "--references",
        str(refs),
        "--reference-field",
        "gold",
        "--json",
    )
    assert wrong_field.returncode == 2
    error = json.loads(wrong_field.stderr)["error"]
    assert error["issues"][0]["field"] == "gold" and "answer, id" in error["message"]


def test_importing_the_cli_loads_neither_rouge_score_nor_the_report_models(isolated_env):
    code = (
        "import sys; import springboard.cli.evaluate; "
        "bad = {'rouge_score', 'nltk', 'springboard.evaluation.report'} & set(sys.modules); "
        "assert not bad, bad"
    )
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
    )
    assert result.returncode == 0, result.stderr
