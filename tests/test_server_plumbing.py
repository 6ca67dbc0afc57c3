"""The plumbing the control plane and the endpoint servers share (`springboard.http_server`):
one bind and URL function, the API key from the one setting, the refusal to expose a server
without a key, and errors in the shape of each path's API — for real, on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import botocore.exceptions
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from springboard import http_server
from springboard.config import reset_settings
from springboard.errors import SpringboardError, ValidationError


def test_both_servers_bind_and_name_their_url_with_the_same_functions():
    from springboard.api import server as control_plane
    from springboard.serving import server as endpoint

    assert control_plane.bind is endpoint.bind is http_server.bind
    assert control_plane.url_for is endpoint.url_for is http_server.url_for
    assert http_server.url_for("127.0.0.1", 80) == "http://127.0.0.1:80"
    assert (
        http_server.url_for("::1", 8080)
        == http_server.url_for("[::1]", 8080)
        == "http://[::1]:8080"
    )


def test_bind_takes_a_free_port_and_names_a_busy_one():
    sock = http_server.bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0 and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        with pytest.raises(ValidationError) as err:
            http_server.bind("127.0.0.1", port, field="--port")
        assert err.value.issues[0].field == "--port" and err.value.issues[0].value == port
        assert "cannot bind" in str(err.value) and "0 for a free one" in str(err.value)
    finally:
        sock.close()


def test_the_key_is_the_one_setting(monkeypatch):
    monkeypatch.delenv("SPRINGBOARD_API_KEY", raising=False)
    reset_settings()
    assert http_server.configured_api_key() is None
    monkeypatch.setenv("SPRINGBOARD_API_KEY", "")
    reset_settings()
    assert http_server.configured_api_key() is None  # empty is no key
    monkeypatch.setenv("SPRINGBOARD_API_KEY", "k1")
    reset_settings()
    assert http_server.configured_api_key() == "k1"
    from springboard.config import get_settings

    assert "k1" not in repr(get_settings())  # a secret: never in a settings dump or log


def test_exposing_a_server_needs_a_key():
    assert http_server.exposure_issue("127.0.0.1", None, field="host", ways="w") is None
    assert http_server.exposure_issue("::1", None, field="host", ways="w") is None
    assert http_server.exposure_issue("0.0.0.0", "k", field="host", ways="w") is None
    issue = http_server.exposure_issue(
        "0.0.0.0", None, field="host", ways="set SPRINGBOARD_API_KEY"
    )
    assert issue is not None and issue.field == "host" and issue.value == "0.0.0.0"
    assert "SPRINGBOARD_API_KEY" in issue.fix and "x-api-key" in issue.fix


# --- a server built from the plumbing, on loopback -----------------------------------------


def _shape(name: str):
    def render(exc: SpringboardError) -> JSONResponse:
        return JSONResponse(
            {"shape": name, "message": str(exc), "field": exc.field}, status_code=exc.http_status
        )

    return render


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    sock = http_server.bind("127.0.0.1", 0)
    server = http_server.uvicorn_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a hang guard
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield http_server.url_for("127.0.0.1", sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def plumbed() -> Iterator[str]:
    app = FastAPI()
    shapes = http_server.ErrorShapes(default=_shape("own"), by_prefix=(("/v1/", _shape("openai")),))
    http_server.install(
        app,
        shapes=shapes,
        api_key="k1",
        host="127.0.0.1",
        max_body_bytes=64,
        limit_hint="send less",
    )

    @app.get("/boom")
    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /srv/model.py")

    @app.post("/items")
    def items(count: int) -> dict[str, int]:
        return {"count": count}

    with serving(app) as url:
        yield url


def test_every_error_comes_in_the_shape_of_its_paths_api(plumbed, caplog):
    key = {"x-api-key": "k1"}
    refused = httpx.get(plumbed + "/v1/models")  # no key: the guard's refusal
    assert refused.status_code == 401 and refused.json()["shape"] == "openai"
    assert httpx.get(plumbed + "/nowhere", headers=key).json() == {
        "shape": "own",
        "field": "path",
        "message": "GET /nowhere: Not Found. See /docs for the routes",
    }
    assert httpx.delete(plumbed + "/items", headers=key).status_code == 405
    unreadable = httpx.post(plumbed + "/items?count=many", headers=key)
    assert unreadable.status_code == 400 and unreadable.json()["field"] == "count"
    big = httpx.post(plumbed + "/items?count=1", headers=key, content=b"x" * 65)
    assert big.status_code == 413 and "Send less" in big.json()["message"]
    for path, shape in (("/boom", "own"), ("/v1/boom", "openai")):
        failed = httpx.get(plumbed + path, headers=key)
        assert failed.status_code == 500 and failed.json()["shape"] == shape
        assert "secret" not in failed.text and failed.headers["x-request-id"] in failed.text
        assert failed.headers["x-request-id"] in caplog.text  # the detail is in the log
    assert "secret detail" in caplog.text


def test_the_control_plane_renders_with_the_shared_plumbing(isolated_env):
    from springboard.api.app import create_app

    with serving(create_app(api_key="k1")) as url:
        unknown = httpx.get(url + "/nowhere", headers={"x-api-key": "k1"})
        assert unknown.status_code == 404
        assert unknown.headers["x-amzn-errortype"] == "UnknownOperationException"
        refused = httpx.get(url + "/v1/models")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        client = boto3.client(
            "bedrock",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        with pytest.raises(botocore.exceptions.ClientError):
            client.list_model_invocation_jobs()  # SigV4 alone is not the key
        client.meta.events.register(
            "before-send.bedrock.*",
            lambda request, **_: request.headers.__setitem__("x-api-key", "k1"),
        )
        assert client.list_model_invocation_jobs()["invocationJobSummaries"] == []


@pytest.mark.integration
def test_a_keyed_endpoint_takes_boto3_and_the_sdk_with_the_key_from_the_setting(
    isolated_env, monkeypatch
):
    from springboard.sdk import Predictor
    from springboard.serving import endpoints

    monkeypatch.setenv("SPRINGBOARD_API_KEY", "k1")
    reset_settings()
    info = endpoints.deploy("springboard-tiny-t5", name="keyed-plumbing")
    try:
        body = {"text_inputs": "summarize: Ada painted the gate.", "max_length": 8}
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=info.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        with pytest.raises(botocore.exceptions.ClientError) as err:  # SigV4 alone
            runtime.invoke_endpoint(
                EndpointName="keyed-plumbing", Body=json.dumps(body), ContentType="application/json"
            )
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
        runtime.meta.events.register(
            "before-send.sagemaker-runtime.*",
            lambda request, **_: request.headers.__setitem__("x-api-key", "k1"),
        )
        answer = runtime.invoke_endpoint(
            EndpointName="keyed-plumbing", Body=json.dumps(body), ContentType="application/json"
        )
        assert "generated_texts" in json.loads(answer["Body"].read())
        assert "generated_texts" in Predictor("keyed-plumbing").predict(body)  # the client's key
        # the endpoint's errors come in its own shape, and OpenAI's under /v1/
        unknown = httpx.get(info.url + "/nowhere", headers={"x-api-key": "k1"})
        assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "path"
        unknown = httpx.get(info.url + "/v1/nowhere", headers={"x-api-key": "k1"})
        assert (
            unknown.status_code == 404
            and unknown.json()["error"]["type"] == "invalid_request_error"
        )
    finally:
        endpoints.delete("keyed-plumbing")
