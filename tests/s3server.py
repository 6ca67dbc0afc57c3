"""A real S3-compatible server for the tests: moto's standalone server, in its own
process on 127.0.0.1, reached the way any S3 user reaches one — `AWS_ENDPOINT_URL` and
(dummy) keys in the environment, read by botocore/s3fs in the test process and in every
job worker it starts. Nothing is mocked inside the test process.

`s3` is session-scoped (one server for the run, shared by every module that imports it,
always stopped at the end; its log is kept for a failure message); `s3_env` points the test's environment at it; `bucket` makes a
fresh bucket per test, so tests never see each other's objects.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

START_TIMEOUT = 60.0  # a hang guard: moto starts in 2-5 s on a quiet machine
_buckets = itertools.count()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class S3Server:
    """`python -m moto.server -H 127.0.0.1 -p PORT` as a subprocess."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log()}")
            try:
                if httpx.get(self.url + "/moto-api/", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto server did not answer in {START_TIMEOUT} s: {self.log()}")
            time.sleep(0.1)

    def env(self) -> dict[str, str]:
        """The standard AWS settings that point botocore (and so s3fs) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> Any:
        import boto3

        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


_server: S3Server | None = None


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One server for the whole run, however many test modules import this fixture."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = S3Server(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield _server
    finally:
        _server.stop()


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """This test (and every worker it starts) reaches S3 through `s3`."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    _forget_filesystems()
    yield s3
    _forget_filesystems()


def _forget_filesystems() -> None:
    """fsspec caches filesystems by their arguments, not the environment they read."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    """A new, empty bucket for this test."""
    name = f"sb-test-{os.getpid()}-{next(_buckets)}"
    s3_env.client().create_bucket(Bucket=name)
    return name


def put(server: S3Server, bucket: str, key: str, body: bytes | str) -> str:
    server.client().put_object(
        Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body
    )
    return f"s3://{bucket}/{key}"


def get(server: S3Server, bucket: str, key: str) -> bytes:
    return server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def keys(server: S3Server, bucket: str, prefix: str = "") -> list[str]:
    listed = server.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))
