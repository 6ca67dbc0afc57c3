"""One reconcile and one scheduler, for real: reads never start a worker, admission and
expiry happen in scheduler passes (on create/resume/worker exit, `jobs schedule`, and the
ticker of `springboard serve`), names are unique by the store's index and the queue quota
holds under the admission lock even when creates race, and endpoint statuses follow
their state machine. Real SQLite, real worker processes, real CLI subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pydantic
import pytest

from springboard.config import reset_settings
from springboard.errors import ConflictError, QuotaExceededError, ValidationError
from springboard.jobs import scheduler, service
from springboard.jobs.models import InvocationCounts, JobKind, TransformCounts
from springboard.jobs.states import JobStatus
from springboard.store import endpoint_records, job_records
from springboard.store.endpoint_records import (
    EndpointStatus,
    IllegalEndpointTransitionError,
)
from tests import waiting
from tests.conftest import VENV_BIN, cli_env

HANG_GUARD = 180  # seconds: only against a hang, never a performance bound
MODEL = "springboard-tiny-llama"


def records(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            json.dumps(
                {
                    "recordId": f"r{i}",
                    "modelInput": {
                        "prompt": f"Tom has {i} apples.",
                        "temperature": 0,
                        "max_tokens": 4,
                    },
                }
            )
            + "\n"
            for i in range(n)
        )
    )
    return path


def invocation_job(tmp_path: Path, name: str, n: int = 3, **extra):
    from springboard.jobs import invocation

    return invocation.create(
        job_name=name,
        model_id=MODEL,
        input_uri=str(records(tmp_path / f"{name}.jsonl", n)),
        output_uri=str(tmp_path / "out"),
        **extra,
    )


def set_settings(job_id: str, **changes) -> None:
    """Change a job's recorded settings (e.g. a deadline already past)."""
    from sqlalchemy import update

    from springboard.store.db import session_scope
    from springboard.store.schema import jobs

    settings = {**job_records.get(job_id)["settings"], **changes}
    with session_scope() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(settings=settings))


def past() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


def cli(home: Path, *args: str) -> dict | list:
    done = subprocess.run(
        [str(VENV_BIN / "springboard"), *args, "--json"],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


wait_for = partial(waiting.wait_for, timeout=HANG_GUARD, interval=0.1)


def launched() -> set[str]:
    """Jobs a worker was ever started for, as the store records it (the executor writes
    the pid when it launches one)."""
    return {r["id"] for r in job_records.find() if r["pid"] is not None}


def race(n: int, call) -> list:
    """Run `call(i)` in `n` threads released together; each one's result or exception."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as exc:  # noqa: BLE001 (the outcome under test)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD)
    return results


def plain_job(kind: str = "transform", name: str | None = None, **extra):
    """A job recorded through the service, never launched (no worker needed)."""
    return service.create(
        kind=kind,
        name=name,
        model_id=MODEL,
        model_version="1.0.0",
        inputs={},
        outputs={},
        settings=extra.pop("settings", {}),
        launch=False,
        **extra,
    )


@pytest.fixture
def one_slot(monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_MAX_CONCURRENT_INVOCATION_JOBS", "1")
    reset_settings()


# -- reads never start anything ------------------------------------------------------------


@pytest.mark.integration
def test_reading_never_starts_a_worker_the_scheduler_does(tmp_path, isolated_env, one_slot):
    first = invocation_job(tmp_path, "first", n=3000)  # long: it holds the only slot
    wait_for(lambda: service.get(first.id).status == JobStatus.IN_PROGRESS)
    waiting = invocation_job(tmp_path, "waiting")
    assert waiting.status == JobStatus.SCHEDULED
    os.kill(service.get(first.id).pid, signal.SIGKILL)  # its slot frees; nobody calls back
    wait_for(lambda: service.get(first.id).status == JobStatus.FAILED)
    assert "worker lost" in service.get(first.id).status_message  # reported: that write is allowed

    from springboard.jobs import invocation

    for _ in range(25):  # a free slot, and many reads of every kind
        assert service.get(waiting.id).status == JobStatus.SCHEDULED
        assert invocation.get(waiting.id).status == JobStatus.SCHEDULED
        service.list_jobs()
        invocation.list_jobs()
    for args in (("jobs", "describe", waiting.id), ("invocation-jobs", "get", waiting.id)):
        assert cli(isolated_env, *args)["status"] == "Scheduled"
    cli(isolated_env, "jobs", "list")
    assert launched() == {first.id}
    row = job_records.get(waiting.id)
    assert row["pid"] is None and row["started_at"] is None
    assert Path(service.get(waiting.id).log_path).read_text() == ""  # no worker wrote to it

    started = cli(isolated_env, "jobs", "schedule")  # one scheduler pass
    assert started["invocation"] == [waiting.id]
    assert launched() == {first.id, waiting.id}
    assert service.wait(waiting.id, timeout=HANG_GUARD).status == JobStatus.COMPLETED


@pytest.mark.integration
def test_describe_and_invocation_jobs_get_agree_on_expired(tmp_path, isolated_env):
    scheduled = invocation_job(tmp_path, "late", launch=False)
    job_records.update_row(scheduled.id, status="Scheduled")
    submitted = invocation_job(tmp_path, "later", launch=False)
    for job in (scheduled, submitted):
        set_settings(job.id, deadline=past())
    # whichever command reads first, both say Expired
    described = cli(isolated_env, "jobs", "describe", scheduled.id)
    got = cli(isolated_env, "invocation-jobs", "get", scheduled.id)
    assert described["status"] == got["status"] == "Expired"
    got = cli(isolated_env, "invocation-jobs", "get", submitted.id)
    described = cli(isolated_env, "jobs", "describe", submitted.id)
    assert described["status"] == got["status"] == "Expired"
    assert (
        "deadline" in described["status_message"] and got["message"] == described["status_message"]
    )
    assert launched() == set()  # expiring is a status change, never a launch


def test_a_scheduler_pass_expires_any_kind_with_a_deadline_without_a_read():
    overdue = plain_job(settings={})  # a transform job, for once with a deadline:
    set_settings(overdue.id, deadline=past())
    assert job_records.get(overdue.id)["status"] == "Submitted"  # the raw row: nothing read it
    assert scheduler.tick() == {kind.value: [] for kind in JobKind}
    row = job_records.get(overdue.id)
    assert row["status"] == "Expired" and "deadline" in row["status_message"]
    assert launched() == set()  # expired instead of started
    later = plain_job(settings={"deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert scheduler.reconcile(job_records.get(later.id))["status"] == "Submitted"


@pytest.mark.integration
def test_springboard_serve_runs_the_scheduler(tmp_path, isolated_env, one_slot):
    overdue = invocation_job(tmp_path, "overdue", launch=False)
    job_records.update_row(overdue.id, status="Scheduled")
    set_settings(overdue.id, deadline=past())
    waiting = invocation_job(tmp_path, "ready", launch=False)  # a free slot, nobody scheduling
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**cli_env(isolated_env), "SPRINGBOARD_MAX_CONCURRENT_INVOCATION_JOBS": "1"}
    env.pop("SPRINGBOARD_API_KEY", None)
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [str(VENV_BIN / "springboard"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        # raw rows only: this process reads nothing through the service meanwhile
        wait_for(lambda: job_records.get(overdue.id)["status"] == "Expired")
        wait_for(lambda: job_records.get(waiting.id)["pid"] is not None)
        assert httpx.get(f"http://127.0.0.1:{port}/ping", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    assert service.wait(waiting.id, timeout=HANG_GUARD).status == JobStatus.COMPLETED


# -- names and quota, under races -------------------------------------------------------------


def test_duplicate_names_are_refused_when_creates_race():
    results = race(8, lambda i: plain_job(name="same"))
    created = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(created) == 1 and len(refused) == 7
    assert all(
        isinstance(e, ConflictError)
        and e.field == "name"
        and e.value == "same"
        and "exists already" in str(e)
        and "pick another name" in e.fix
        for e in refused
    )
    assert [j.name for j in service.list_jobs(kind="transform")] == ["same"]
    assert plain_job(kind="training", name="same").name == "same"  # unique per kind


@pytest.mark.integration
def test_duplicate_names_are_refused_when_processes_race(tmp_path, isolated_env):
    go = tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from springboard.errors import ConflictError\n"
        "from springboard.jobs import service\n"
        "service.list_jobs()  # imported and connected before the start line\n"
        "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.005)\n"
        "try:\n"
        "    service.create(kind='invocation', name='racer', model_id='m', model_version='1',\n"
        "                   inputs={}, outputs={}, settings={}, launch=False)\n"
        "    print('created')\n"
        "except ConflictError as exc:\n"
        "    print('conflict', exc.field)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(go)],
            env=cli_env(isolated_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # not a bound: the racers are more likely all waiting at the line
    go.touch()
    outputs = sorted(p.communicate(timeout=HANG_GUARD)[0].strip() for p in procs)
    assert outputs == ["conflict name"] * 3 + ["created"], outputs
    assert len(job_records.find(name="racer")) == 1


def test_the_queue_quota_holds_when_creates_race(tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_MAX_QUEUED_INVOCATION_JOBS", "2")
    reset_settings()
    source = records(tmp_path / "in.jsonl", 1)
    from springboard.jobs import invocation

    results = race(
        6,
        lambda i: invocation.create(
            job_name=f"q{i}",
            model_id=MODEL,
            input_uri=str(source),
            output_uri=str(tmp_path / "out"),
            launch=False,
        ),
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 4 and all(isinstance(e, QuotaExceededError) for e in refused), refused
    assert all("limit is 2" in str(e) for e in refused)
    assert len(job_records.find(kind="invocation")) == 2


# -- kinds, statuses and counts are typed -------------------------------------------------------


def test_kinds_statuses_and_counts_are_typed():
    counts = {
        "total": 4,
        "processed": 0,
        "succeeded": 0,
        "failed": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    job = plain_job(counts=counts)
    assert job.kind is JobKind.TRANSFORM and job.status is JobStatus.SUBMITTED
    assert isinstance(job.typed_counts(), TransformCounts) and job.typed_counts().total == 4
    dumped = job.model_dump(mode="json")
    assert dumped["kind"] == "transform" and dumped["status"] == "Submitted"
    assert dumped["counts"] == counts  # the JSON the APIs return is unchanged
    with pytest.raises(pydantic.ValidationError, match="totl"):  # a typo never reaches the store
        plain_job(name="typo", counts={"totl": 1})
    invocation = plain_job(kind="invocation", counts={"total": 2})
    assert isinstance(invocation.typed_counts(), InvocationCounts)
    assert invocation.counts == {"total": 2}
    with pytest.raises(ValidationError) as err:
        service.list_jobs(kind="tranform")
    assert err.value.issues[0].field == "kind" and "transform" in err.value.issues[0].fix
    with pytest.raises(ValidationError, match="InProgress"):
        service.list_jobs(status="Running")


# -- endpoints ---------------------------------------------------------------------------------


def endpoint_row(name: str) -> dict:
    return {
        "name": name,
        "model_id": MODEL,
        "model_version": "1.0.0",
        "status": EndpointStatus.CREATING,
        "status_message": None,
        "host": "127.0.0.1",
        "port": None,
        "url": None,
        "pid": None,
        "pid_started": None,
        "env": {},
        "model_dir": None,
        "log_path": "/dev/null",
    }


def test_endpoint_statuses_follow_their_state_machine():
    endpoint_records.insert(endpoint_row("ep"))
    assert endpoint_records.transition("ep", EndpointStatus.IN_SERVICE)
    assert not endpoint_records.transition("ep", EndpointStatus.CREATING)  # no way back
    assert endpoint_records.transition("ep", EndpointStatus.FAILED, message="exited")
    # a server finishing its load late cannot revive it, whichever way it asks
    assert not endpoint_records.update_row("ep", status="InService", status_message=None)
    assert not endpoint_records.update_row("ep", status="InService", only_if_status=("Failed",))
    row = endpoint_records.get("ep")
    assert row["status"] == "Failed" and row["status_message"] == "exited"
    with pytest.raises(IllegalEndpointTransitionError) as err:
        endpoint_records.require("ep", EndpointStatus.IN_SERVICE)
    assert isinstance(err.value, ConflictError) and err.value.field == "status"
    assert err.value.value == "Failed" and "Creating" in err.value.fix
    assert endpoint_records.update_row("ep", port=1234)  # other columns change freely
    assert endpoint_records.transition("ep", EndpointStatus.DELETING)
    assert not endpoint_records.transition("ep", EndpointStatus.IN_SERVICE)
    with pytest.raises(ValueError, match="Creating"):
        endpoint_records.insert({**endpoint_row("ep2"), "status": "InService"})


def test_deleting_a_failed_endpoint_goes_through_deleting():
    from springboard.serving import endpoints

    endpoint_records.insert(endpoint_row("gone"))
    endpoint_records.update_row("gone", pid=2**22 + 7, pid_started=1.0)  # no such process
    assert endpoints.describe("gone").status == EndpointStatus.FAILED  # the dead server, reported
    endpoints.delete("gone")
    assert endpoint_records.get("gone") is None
