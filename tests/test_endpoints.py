"""Endpoints for real: server processes on loopback, the state database, HTTP clients
(httpx and the managed runtime's own boto3 client), lifecycle and failure."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import boto3
import httpx
import psutil
import pytest
from botocore.config import Config

from springboard.config import reset_settings
from springboard.errors import ClientError, EulaNotAcceptedError, ValidationError
from springboard.sdk import Model, Predictor
from springboard.serving import endpoints

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("endpoints-home")


@pytest.fixture
def env(home, monkeypatch):
    """Point this test at the module's SPRINGBOARD_HOME, where the endpoints live."""
    monkeypatch.setenv("SPRINGBOARD_HOME", str(home))
    reset_settings()
    return home


@pytest.fixture(scope="module")
def t5(home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        predictor = Model("springboard-tiny-t5").deploy(endpoint_name="t5")
        reset_settings()
    yield endpoints_url(home, "t5")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        predictor.delete_endpoint()
        reset_settings()


@pytest.fixture(scope="module")
def llama(home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        info = endpoints.deploy(
            "springboard-tiny-llama",
            name="llama",
            env={"OPTION_MAX_ROLLING_BATCH_SIZE": "8", "SPRINGBOARD_BATCH_WAIT_MS": "20"},
        )
        reset_settings()
    yield info.url
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        endpoints.delete("llama")
        reset_settings()


def endpoints_url(home: Path, name: str) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        url = endpoints.describe(name).url
        reset_settings()
    assert url
    return url


def post(
    url: str,
    body,
    content_type: str = "application/json",
    path: str = "/invocations",
    **headers: str,
) -> httpx.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(
        url + path, content=data, timeout=60, headers={"Content-Type": content_type, **headers}
    )


def test_ping_and_info(t5):
    assert httpx.get(t5 + "/ping").status_code == 200
    info = httpx.get(t5 + "/info").json()
    assert info["model_id"] == "springboard-tiny-t5" and info["preset"] == "cpu-default"
    assert "/invocations" in httpx.get(t5 + "/openapi.json").json()["paths"]


def test_list_input_with_batch_size_matches_in_process(t5, t5_generator):
    payload = {"text_inputs": ["a", "b", "c"], "batch_size": 2, "max_length": 8}
    response = post(t5, payload)
    assert response.status_code == 200
    assert response.json() == t5_generator.predict(payload)
    assert response.headers["x-request-id"]
    assert int(response.headers["x-springboard-output-tokens"]) > 0
    assert float(response.headers["x-springboard-model-time-ms"]) > 0


def test_bad_parameter_is_400_naming_it(t5):
    response = post(t5, {"text_inputs": "x", "top_p": 1.5})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "top_p" and "top_p" in error["message"]


def test_runtime_path_and_its_error_shape(t5):
    ok = post(t5, {"text_inputs": "x", "max_length": 4}, path="/endpoints/t5/invocations")
    assert ok.status_code == 200 and "generated_texts" in ok.json()
    bad = post(t5, {"text_inputs": "x", "num_beams": 0}, path="/endpoints/t5/invocations")
    assert bad.status_code == 424
    assert bad.headers["x-amzn-ErrorType"].startswith("ModelError")
    assert bad.json()["OriginalStatusCode"] == 400
    unknown = post(t5, {"text_inputs": "x"}, path="/endpoints/nope/invocations")
    assert unknown.status_code == 400
    assert unknown.headers["x-amzn-ErrorType"].startswith("ValidationError")


def test_the_managed_runtimes_client_works_unchanged(t5):
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=t5,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )
    answer = client.invoke_endpoint(
        EndpointName="t5",
        ContentType="application/json",
        Body=json.dumps({"text_inputs": "hi", "max_length": 4}),
    )
    assert "generated_texts" in json.loads(answer["Body"].read())
    with pytest.raises(client.exceptions.ModelError) as err:
        client.invoke_endpoint(
            EndpointName="t5",
            ContentType="application/json",
            Body=json.dumps({"text_inputs": "hi", "top_p": 9}),
        )
    assert err.value.response["OriginalStatusCode"] == 400
    assert "top_p" in err.value.response["OriginalMessage"]


def test_invoke_renders_a_prompt_template_client_side(t5, env, t5_generator):
    import subprocess

    from springboard.prompting import Prompter
    from tests.conftest import cli_env

    examples = (
        Path(__file__).resolve().parents[1]
        / "examples"
        / "in-context"
        / "extractive-qa"
        / "examples.jsonl"
    )
    record = {
        "context": "Ada painted the gate blue.",
        "question": "What color did Ada paint the gate?",
        "max_length": 8,
    }
    result = subprocess.run(
        [
            "springboard",
            "invoke",
            "t5",
            json.dumps(record),
            "--prompt-template",
            "extractive-qa",
            "--examples",
            str(examples),
            "--keep-prompt",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    prompt = Prompter.load("extractive-qa", examples).render(record)
    assert answer["prompt"] == prompt
    expected = t5_generator.predict({"text_inputs": prompt, "max_length": 8})
    assert answer["response"] == expected
    sdk = Predictor("t5").predict(
        [record, {**record, "question": "Who painted the gate?"}],
        prompt_template="extractive-qa",
        examples=str(examples),
    )
    assert (
        sdk["generated_texts"][0] == expected["generated_texts"][0]
        and len(sdk["generated_texts"]) == 2
    )


def test_json_lines_answer_each_line_and_isolate_bad_ones(t5):
    body = "\n".join(
        [
            json.dumps({"text_inputs": "x", "max_length": 4}),
            json.dumps({"text_inputs": "y", "top_k": -1}),
            "not json",
            json.dumps({"text_inputs": "z", "max_length": 4}),
        ]
    )
    response = post(t5, body, "application/jsonlines")
    assert response.status_code == 200
    answers = [json.loads(line) for line in response.text.splitlines()]
    assert len(answers) == 4
    assert "generated_texts" in answers[0] and "generated_texts" in answers[3]
    assert answers[1]["error"]["field"] == "top_k" and answers[2]["error"]["field"] == "line 3"


def test_plain_text(t5):
    response = post(t5, "hello there", "application/x-text")
    assert response.status_code == 200 and isinstance(response.json()["generated_text"], str)


def test_unsupported_type_oversize_body_and_context_overflow(t5):
    assert post(t5, "x", "image/png").status_code == 415
    huge = post(t5, json.dumps({"text_inputs": "x" * (7 * 1024 * 1024)}))
    assert huge.status_code == 413 and huge.json()["error"]["field"] == "body"
    overflow = post(t5, {"text_inputs": "word " * 600, "max_new_tokens": 10})
    assert overflow.status_code == 413
    message = overflow.json()["error"]["message"]
    assert "512" in message and "prompt tokens" in message


def test_malformed_requests_never_500_and_do_not_disturb_others(t5):
    bodies = [
        "{",
        "[]",
        "null",
        json.dumps({"text_inputs": []}),
        json.dumps({"text_inputs": 3}),
        json.dumps({"inputs": "x"}),
        json.dumps({"text_inputs": "x", "stop": "s"}),
    ]
    statuses = {post(t5, body).status_code for body in bodies}
    assert statuses <= {400}
    assert post(t5, {"text_inputs": "ok", "max_length": 3}).status_code == 200


def test_metrics_are_prometheus_text(t5):
    post(t5, {"text_inputs": "x", "max_length": 3})
    text = httpx.get(t5 + "/metrics").text
    for name in (
        "springboard_requests_total",
        "springboard_queue_depth",
        "springboard_batch_rows_bucket",
        "springboard_tokens_total",
        "springboard_request_latency_seconds_bucket",
    ):
        assert name in text


def test_concurrent_requests_are_batched_and_seeds_hold(llama, llama_generator):
    payloads = [
        {
            "inputs": f"prompt number {i} " * (i % 4 + 1),
            "parameters": {"max_new_tokens": 12, "do_sample": True, "seed": i},
        }
        for i in range(8)
    ]
    answers: dict[int, object] = {}

    def call(i: int) -> None:
        answers[i] = post(llama, payloads[i]).json()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, payload in enumerate(payloads):
        assert answers[i] == llama_generator.predict(payload)
    metrics = httpx.get(llama + "/metrics").text
    value = {
        line.split()[0]: float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("springboard_batch_rows_")
    }
    mean_rows = value["springboard_batch_rows_sum"] / value["springboard_batch_rows_count"]
    assert mean_rows > 1.5, "eight concurrent requests should share forward passes"


def test_sdk_predictor_and_cli_names(env, t5):
    predictor = Predictor("t5")
    assert "generated_texts" in predictor.predict({"text_inputs": "hi", "max_length": 3})
    lines = predictor.predict(
        [{"text_inputs": "a", "max_length": 3}, {"text_inputs": "b", "max_length": 3}],
        content_type="application/jsonlines",
    )
    assert len(lines) == 2
    listed = {i.name: i.status for i in endpoints.list_endpoints()}
    assert listed["t5"] == "InService"


def test_name_in_use_is_refused(env, t5):
    with pytest.raises(ClientError) as err:
        endpoints.deploy("springboard-tiny-t5", name="t5")
    assert err.value.field == "name" and "in use" in str(err.value)


def test_bad_deploy_requests_fail_before_anything_starts(env):
    with pytest.raises(EulaNotAcceptedError):
        endpoints.deploy("meta-textgeneration-llama-2-7b", name="gated")
    with pytest.raises(ValidationError) as err:
        endpoints.deploy(
            "springboard-tiny-t5",
            name="bad-env",
            env={"OPTION_DTYPE": "fp64", "OPTION_MAX_ROLLING_BATCH_SIZE": "0"},
        )
    assert {i.field for i in err.value.issues} == {"OPTION_DTYPE", "OPTION_MAX_ROLLING_BATCH_SIZE"}
    with pytest.raises(ValidationError) as err:
        endpoints.deploy(
            "springboard-tiny-t5", name="tp", env={"OPTION_TENSOR_PARALLEL_DEGREE": "2"}
        )
    assert "0 GPU" in str(err.value)
    with pytest.raises(ValidationError) as err:
        endpoints.deploy("springboard-tiny-t5", name="open", host="0.0.0.0")
    assert "SPRINGBOARD_API_KEY" in str(err.value)
    with pytest.raises(ValidationError):
        endpoints.deploy("springboard-tiny-t5", name="-bad name-")
    assert {i.name for i in endpoints.list_endpoints()} <= {"t5", "llama"}


def test_api_key_is_required_beyond_ping(env, monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_API_KEY", "s3cret")
    info = endpoints.deploy("springboard-tiny-t5", name="guarded")
    try:
        assert httpx.get(info.url + "/ping").status_code == 200
        assert post(info.url, {"text_inputs": "x"}).status_code == 401
        assert httpx.get(info.url + "/metrics").status_code == 401
        ok = post(info.url, {"text_inputs": "x", "max_length": 3}, Authorization="Bearer s3cret")
        assert ok.status_code == 200
        assert "generated_texts" in Predictor("guarded").predict(
            {"text_inputs": "x", "max_length": 3}
        )
    finally:
        endpoints.delete("guarded")


def test_a_dead_server_shows_failed_with_its_log(env):
    info = endpoints.deploy("springboard-tiny-t5", name="doomed")
    os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 60  # a hang guard: noticed within a second when quiet
    while endpoints.describe("doomed").status != "Failed" and time.monotonic() < deadline:
        time.sleep(0.1)
    failed = endpoints.describe("doomed")
    assert failed.status == "Failed"
    assert "exited" in failed.status_message and "InService" in failed.status_message
    endpoints.delete("doomed")
    assert "doomed" not in {i.name for i in endpoints.list_endpoints()}


def rows_decoding(url: str) -> float:
    metrics = httpx.get(url + "/metrics", timeout=60).text
    return sum(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("springboard_active_rows ")
    )


def test_delete_drains_in_flight_requests(env):
    info = endpoints.deploy("springboard-tiny-llama", name="draining")
    done: dict[str, object] = {}

    def slow_request() -> None:
        done["response"] = post(info.url, {"inputs": "x", "parameters": {"max_new_tokens": 500}})
        done["at"] = time.monotonic()

    slow = threading.Thread(target=slow_request)
    slow.start()
    deadline = time.monotonic() + 60  # a hang guard: the request starts decoding at once
    while not rows_decoding(info.url):  # in flight, however slow the machine
        assert time.monotonic() < deadline and slow.is_alive(), done
        time.sleep(0.02)
    delete_started = time.monotonic()
    endpoints.delete("draining")
    slow.join(300)
    assert done["at"] > delete_started, "the request should still have been running"
    assert done["response"].status_code == 200
    assert (
        not psutil.pid_exists(info.pid) or psutil.Process(info.pid).status() == psutil.STATUS_ZOMBIE
    )
    with pytest.raises(ClientError):
        endpoints.describe("draining")
