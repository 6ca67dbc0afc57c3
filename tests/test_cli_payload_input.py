"""Payloads from stdin and files for `predict` and `invoke`, stdout carrying only the
response (so it pipes into `jq`), and did-you-means for payloads in other APIs' shapes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from springboard.catalog.spec import Task
from springboard.errors import ValidationError
from springboard.inference.payloads import parse_request, suggest_field
from tests.conftest import cli_env

RECORD = {"text_inputs": "rewrite in the past tense: Ada paints the gate.", "max_length": 16}


def _fixes(payload: dict, task: Task) -> dict[str | None, str]:
    with pytest.raises(ValidationError) as err:
        parse_request(payload, task)
    return {issue.field: issue.fix or "" for issue in err.value.issues}


def test_completion_shape_gets_did_you_mean_for_each_task():
    t2t = _fixes({"prompt": "x", "max_tokens": 8, "stop_sequences": ["."], "n": 2}, Task.TEXT2TEXT)
    assert "did you mean `text_inputs`?" in t2t["prompt"]
    assert "did you mean `max_new_tokens`?" in t2t["max_tokens"]
    assert "did you mean `stop`?" in t2t["stop_sequences"]
    assert "did you mean `num_return_sequences`?" in t2t["n"]
    assert "allowed:" in t2t["max_tokens"]  # the full list is still there

    causal = _fixes({"prompt": "x", "max_tokens": 8}, Task.TEXT_GENERATION)
    assert "did you mean `inputs`?" in causal["prompt"]
    assert "did you mean `parameters.max_new_tokens`?" in causal["max_tokens"]
    nested = _fixes({"inputs": "x", "parameters": {"temprature": 0.5}}, Task.TEXT_GENERATION)
    assert "did you mean `parameters.temperature`?" in nested["parameters.temprature"]


def test_no_suggestion_for_a_name_like_nothing():
    assert suggest_field("colour", Task.TEXT2TEXT) is None
    assert suggest_field("paramters", Task.TEXT_GENERATION) == "parameters"


def _cli(args: list[str], home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["springboard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**cli_env(home), "OMP_NUM_THREADS": "1"},
        timeout=180,
    )


@pytest.mark.integration
def test_predict_reads_stdin_and_files_and_prints_only_json(isolated_env, tmp_path):
    dash = _cli(
        ["predict", "springboard-tiny-t5", "--input", "-"], isolated_env, json.dumps(RECORD)
    )
    assert dash.returncode == 0, dash.stderr
    answer = json.loads(dash.stdout)  # nothing but the response body on stdout
    assert answer["generated_texts"] and isinstance(answer["generated_texts"][0], str)

    devstdin = _cli(
        ["predict", "springboard-tiny-t5", "--input", "@/dev/stdin"],
        isolated_env,
        json.dumps(RECORD),
    )
    assert devstdin.returncode == 0, devstdin.stderr
    assert json.loads(devstdin.stdout) == answer  # greedy: the same answer

    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(RECORD))
    from_file = _cli(["predict", "springboard-tiny-t5", "-i", f"@{payload}"], isolated_env)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout) == answer


@pytest.mark.integration
def test_predict_payload_errors_name_the_option_and_say_how(isolated_env, tmp_path):
    empty = _cli(["predict", "springboard-tiny-t5", "--input", "-"], isolated_env, "")
    missing = _cli(["predict", "springboard-tiny-t5", "--input", "@nope.json"], isolated_env)
    broken = _cli(["predict", "springboard-tiny-t5", "--input", "-"], isolated_env, "{oops")
    for result, why in ((empty, "stdin is empty"), (missing, "does not exist"), (broken, "JSON")):
        assert result.returncode == 2 and result.stdout == ""
        assert "--input" in result.stderr and why in result.stderr
        assert "- to read it from stdin" in result.stderr

    completion = _cli(
        ["predict", "springboard-tiny-t5", "--input", "-"],
        isolated_env,
        json.dumps({"prompt": "hi", "max_tokens": 8}),
    )
    assert completion.returncode == 2
    assert "did you mean `max_new_tokens`?" in completion.stderr
    assert "did you mean `text_inputs`?" in completion.stderr


@pytest.mark.integration
def test_invoke_reads_stdin_and_keeps_timing_off_stdout(isolated_env):
    deployed = _cli(["deploy", "springboard-tiny-t5", "--name", "pipe"], isolated_env)
    assert deployed.returncode == 0, deployed.stderr
    try:
        result = _cli(["invoke", "pipe", "-"], isolated_env, json.dumps(RECORD))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["generated_texts"]  # stdout is the body alone
        assert " ms, tokens in " in result.stderr  # the timing line went to stderr

        text = _cli(
            ["invoke", "pipe", "-t", "application/x-text", "@/dev/stdin"],
            isolated_env,
            "Ada paints the gate.",
        )
        assert text.returncode == 0, text.stderr
        json.loads(text.stdout)

        refused = _cli(["invoke", "pipe", "-"], isolated_env, '{"prompt": "x", "max_tokens": 8}')
        assert refused.returncode != 0 and refused.stdout == ""
        assert "did you mean `max_new_tokens`?" in refused.stderr  # from the server's 400
    finally:
        deleted = _cli(["endpoints", "delete", "pipe"], isolated_env)
        assert deleted.returncode == 0, deleted.stderr
