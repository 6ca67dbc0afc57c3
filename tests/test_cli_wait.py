"""Waiting for jobs as a script does: `--wait` / `jobs wait` exit codes by how the job ended,
`jobs logs --follow` returning once the job has ended, Ctrl-C leaving the job running, and
the SDK raising `JobFailedError` for a job that failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from springboard.errors import JobFailedError
from springboard.jobs import service, transform
from tests import waiting
from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration


def write_records(path: Path, n: int) -> Path:
    with open(path, "w") as handle:
        for i in range(n):
            record = {"id": f"r{i}", "text_inputs": f"summarize: note {i} about the weather"}
            handle.write(json.dumps(record) + "\n")
    return path


wait_for = partial(waiting.wait_for, timeout=90.0)


def _as_a_terminal_would() -> None:
    # a shell without job control starts background commands with SIGINT ignored, and
    # their children inherit that (Python then installs no KeyboardInterrupt handler): a
    # test run started that way must still give the CLI the Ctrl-C a terminal would
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    """The CLI in its own process group, as a shell runs a foreground command."""
    return subprocess.Popen(
        [str(VENV_BIN / "springboard"), *args],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_as_a_terminal_would,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def long_transform(tmp_path: Path, n: int = 1500) -> str:
    source = write_records(tmp_path / "in.jsonl", n)
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(source),
        output=str(tmp_path / "o"),
        env={"HYPER_PARAMS": '{"max_length": 8}'},
        batch_size=8,
    )
    wait_for(lambda: service.get(job.id).counts.get("processed", 0) >= 8)
    return job.id


def test_stopped_job_exits_4_and_follow_returns_when_it_ends(isolated_env, tmp_path):
    source = write_records(tmp_path / "in.jsonl", 1500)
    waiting = start(
        isolated_env,
        "transform",
        "springboard-tiny-t5",
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o"),
        "--env",
        "HYPER_PARAMS={'max_length': 8}",
        "--batch-size",
        "8",
        "--wait",
    )
    job = wait_for(lambda: (jobs := service.list_jobs(kind="transform")) and jobs[0])
    wait_for(lambda: service.get(job.id).counts.get("processed", 0) >= 8)
    following = start(isolated_env, "jobs", "logs", job.id, "--follow")
    also_waiting = start(isolated_env, "jobs", "wait", job.id)
    time.sleep(1)
    assert following.poll() is None  # still running: the job has not ended
    service.stop(job.id)
    rc, out, err = finish(waiting)
    assert rc == 4, err
    assert f"{job.id} Stopped" in out
    assert finish(also_waiting)[0] == 4
    rc, out, err = finish(following, timeout=30)
    assert rc == 0, err
    # a job that ended long ago: --follow prints its log and returns at once
    started = time.monotonic()
    again = subprocess.run(
        [str(VENV_BIN / "springboard"), "jobs", "logs", job.id, "--follow"],
        env=cli_env(isolated_env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() and time.monotonic() - started < 20


def test_failed_job_exits_1_and_the_sdk_raises_job_failed_error(isolated_env, tmp_path):
    from springboard import Model

    source = write_records(tmp_path / "in.jsonl", 1500)
    transformer = Model("springboard-tiny-t5").transformer(
        output_path=str(tmp_path / "o"), env={"HYPER_PARAMS": '{"max_length": 8}'}, batch_size=8
    )
    job = transformer.transform(str(source), wait=False)
    wait_for(lambda: service.get(job.id).counts.get("processed", 0) >= 8)
    os.kill(service.get(job.id).pid, signal.SIGKILL)
    wait_for(lambda: service.get(job.id).status == "Failed")
    rc, out, err = finish(start(isolated_env, "jobs", "wait", job.id))
    assert rc == 1, err
    assert "Failed" in out and "worker lost" in out
    rc, out, err = finish(start(isolated_env, "jobs", "wait", job.id, "--json"))
    assert rc == 1 and json.loads(out)["status"] == "Failed"
    with pytest.raises(JobFailedError) as raised:
        transformer.wait()
    assert raised.value.job_id == job.id and raised.value.status == "Failed"
    assert "worker lost" in raised.value.status_message and job.id in str(raised.value)


def test_ctrl_c_during_wait_leaves_the_job_running_and_says_how_to_follow_it(
    isolated_env, tmp_path
):
    job_id = long_transform(tmp_path)
    waiting = start(isolated_env, "jobs", "wait", job_id)
    assert waiting.stderr is not None
    shown = waiting.stderr.readline()  # the progress display is up (not a slow start-up)
    assert job_id in shown, shown
    os.killpg(waiting.pid, signal.SIGINT)  # Ctrl-C: the whole foreground process group
    rc, _out, err = finish(waiting)
    assert rc == 130, err
    assert f"job {job_id} keeps running" in err
    for command in (
        f"springboard jobs wait {job_id}",
        f"springboard jobs logs {job_id} --follow",
        f"springboard jobs stop {job_id}",
    ):
        assert command in err
    time.sleep(1)
    assert service.get(job_id).status == "InProgress"
    service.stop(job_id)
    assert service.wait(job_id, timeout=60).status == "Stopped"


QG_TRAIN = Path(__file__).resolve().parents[1] / "examples" / "question-generation" / "train"


def test_ctrl_c_during_train_wait_and_estimator_fit_raises_for_a_stopped_job(isolated_env):
    import threading

    from springboard import Estimator

    training = start(
        isolated_env,
        "train",
        "springboard-tiny-t5",
        "--train",
        str(QG_TRAIN),
        "--name",
        "long",
        "-H",
        "max_steps=2000",
        "-H",
        "validation_split_ratio=0",
        "--wait",
    )
    job = wait_for(lambda: (jobs := service.list_jobs(kind="training")) and jobs[0])
    wait_for(lambda: (service.get(job.id).counts or {}).get("step", 0) >= 1, timeout=120)
    os.killpg(training.pid, signal.SIGINT)
    rc, _out, err = finish(training)
    assert rc == 130, err
    assert f"springboard jobs stop {job.id}" in err
    assert not service.get(job.id).done  # the job goes on
    service.stop(job.id)
    assert service.wait(job.id, timeout=120).status == "Stopped"

    estimator = Estimator(
        "springboard-tiny-t5", hyperparameters={"max_steps": 2000, "validation_split_ratio": 0}
    )
    raised: list[BaseException] = []

    def fit() -> None:
        try:
            estimator.fit({"train": str(QG_TRAIN)}, job_name="fitted")
        except BaseException as error:  # noqa: BLE001 (handed to the test thread)
            raised.append(error)

    thread = threading.Thread(target=fit)
    thread.start()
    fitted = wait_for(
        lambda: [j for j in service.list_jobs(kind="training") if j.name == "fitted"]
    )[0]
    wait_for(lambda: (service.get(fitted.id).counts or {}).get("step", 0) >= 1, timeout=120)
    service.stop(fitted.id)
    thread.join(timeout=120)
    assert len(raised) == 1 and isinstance(raised[0], JobFailedError), raised
    assert raised[0].job_id == fitted.id and raised[0].status == "Stopped"


def test_invocation_job_create_wait_exits_4_when_the_job_is_stopped(isolated_env, tmp_path):
    records = tmp_path / "records.jsonl"
    records.write_text(
        "".join(
            json.dumps(
                {
                    "recordId": f"r{i}",
                    "modelInput": {"prompt": f"Tom has {i} apples.", "max_tokens": 8},
                }
            )
            + "\n"
            for i in range(3000)
        )
    )
    waiting = start(
        isolated_env,
        "invocation-jobs",
        "create",
        "--job-name",
        "long",
        "--model-id",
        "springboard-tiny-llama",
        "--input",
        str(records),
        "--output",
        str(tmp_path / "out"),
        "--wait",
        "--json",
    )
    job = wait_for(lambda: (jobs := service.list_jobs(kind="invocation")) and jobs[0])
    wait_for(lambda: (service.get(job.id).counts or {}).get("processed", 0) >= 1, timeout=120)
    service.stop(job.id)
    rc, out, err = finish(waiting)
    assert rc == 4, err
    assert json.loads(out)["status"] == "Stopped"
