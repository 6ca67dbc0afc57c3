"""The control-plane API for real: `springboard serve` as a subprocess on loopback, driven
by boto3's own `bedrock` client (and raw httpx where the client would refuse first)."""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import time
from pathlib import Path

import boto3
import botocore.exceptions
import httpx
import pytest

from tests import servers
from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::000000000000:role/x"
MODEL = "springboard-tiny-llama"


def server_env(home: Path) -> dict[str, str]:
    env = cli_env(home)
    env.pop("SPRINGBOARD_API_KEY", None)
    return env


@pytest.fixture
def start_server(isolated_env, tmp_path, request):
    """Start `springboard serve` on a free loopback port; stopped when the test ends."""
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    numbers = itertools.count()

    def start(*args: str) -> str:
        log = tmp_path / f"serve-{next(numbers)}.log"
        env = {"SPRINGBOARD_DATA_ROOTS": str(tmp_path)}  # the test's files are its data
        return stack.enter_context(
            servers.control_plane(isolated_env, log, *args, env=env, hang_guard=30)
        )

    yield start
    _stop_leftover_jobs()


def _stop_leftover_jobs() -> None:
    """A failed test must not leave job workers running."""
    from springboard.errors import SpringboardError
    from springboard.jobs import invocation

    for job in invocation.list_jobs():
        if not job.done:
            with contextlib.suppress(SpringboardError):  # it ended meanwhile
                invocation.stop(job.id)


def bedrock(url: str, **kwargs):
    return boto3.client(
        "bedrock",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        **kwargs,
    )


@pytest.fixture
def records(tmp_path) -> Path:
    path = tmp_path / "in" / "records.jsonl"
    path.parent.mkdir()
    prompts = ["Once upon a time", "The harbour at dawn", "A list of animals:", "Hello", "Why"]
    path.write_text(
        "".join(
            json.dumps(
                {
                    "recordId": f"rec{i}",
                    "modelInput": {
                        "prompt": p,
                        "max_tokens": 8,
                        "temperature": 0.5,
                        "num_generations": 2,
                        "seed": i,
                    },
                }
            )
            + "\n"
            for i, p in enumerate(prompts)
        )
    )
    return path


def create_args(name: str, records: Path, out: Path, **extra) -> dict:
    return {
        "jobName": name,
        "roleArn": ROLE,
        "modelId": MODEL,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": str(records), "s3InputFormat": "JSONL"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": str(out)}},
        "timeoutDurationInHours": 24,
        **extra,
    }


def wait_for(client, arn: str, statuses: set[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_model_invocation_job(jobIdentifier=arn)
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_invocation_job_lifecycle_through_boto3(start_server, records, tmp_path):
    url = start_server()
    client = bedrock(url)
    out = tmp_path / "out"
    arn = client.create_model_invocation_job(
        **create_args(
            "cp-test-a",
            records,
            out,
            clientRequestToken="token-a",
            tags=[{"key": "team", "value": "x"}],
        )
    )["jobArn"]
    assert arn.startswith("arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/")
    job_id = arn.rsplit("/", 1)[1]

    # a second job, stopped at once: StopModelInvocationJob on a waiting/running job
    other = client.create_model_invocation_job(**create_args("cp-test-b", records, out))["jobArn"]
    assert (
        client.stop_model_invocation_job(jobIdentifier=other)["ResponseMetadata"]["HTTPStatusCode"]
        == 200
    )

    job = wait_for(client, arn, {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
    assert job["status"] == "Completed", job.get("message")
    assert job["jobName"] == "cp-test-a" and job["modelId"] == MODEL and job["roleArn"] == ROLE
    assert job["clientRequestToken"] == "token-a" and job["timeoutDurationInHours"] == 24
    assert job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == str(records)
    assert job["submitTime"].tzinfo is not None and job["endTime"] >= job["submitTime"]
    assert job["jobExpirationTime"] > job["submitTime"]
    assert (job["totalRecordCount"], job["successRecordCount"], job["errorRecordCount"]) == (
        5,
        5,
        0,
    )

    lines = [
        json.loads(line) for line in (out / job_id / "records.jsonl.out").read_text().splitlines()
    ]
    assert [line["recordId"] for line in lines] == [f"rec{i}" for i in range(5)]
    for line in lines:
        generations = line["modelOutput"]["generations"]
        assert len(generations) == 2 and all(g["token_count"] <= 8 for g in generations)
        assert line["modelInput"]["max_tokens"] == 8
    manifest = json.loads((out / job_id / "manifest.json.out").read_text())
    assert manifest["totalRecordCount"] == manifest["successRecordCount"] == 5
    assert manifest["outputTokenCount"] > 0

    # the bare id and an un-encoded ARN in the path name the same job
    assert client.get_model_invocation_job(jobIdentifier=job_id)["jobArn"] == arn
    raw = httpx.get(f"{url}/model-invocation-job/{arn}")
    assert raw.status_code == 200 and raw.json()["jobArn"] == arn
    assert raw.json()["submitTime"].endswith("Z")

    assert wait_for(client, other, {"Stopped", "Completed"}, timeout=60)["status"] == "Stopped"

    listed = client.list_model_invocation_jobs(nameContains="cp-test")["invocationJobSummaries"]
    assert [j["jobName"] for j in listed] == ["cp-test-b", "cp-test-a"]  # newest first
    ascending = client.list_model_invocation_jobs(sortOrder="Ascending", sortBy="CreationTime")
    assert [j["jobName"] for j in ascending["invocationJobSummaries"]] == ["cp-test-a", "cp-test-b"]
    completed = client.list_model_invocation_jobs(statusEquals="Completed")[
        "invocationJobSummaries"
    ]
    assert [j["jobArn"] for j in completed] == [arn]
    assert client.list_model_invocation_jobs(nameContains="nomatch")["invocationJobSummaries"] == []
    pages, token = [], None
    while True:
        page = client.list_model_invocation_jobs(
            maxResults=1, nameContains="cp-test", **({"nextToken": token} if token else {})
        )
        pages.append([j["jobName"] for j in page["invocationJobSummaries"]])
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [["cp-test-b"], ["cp-test-a"]]

    # the same clientRequestToken again: the same job, not a second one
    again = client.create_model_invocation_job(
        **create_args("cp-test-a", records, out, clientRequestToken="token-a")
    )
    assert again["jobArn"] == arn
    with pytest.raises(client.exceptions.ConflictException, match="jobName"):
        client.create_model_invocation_job(**create_args("cp-test-a", records, out))
    with pytest.raises(client.exceptions.ConflictException, match="only a waiting or running job"):
        client.stop_model_invocation_job(jobIdentifier=arn)
    assert len(client.list_model_invocation_jobs()["invocationJobSummaries"]) == 2


def test_errors_in_the_services_shape(start_server, records, tmp_path):
    url = start_server()
    client = bedrock(url)
    assert httpx.get(url + "/ping").json() == {"status": "ok"}
    assert (
        "/model-invocation-job/{jobIdentifier}/stop"
        in httpx.get(url + "/openapi.json").json()["paths"]
    )

    with pytest.raises(client.exceptions.ResourceNotFoundException, match="abcdefabcdef") as info:
        client.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.stop_model_invocation_job(
            jobIdentifier="arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/abcdefabcdef"
        )

    # botocore refuses a timeout under its model's minimum (24) itself; above 168 reaches us
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client.create_model_invocation_job(
            **create_args("bad-timeout", records, tmp_path / "o", timeoutDurationInHours=2)
        )
    with pytest.raises(
        client.exceptions.ValidationException, match="timeoutDurationInHours"
    ) as info:
        client.create_model_invocation_job(
            **create_args("bad-timeout", records, tmp_path / "o", timeoutDurationInHours=200)
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400 and "200" in str(
        info.value
    )
    with pytest.raises(client.exceptions.ValidationException, match="inputDataConfig"):
        client.create_model_invocation_job(
            **create_args("no-input", tmp_path / "missing.jsonl", tmp_path / "o")
        )
    with pytest.raises(client.exceptions.ValidationException, match="statusEquals"):
        client.list_model_invocation_jobs(statusEquals="Done")

    endpoint = url + "/model-invocation-job"
    short = httpx.post(
        endpoint, json=create_args("bad-timeout", records, tmp_path / "o", timeoutDurationInHours=2)
    )
    assert short.status_code == 400 and short.headers["x-amzn-errortype"] == "ValidationException"
    assert (
        "timeoutDurationInHours" in short.json()["message"]
        and "24 to 168" in short.json()["message"]
    )
    bad_name = httpx.post(endpoint, json=create_args("not a name!", records, tmp_path / "o"))
    assert (
        bad_name.status_code == 400
        and bad_name.headers["x-amzn-errortype"] == "ValidationException"
    )
    assert "jobName" in bad_name.json()["message"] and "not a name!" in bad_name.json()["message"]

    # every problem at once, in the service's field names
    many = httpx.post(
        endpoint,
        json={
            "jobname": "x",
            "timeoutDurationInHours": 24,
            "inputDataConfig": {
                "s3InputDataConfig": {"s3Uri": str(records), "s3InputFormat": "CSV"}
            },
        },
    )
    assert many.status_code == 400 and many.headers["x-amzn-errortype"] == "ValidationException"
    message = many.json()["message"]
    for expected in (
        "jobName: is required",
        "modelId: is required",
        "outputDataConfig: is required",
        "s3InputFormat",
        "'CSV'",
        "jobname: unknown field",
    ):
        assert expected in message, message
    not_json = httpx.post(endpoint, content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["message"]
    listing = httpx.get(
        url + "/model-invocation-jobs",
        params={"maxResults": 0, "sortOrder": "Up", "nextToken": "zz"},
    )
    assert (
        listing.status_code == 400 and listing.headers["x-amzn-errortype"] == "ValidationException"
    )
    assert "maxResults" in listing.json()["message"] and "sortOrder" in listing.json()["message"]
    token = httpx.get(url + "/model-invocation-jobs", params={"nextToken": "zz"})
    assert token.status_code == 400 and "nextToken" in token.json()["message"]
    assert httpx.get(url + "/model-invocation-jobs", params={"maxResults": 1000}).json() == {
        "invocationJobSummaries": []
    }


def test_api_key_is_required_when_set(start_server, tmp_path):
    key_file = tmp_path / "api-key"
    key_file.write_text("sekrit\n")
    key_file.chmod(0o600)
    url = start_server("--api-key-file", str(key_file))
    assert httpx.get(url + "/ping").status_code == 200
    refused = httpx.get(url + "/model-invocation-jobs")
    assert refused.status_code == 401 and "API key" in refused.json()["message"]
    assert (
        httpx.get(
            url + "/model-invocation-jobs", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    assert (
        httpx.get(
            url + "/model-invocation-jobs", headers={"Authorization": "Bearer sekrit"}
        ).status_code
        == 200
    )

    client = bedrock(url)
    with pytest.raises(client.exceptions.AccessDeniedException):
        client.list_model_invocation_jobs()  # SigV4 Authorization is not a key

    def add_key(request, **_):
        request.headers["x-api-key"] = "sekrit"

    client.meta.events.register("before-send.bedrock.*", add_key)
    assert client.list_model_invocation_jobs()["invocationJobSummaries"] == []


def test_public_host_without_api_key_is_refused_before_binding(isolated_env):
    result = subprocess.run(
        [
            str(VENV_BIN / "springboard"),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(servers.free_port()),
        ],
        env=server_env(isolated_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--host" in result.stderr and "API key" in result.stderr
    assert "control plane on" not in result.stdout + result.stderr  # it never started
