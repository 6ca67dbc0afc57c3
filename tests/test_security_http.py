"""The control plane refuses what its caller must not choose: locations outside the data
roots or on schemes not allowed, other Host names, cross-site browser writes, bodies and
fields past their limits; and batch records that are too long or not JSON never come back
in an output line. Unit checks of the policies first, then `springboard serve` for real."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import httpx
import pytest

from springboard.artifacts.locations import LocationPolicy
from springboard.errors import PayloadTooLargeError, ValidationError
from springboard.http_guard import (
    ForbiddenError,
    GuardPolicy,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    allowed_hosts,
    key_matches,
)
from springboard.jobs.lines import Oversized, count_records, read_lines
from tests.test_control_plane_api import bedrock, start_server, wait_for  # noqa: F401 (fixture)

MODEL = "springboard-tiny-llama"


# -- locations ------------------------------------------------------------------------------


def test_http_locations_must_lie_under_a_data_root_or_use_an_allowed_scheme(tmp_path):
    root = tmp_path / "data"
    (root / "in").mkdir(parents=True)
    (root / "in" / "ok.jsonl").write_text("{}\n")
    (root / "escape").symlink_to("/etc")
    (root / "in" / "passwd.jsonl").symlink_to("/etc/passwd")
    policy = LocationPolicy("http", (root.resolve(),), frozenset({"s3"}))

    assert (
        policy.check(str(root / "in" / "ok.jsonl"), "input").path
        == (root / "in" / "ok.jsonl").resolve()
    )
    assert policy.check(f"file://{root}/in", "input").is_local
    assert policy.check("s3://bucket/key.jsonl", "input").scheme == "s3"
    refused = {
        "/etc": "outside the data roots",
        "/etc/passwd": "outside the data roots",
        str(root / "escape" / "passwd"): "outside the data roots",  # symlinked folder
        str(root / "in" / "passwd.jsonl"): "outside the data roots",  # symlinked file
        f"{root}/in/../../secret": "outside the data roots",  # dot-dot
        "in/ok.jsonl": "absolute path",  # relative: cwd-dependent
        "/proc/self/environ": "outside the data roots",
        "ftp://127.0.0.1:9/x": "scheme ftp:// is not allowed",
        "http://169.254.169.254/latest": "scheme http:// is not allowed",
        "simplecache::s3://b/k": "chained",
        "": "non-empty",
    }
    for uri, why in refused.items():
        with pytest.raises(ValidationError, match=why) as err:
            policy.check(uri, "inputDataConfig")
        issue = err.value.issues[0]
        assert issue.field == "inputDataConfig"
        if uri:
            assert (
                str(root.resolve()) in issue.fix and "s3://" in issue.fix
            )  # names what is allowed

    local = LocationPolicy.local_user()  # the CLI: the user's own files, any scheme
    assert local.check("/etc/hosts", "--input").path == Path("/etc/hosts")
    assert local.check("ftp://host/x", "--input").scheme == "ftp"


def test_the_default_data_root_is_under_home(isolated_env, monkeypatch):
    from springboard.config import reset_settings

    policy = LocationPolicy.http()
    assert policy.roots == ((isolated_env / "data").resolve(),) and policy.schemes == {"s3"}
    monkeypatch.setenv("SPRINGBOARD_DATA_ROOTS", f"/srv/a{os.pathsep}/srv/b")
    monkeypatch.setenv("SPRINGBOARD_ALLOWED_SCHEMES", "s3, gs")
    reset_settings()
    policy = LocationPolicy.http()
    assert policy.roots == (Path("/srv/a"), Path("/srv/b")) and policy.schemes == {"s3", "gs"}


def test_a_long_line_is_never_held_whole(tmp_path):
    path = tmp_path / "in.jsonl"
    with open(path, "wb") as handle:
        handle.write(b'{"a": 1}\n')
        handle.write(b'{"big": "' + b"x" * 3_000_000 + b'"}\r\n')
        handle.write(b"   \n")
        handle.write(b'{"a": 2}\n')
        handle.write(b"y" * 1001)  # the last line, no newline, just over
    items = list(read_lines(path, 0, max_bytes=1000))
    assert [i for i, _ in items] == [0, 1, 2, 3]
    assert items[0][1] == b'{"a": 1}' and items[2][1] == b'{"a": 2}'
    assert items[1][1] == Oversized(3_000_000 + 11) and items[3][1] == Oversized(1001)
    assert next(iter(read_lines(path, 2, max_bytes=1000))) == (2, b'{"a": 2}')
    assert count_records([path]) == 4


# -- the guard --------------------------------------------------------------------------------


def _headers(**extra: str) -> dict[str, str]:
    return {"host": "127.0.0.1:8080", **{k.replace("_", "-"): v for k, v in extra.items()}}


def test_the_guard_refuses_other_hosts_cross_site_writes_and_browser_content_types():
    open_ = GuardPolicy(api_key=None, hosts=allowed_hosts("127.0.0.1"), max_body_bytes=100)
    open_.check_headers("POST", "/x", _headers(content_type="application/json"))
    open_.check_headers("GET", "/x", _headers(host="localhost:1"))
    open_.check_headers("GET", "/x", _headers(host="[::1]:8080"))
    open_.check_headers("POST", "/x", _headers(origin="http://127.0.0.1:8080"))  # same origin
    open_.check_headers("POST", "/x", _headers(sec_fetch_site="same-origin"))
    open_.check_headers("GET", "/x", _headers(sec_fetch_site="cross-site"))  # reads are fine
    open_.check_headers("POST", "/x", _headers(content_type="application/x-www-form-urlencoded"))
    refusals = [
        (ForbiddenError, "GET", _headers(host="rebind.example:8080")),
        (ForbiddenError, "GET", {}),  # no Host at all
        (ForbiddenError, "POST", _headers(origin="http://evil.example")),
        (ForbiddenError, "POST", _headers(origin="http://127.0.0.1:9999")),  # another port
        (ForbiddenError, "POST", _headers(origin="null")),
        (ForbiddenError, "POST", _headers(sec_fetch_site="cross-site")),
        (ForbiddenError, "DELETE", _headers(sec_fetch_site="same-site")),
        (UnsupportedMediaTypeError, "POST", _headers(content_type="text/plain;charset=UTF-8")),
        (
            UnsupportedMediaTypeError,
            "POST",
            _headers(content_type="multipart/form-data; boundary=x"),
        ),
        (PayloadTooLargeError, "POST", _headers(content_length="101")),
    ]
    for error, method, headers in refusals:
        with pytest.raises(error):
            open_.check_headers(method, "/x", headers)

    assert allowed_hosts("0.0.0.0") is None  # wildcard bind: needs a key
    assert "box.lan" in allowed_hosts("0.0.0.0", ["box.lan"])  # unless names are listed
    assert allowed_hosts("127.0.0.1", ["*"]) is None


def test_one_key_check_for_bearer_in_any_case_and_x_api_key_beside_sigv4():
    assert key_matches({"authorization": "Bearer k1"}, "k1")
    assert key_matches({"authorization": "bearer k1"}, "k1")
    assert key_matches({"authorization": "BEARER   k1 "}, "k1")
    assert key_matches({"authorization": "AWS4-HMAC-SHA256 Credential=x", "x-api-key": "k1"}, "k1")
    assert not key_matches({"authorization": "k1"}, "k1")  # a bare key
    assert not key_matches({"authorization": "Bearer k2"}, "k1")
    assert not key_matches({"authorization": "Basic azE="}, "k1")
    assert not key_matches({}, "k1")
    keyed = GuardPolicy(api_key="k1", hosts=allowed_hosts("127.0.0.1"), max_body_bytes=100)
    keyed.check_headers("GET", "/ping", _headers())  # health stays open
    keyed.check_headers(
        "POST", "/x", _headers(content_type="text/plain", authorization="bearer k1")
    )
    with pytest.raises(UnauthorizedError):
        keyed.check_headers("GET", "/x", _headers(authorization="k1"))


# -- `springboard serve` for real ----------------------------------------------------------------


def _create(url: str, input_uri: str, output_uri: str, name: str = "x", **extra):
    body = {
        "jobName": name,
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "modelId": MODEL,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
        **extra,
    }
    return httpx.post(url + "/model-invocation-job", json=body, timeout=30)


def _strict_json(response: httpx.Response):
    def refuse(constant: str):
        raise AssertionError(f"{constant} in a JSON body")

    return json.loads(response.text, parse_constant=refuse)


@pytest.mark.integration
def test_the_control_plane_opens_no_location_its_caller_chooses(start_server, tmp_path):
    url = start_server()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        # the review's request: /etc in, an FTP listener out
        refused = _create(url, "/etc", f"ftp://127.0.0.1:{port}/x")
        assert refused.status_code == 400, refused.text
        message = _strict_json(refused)["message"]
        assert "inputDataConfig" in message and "outputDataConfig" in message
        assert str(tmp_path) in message and "SPRINGBOARD_DATA_ROOTS" in message
        for source in (
            "/proc/self/environ",
            f"http://127.0.0.1:{port}/x",
            "in.jsonl",
            str(tmp_path / ".." / "etc"),
        ):
            refused = _create(url, source, str(tmp_path / "out"))
            assert refused.status_code == 400 and "inputDataConfig" in refused.json()["message"]
        with pytest.raises(TimeoutError):  # nothing ever connected to the listener
            listener.accept()
    finally:
        listener.close()
    assert httpx.get(url + "/model-invocation-jobs").json()["invocationJobSummaries"] == []
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_the_control_plane_refuses_rebinding_cross_site_and_oversized_requests(
    start_server, tmp_path
):
    url = start_server()
    good_input = tmp_path / "in.jsonl"
    good_input.write_text("")
    for headers in (
        {"Host": "rebind.example"},
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        response = httpx.post(url + "/model-invocation-job", json={}, headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
    response = httpx.post(
        url + "/model-invocation-job", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415 and "API key" in response.json()["message"]

    # a body over the limit: refused by Content-Length, and while a chunked one is read
    big = b'{"jobName": "' + b"a" * 2_000_000 + b'"}'
    response = httpx.post(
        url + "/model-invocation-job", content=big, headers={"Content-Type": "application/json"}
    )
    assert (
        response.status_code == 413 and "SPRINGBOARD_API_MAX_BODY_KB" in response.json()["message"]
    )

    def chunks():
        for _ in range(40):
            yield b"a" * 65536

    response = httpx.post(
        url + "/model-invocation-job",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413 and "while being read" in response.json()["message"]

    # a field past its length is refused whole, and nothing is stored
    response = _create(url, str(good_input), str(tmp_path / "out"), roleArn="r" * 5000)
    assert response.status_code == 400 and "roleArn" in response.json()["message"]
    assert len(response.text) < 2000  # the value is not echoed back whole
    # JSON nested too deeply is a 400, not a 500
    deep = "[" * 100_000 + "]" * 100_000
    response = httpx.post(
        url + "/model-invocation-job", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    _strict_json(response)
    assert httpx.get(url + "/model-invocation-jobs").json()["invocationJobSummaries"] == []
    assert httpx.get(url + "/ping").status_code == 200


@pytest.mark.integration
def test_bad_lines_get_error_lines_without_their_content(start_server, tmp_path):
    url = start_server()
    source = tmp_path / "in"
    source.mkdir()
    good = {"modelInput": {"prompt": "Q: 2 + 3?\nA:", "max_tokens": 4, "temperature": 0}}
    with open(source / "records.jsonl", "w") as handle:
        handle.write(json.dumps({"recordId": "good-1", **good}) + "\n")
        handle.write("root:x:0:0:TOPSECRET:/root:/bin/bash\n")  # not JSON
        handle.write(
            json.dumps({"recordId": "huge", "modelInput": {"prompt": "TOPSECRET" * 800_000}}) + "\n"
        )  # 7.2 MB
        handle.write("[" * 50_000 + "]" * 50_000 + "\n")  # too deep
        handle.write(json.dumps({"recordId": "good-2", **good}) + "\n")
    created = _create(url, str(source), str(tmp_path / "out"), name="bad-lines")
    assert created.status_code == 200, created.text
    client = bedrock(url)
    job = wait_for(client, created.json()["jobArn"], {"Completed", "PartiallyCompleted", "Failed"})
    assert job["status"] == "PartiallyCompleted", job
    assert (job["successRecordCount"], job["errorRecordCount"]) == (2, 3)
    out = next((tmp_path / "out").glob("*/records.jsonl.out"))
    text = out.read_text()
    assert "TOPSECRET" not in text and len(text) < 20_000
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line.get("recordId") for line in lines][::4] == ["good-1", "good-2"]
    errors = [line for line in lines if "error" in line]
    assert all(line.get("modelInput") is None for line in errors)
    messages = " ".join(line["error"]["errorMessage"] for line in errors)
    assert (
        "not valid JSON" in messages
        and "bytes; the limit is" in messages
        and "too deeply" in messages
    )


def test_an_endpoint_shows_a_failure_only_as_internal_error_with_a_request_id(caplog):
    from springboard.errors import ClientError, GenerationError
    from springboard.serving.batcher import OverloadedError
    from springboard.serving.protocol import error_reply
    from springboard.serving.service import public_error

    failure = GenerationError("generation failed: Overflow when unpacking long long at /srv/x.py")
    reply = error_reply(public_error(failure, "req-1"), runtime_shape=False)
    body = _strict_json(httpx.Response(reply.status, content=reply.body))
    assert reply.status == 500 and "req-1" in body["error"]["message"]
    assert "Overflow" not in reply.body.decode() and "/srv" not in reply.body.decode()
    assert "Overflow" in caplog.text and "req-1" in caplog.text  # the detail is in the log
    for kept in (ClientError("bad top_k", field="top_k"), OverloadedError("at capacity")):
        assert public_error(kept, "req-2") is kept


@pytest.mark.integration
def test_a_keyed_endpoint_takes_its_key_as_every_client_sends_it(isolated_env, monkeypatch):
    import boto3

    from springboard.serving import endpoints

    monkeypatch.setenv("SPRINGBOARD_API_KEY", "k1")
    info = endpoints.deploy("springboard-tiny-t5", name="keyed")
    try:
        url, body = info.url, {"text_inputs": "summarize: Ada painted the gate.", "max_length": 8}
        for headers, status in (
            ({}, 401),
            ({"Authorization": "k1"}, 401),
            ({"Authorization": "Bearer k2"}, 401),
            ({"Authorization": "bearer k1"}, 200),
            ({"Authorization": "AWS4-HMAC-SHA256 Credential=x", "x-api-key": "k1"}, 200),
            ({"x-api-key": "k1", "Host": "rebind.example"}, 403),
            ({"x-api-key": "k1", "Origin": "http://evil.example"}, 403),
        ):
            response = httpx.post(url + "/invocations", json=body, headers=headers, timeout=60)
            assert response.status_code == status, (headers, response.text)
            _strict_json(response)
        text = httpx.post(
            url + "/invocations",
            content=b"summarize: Ada painted the gate.",
            headers={"Content-Type": "text/plain", "x-api-key": "k1"},
            timeout=60,
        )
        assert text.status_code == 200  # with a key, plain text is fine

        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        runtime.meta.events.register(
            "before-send.sagemaker-runtime.*",
            lambda request, **_: request.headers.__setitem__("x-api-key", "k1"),
        )
        answer = runtime.invoke_endpoint(
            EndpointName="keyed", Body=json.dumps(body), ContentType="application/json"
        )
        assert "generated_texts" in json.loads(answer["Body"].read())
    finally:
        endpoints.delete("keyed")
