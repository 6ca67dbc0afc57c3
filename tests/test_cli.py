"""The CLI as a user runs it: real subprocesses, exit codes, JSON output, error messages."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration


def sb(home, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "springboard"), *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_models_list_json_includes_required_ids(isolated_env):
    result = sb(isolated_env, "models", "list", "--json")
    assert result.returncode == 0, result.stderr
    ids = {m["id"] for m in json.loads(result.stdout)}
    assert {
        "springboard-tiny-t5",
        "springboard-tiny-llama",
        "huggingface-text2text-flan-t5-xl",
        "meta-textgeneration-llama-2-7b",
        "meta-textgeneration-llama-2-70b-f",
        "pytorch-textgeneration1-alexa20b",
    } <= ids


def test_models_list_filter(isolated_env):
    result = sb(
        isolated_env,
        "models",
        "list",
        "--filter",
        "task == text2text and training_supported == true",
        "--json",
    )
    models = json.loads(result.stdout)
    assert models and all(m["task"] == "text2text" and m["training_supported"] for m in models)


def test_bad_filter_is_a_message_not_a_traceback(isolated_env):
    result = sb(isolated_env, "models", "list", "--filter", "size == 3")
    assert result.returncode == 2
    assert "size" in result.stderr and "training_supported" in result.stderr
    assert "Traceback" not in result.stderr


def test_describe_json_has_hyperparameter_defaults(isolated_env):
    result = sb(isolated_env, "models", "describe", "huggingface-text2text-flan-t5-xl", "--json")
    card = json.loads(result.stdout)
    assert card["default_hyperparameters"]["epochs"] == 1
    assert {h["name"] for h in card["hyperparameters"]} >= {"epochs", "learning_rate", "peft_type"}
    assert card["source"]["repo_id"] == "google/flan-t5-xl"


def test_hyperparameters_command(isolated_env):
    result = sb(isolated_env, "hyperparameters", "meta-textgeneration-llama-2-7b", "--json")
    assert json.loads(result.stdout)["defaults"]["lora_r"] == 8


def test_predict_t5_json(isolated_env):
    result = sb(
        isolated_env,
        "predict",
        "springboard-tiny-t5",
        "--input",
        '{"text_inputs": "hello", "max_length": 20}',
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["generated_texts"]) == 1


@pytest.mark.slow
def test_predict_llama_seeded_twice_is_identical(isolated_env, tmp_path):
    payload = tmp_path / "p.json"
    payload.write_text(
        json.dumps(
            {"inputs": "Once", "parameters": {"max_new_tokens": 8, "do_sample": True, "seed": 7}}
        )
    )
    # two processes at once (each mostly imports and loads): the seed alone decides the text
    started = [
        subprocess.Popen(
            [
                str(VENV_BIN / "springboard"),
                "predict",
                "springboard-tiny-llama",
                "--input",
                f"@{payload}",
                "--json",
            ],
            env=cli_env(isolated_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in started]
    runs = [
        subprocess.CompletedProcess(p.args, p.returncode, out, err)
        for p, (out, err) in zip(started, outputs, strict=True)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert "generated_text" in json.loads(runs[0].stdout)[0]


def test_predict_bad_beams_names_num_beams(isolated_env):
    result = sb(
        isolated_env,
        "predict",
        "springboard-tiny-t5",
        "--input",
        '{"text_inputs": "hi", "num_beams": 2, "num_return_sequences": 3}',
    )
    assert result.returncode != 0
    assert "num_beams" in result.stderr and "Traceback" not in result.stderr


def test_predict_missing_weights_names_repo(isolated_env):
    result = sb(
        isolated_env,
        "predict",
        "huggingface-text2text-flan-t5-xl",
        "--input",
        '{"text_inputs": "hi"}',
    )
    assert result.returncode != 0
    assert "google/flan-t5-xl" in result.stderr and "Traceback" not in result.stderr


def test_predict_gated_model_refused_before_loading(isolated_env):
    result = sb(
        isolated_env,
        "predict",
        "meta-textgeneration-llama-2-7b",
        "--input",
        '{"inputs": "hi"}',
        "--json",
    )
    assert result.returncode == 2
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "eula_not_accepted" and "ai.meta.com" in error["message"]


def test_predict_invalid_json_and_unknown_model(isolated_env):
    bad_json = sb(isolated_env, "predict", "springboard-tiny-t5", "--input", '{"text_inputs": ')
    assert bad_json.returncode == 2 and "--input" in bad_json.stderr
    unknown = sb(isolated_env, "predict", "springboard-tiny-t6", "--input", "{}")
    assert unknown.returncode == 2 and "springboard-tiny-t5" in unknown.stderr


def test_help_is_fast_and_does_not_import_torch(isolated_env):
    code = (
        "import sys; from springboard.cli.main import app; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_endpoint_journey_from_the_command_line(isolated_env):
    import httpx

    deployed = sb(isolated_env, "deploy", "springboard-tiny-t5", "--name", "t5demo", "--json")
    assert deployed.returncode == 0, deployed.stderr
    info = json.loads(deployed.stdout)
    assert info["name"] == "t5demo" and info["status"] == "InService"
    try:
        assert httpx.get(info["url"] + "/ping").status_code == 200
        invoked = sb(
            isolated_env,
            "invoke",
            "t5demo",
            '{"text_inputs": ["a", "b", "c"], "batch_size": 2}',
            "--json",
        )
        assert len(json.loads(invoked.stdout)["generated_texts"]) == 3
        bad = sb(isolated_env, "invoke", "t5demo", '{"text_inputs": "x", "top_p": 1.5}')
        assert bad.returncode == 2 and "top_p" in bad.stderr
        listed = json.loads(sb(isolated_env, "endpoints", "list", "--json").stdout)
        assert [(e["name"], e["status"]) for e in listed] == [("t5demo", "InService")]
        logs = sb(isolated_env, "endpoints", "logs", "t5demo")
        assert "InService" in logs.stdout
        gated = sb(isolated_env, "deploy", "meta-textgeneration-llama-2-7b")
        assert gated.returncode == 2 and "--accept-eula" in gated.stderr
    finally:
        deleted = sb(isolated_env, "endpoints", "delete", "t5demo")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(sb(isolated_env, "endpoints", "list", "--json").stdout) == []
    assert not psutil_alive(info["pid"])


def psutil_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_transform_and_rouge_from_the_command_line(isolated_env, tmp_path):
    records = tmp_path / "in.jsonl"
    refs = tmp_path / "refs.jsonl"
    with open(records, "w") as r, open(refs, "w") as f:
        for i in range(30):
            record = {"id": f"r{i}", "text_inputs": f"summarize: item {i} is ready"}
            if i == 4:
                record["top_p"] = 2
            r.write(json.dumps(record) + "\n")
            f.write(json.dumps({"id": f"r{i}", "summary": f"item {i} ready"}) + "\n")
    done = sb(
        isolated_env,
        "transform",
        "springboard-tiny-t5",
        "--input",
        str(records),
        "--output",
        str(tmp_path / "out"),
        "--env",
        "HYPER_PARAMS={'max_length': 8, 'num_beams': 1}",
        "--wait",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "PartiallyCompleted"
    assert (job["counts"]["succeeded"], job["counts"]["failed"]) == (29, 1)
    out = tmp_path / "out" / "in.jsonl.out"
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        f"r{i}" for i in range(30)
    ]
    listed = json.loads(sb(isolated_env, "jobs", "list", "--kind", "transform", "--json").stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    metrics = json.loads(sb(isolated_env, "jobs", "metrics", job["id"], "--json").stdout)
    assert {m["metric_name"] for m in metrics} >= {"records_per_second", "model_load_seconds"}
    resumed = sb(isolated_env, "jobs", "resume", job["id"])
    assert resumed.returncode == 2 and "PartiallyCompleted" in resumed.stderr
    bad = sb(
        isolated_env,
        "transform",
        "springboard-tiny-t5",
        "--input",
        str(records),
        "--output",
        str(tmp_path / "o2"),
        "--env",
        "HYPER_PARAMS={'top_p': 5}",
    )
    assert bad.returncode == 2 and "HYPER_PARAMS.top_p" in bad.stderr
    scored = sb(
        isolated_env,
        "evaluate",
        "rouge",
        "--predictions",
        str(out),
        "--references",
        str(refs),
        "--reference-field",
        "summary",
        "--json",
    )
    assert scored.returncode == 0, scored.stderr
    report = json.loads(scored.stdout)
    assert report["count"] == 29 and report["errored"] == 1
