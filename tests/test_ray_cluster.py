"""Batch jobs and endpoints on a Ray cluster: a real two-node cluster on loopback (two
raylets on this machine, one CPU each, no dashboard), started once for the file with
`springboard.cluster.local` and always torn down (its processes, by pid).

An endpoint of two replicas on Ray Serve answers its routes and lists its replicas; one
replica is killed (SIGKILL) under a load of four clients, every request is answered with
at most one retry, and Serve has two replicas running again; an endpoint autoscaled
between one and two replicas gets its second under load. A fine-tune on two Ray Train
workers (DDP) is stopped, resumed from S3 (its checkpoints there, the local ones deleted),
and logs the loss curve of the same steps run in one
process (within a tolerance), and its model predicts. Then an invocation job over both
nodes writes byte for byte what the same job run locally writes, and a transform job
spread over both nodes, whose second node is killed mid-job (its raylet and everything
under it, SIGKILL), completes and does the same: every record once, in order (one job
does both, to keep the file near a minute). The refusals (a bad address, instances without
a cluster, no `ray`, training workers without a cluster) need no cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import psutil
import pytest

from springboard.cluster import RayNotInstalledError
from springboard.cluster.local import LocalCluster, kill, local_cluster
from springboard.errors import ClientError, ValidationError
from springboard.jobs import invocation, service, transform
from springboard.jobs.placement import placement
from springboard.serving import endpoints
from tests import waiting
from tests.conftest import VENV_BIN, cli_env
from tests.s3server import S3Server, bucket, keys, s3, s3_env  # noqa: F401 (fixtures)
from tests.servers import free_port

# the head notices a dead node in about a second instead of fifteen
SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 2}


@pytest.fixture(scope="module")
def worker_port() -> int:
    """The second node's raylet listens here: how the last test finds it."""
    return free_port()


@pytest.fixture(scope="module")
def cluster(worker_port: int, s3: S3Server) -> Iterator[LocalCluster]:
    pytest.importorskip("ray")
    # the nodes reach the S3 server as a cluster's nodes reach theirs: with their own
    # settings and credentials (here moto's), not the driver's (which Ray never passes)
    with pytest.MonkeyPatch.context() as nodes_env:
        for key, value in s3.env().items():
            nodes_env.setenv(key, value)
        with local_cluster(system_config=SYSTEM_CONFIG, timeout=120) as found:
            found.add_node(node_manager_port=worker_port, timeout=120)
            nodes_env.undo()  # the tests' own environment is theirs to set
            yield found
    # however the tests went: every process of this cluster was killed, by pid


def _records(path: Path, n: int) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text_inputs": f"summarize: record number {i} of {n}"})
            + "\n"
            for i in range(n)
        )
    )
    return path


def _invocation_records(path: Path, n: int) -> Path:
    """`n - 1` Bedrock-style records in the completion shape (greedy: temperature 0; 4
    tokens), then one with a misspelt field: its error line must match too."""
    rows = [
        {
            "recordId": f"q{i}",
            "modelInput": {"prompt": f"summarize: note {i}", "max_tokens": 4, "temperature": 0},
        }
        for i in range(n - 1)
    ]
    rows.append(
        {
            "recordId": "typo",
            "modelInput": {"promt": "summarize: no", "max_tokens": 4, "temperature": 0},
        }
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


_wait = partial(waiting.wait_for, timeout=120, interval=0.1)


HYPER = {"HYPER_PARAMS": '{"max_length": 12}'}


def _deploy(cluster: LocalCluster, name: str, **placement: int) -> endpoints.EndpointInfo:
    """The bundled Llama deployed on `cluster` as `name`, InService."""
    info = endpoints.deploy(
        "springboard-tiny-llama",
        name=name,
        port=free_port(),
        cluster=cluster.address,
        timeout=240,
        **placement,
    )
    assert info.status == "InService" and info.url and info.url.endswith(f"/{name}")
    return info


def _running(name: str, count: int, *, timeout: float, gone: frozenset[int] = frozenset()):  # type: ignore[no-untyped-def]
    """The endpoint's replicas once exactly `count` are RUNNING, none of them a `gone` pid."""
    return _wait(
        lambda: (
            (r := endpoints.describe(name).replicas)
            and [x["state"] for x in r] == ["RUNNING"] * count
            and not gone & {x["pid"] for x in r}
            and r
        ),
        timeout=timeout,
    )


def test_a_bad_cluster_address_or_instances_without_a_cluster_are_refused(tmp_path: Path):
    source = _records(tmp_path / "in.jsonl", 2)
    with pytest.raises(ClientError) as bad:
        transform.submit(
            "springboard-tiny-t5",
            input=str(source),
            output=str(tmp_path / "o"),
            cluster="no such place",
        )
    assert bad.value.field == "cluster"
    with pytest.raises(ClientError) as alone:
        transform.submit(
            "springboard-tiny-t5", input=str(source), output=str(tmp_path / "o"), instance_count=2
        )
    assert alone.value.field == "instance_count"


def test_without_ray_the_error_names_the_install_command(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(RayNotInstalledError) as missing:
        placement("127.0.0.1:6379")
    assert "pip install 'springboard-llm[ray]'" in str(missing.value)


@pytest.mark.ray
@pytest.mark.integration
@pytest.mark.slow
def test_an_endpoint_of_two_replicas_answers_every_route_and_lists_them(cluster: LocalCluster):
    # first in the file: the last test kills the second node
    info = _deploy(cluster, "r2", instance_count=2)
    try:
        running = _running("r2", 2, timeout=30)
        asked = {"inputs": "once upon a time", "parameters": {"max_new_tokens": 4}}
        native = httpx.post(f"{info.url}/invocations", json=asked, timeout=60)
        assert native.status_code == 200 and native.json()[0]["generated_text"]
        runtime = httpx.post(f"{info.url}/endpoints/r2/invocations", json=asked, timeout=60)
        assert runtime.json() == native.json()  # greedy: the same answer from either replica
        completion = httpx.post(
            f"{info.url}/v1/completions",
            json={"model": "springboard-tiny-llama", "prompt": "once upon", "max_tokens": 3},
            timeout=60,
        )
        assert completion.status_code == 200 and completion.json()["usage"]["completion_tokens"]

        # a replica killed under load: every request is answered, each retried at most once
        ours = {p.pid for p in cluster.processes()}
        pids = {r["pid"] for r in running}
        assert len(pids) == 2 and pids <= ours, (running, "not this cluster's processes")
        # either replica: the proxy spreads requests over both, so it may die mid-request
        # (its client then sees a 500 from the Serve proxy and retries) or between two
        victim = psutil.Process(running[0]["pid"])
        load = {"inputs": "once upon a time", "parameters": {"max_new_tokens": 16}}
        expected = httpx.post(f"{info.url}/invocations", json=load, timeout=60).json()
        url = f"{info.url}/invocations"
        answers, killed_at = _under_load(url, load, lambda: kill([victim]))
        assert all(a.status == 200 for a in answers), answers
        assert all(a.body == expected for a in answers)  # the survivor answers the same
        assert max(a.attempts for a in answers) <= 2
        assert any(a.started > killed_at for a in answers)  # requests went on after the kill
        replaced = _running("r2", 2, timeout=90, gone=frozenset({victim.pid}))
        took = time.monotonic() - killed_at
        retried = [a.failures for a in answers if a.failures]
        after = sum(a.started > killed_at for a in answers)
        print(
            f"\nload {max(a.ended for a in answers) - min(a.started for a in answers):.1f} s, "
            f"{after} requests started after the kill; replica replaced in {took:.1f} s; "
            f"first attempts failed: {retried}"
        )
        assert {x["pid"] for x in replaced} - pids  # a new process

        # its replicas hold both CPUs: a two-worker fine-tune waits, says why, and a stop
        # ends the wait (Ray alone would keep its workers pending, deaf to the stop)
        from springboard.training import jobs as training_jobs

        waits = training_jobs.submit(
            "springboard-tiny-t5",
            train=str(QG_TRAIN),
            name="waits",
            cluster=cluster.address,
            hyperparameters={"max_steps": "2", "instance_count": "2"},
        )
        _wait(lambda: "0 free now; Springboard runs there: endpoint r2 (2 copies" in _log(waits.id))
        _wait(lambda: service.get(waits.id).counts.get("waiting_for") == "2 free CPUs (0 free)")
        service.stop(waits.id)
        ended = service.wait(waits.id, timeout=60)
        assert ended.status == "Stopped", ended.status_message
        assert ended.status_message == "stopped while waiting for 2 free CPUs on the cluster"
        assert "waiting_for" not in ended.counts
    finally:
        endpoints.delete("r2")


def _log(job_id: str) -> str:
    path = Path(service.get(job_id).log_path)
    return path.read_text() if path.exists() else ""


@pytest.mark.ray
@pytest.mark.integration
@pytest.mark.slow
def test_an_autoscaled_endpoint_adds_a_replica_under_load(cluster: LocalCluster):
    # before the last test, which kills the second node; after the first endpoint, whose
    # deploy started Serve's one proxy of the cluster: this one is served there too, on
    # that port, not the one asked for (its URL says so)
    info = _deploy(cluster, "auto", instance_count=1, min_instances=1, max_instances=2)
    try:
        first = _running("auto", 1, timeout=30)  # starts at its initial count
        # six clients keep ~6 requests in flight; the target is 2 per replica, so Serve's
        # autoscaler asks for more and gets the most allowed: 2
        url, load = (
            f"{info.url}/invocations",
            {"inputs": "once", "parameters": {"max_new_tokens": 32}},
        )
        stop = threading.Event()
        statuses: list[int] = []

        def client() -> None:
            while not stop.is_set():
                statuses.append(httpx.post(url, json=load, timeout=60).status_code)

        with ThreadPoolExecutor(6) as pool:
            for _ in range(6):
                pool.submit(client)
            try:
                grown = _running("auto", 2, timeout=120)
            finally:
                stop.set()
        assert len(grown) == 2 and first[0]["pid"] in {x["pid"] for x in grown}
        assert statuses and set(statuses) == {200}  # no request lost while it grew
    finally:
        endpoints.delete("auto")


@dataclass
class Answer:
    """One request of the load, as a user's client sent it (retrying at most once)."""

    status: int
    body: object
    attempts: int
    failures: list[str]
    started: float
    ended: float


def _ask_retrying_once(url: str, body: dict[str, object]) -> Answer:
    """POST as a user's client would: on a connection error or a 5xx, once more (after the
    Retry-After it names, if any, else a moment)."""
    started, failures = time.monotonic(), []
    for attempt in (1, 2):
        try:
            answer = httpx.post(url, json=body, timeout=60)
        except httpx.TransportError as exc:
            failures.append(type(exc).__name__)
            time.sleep(0.2)
            continue
        if answer.status_code < 500 or attempt == 2:
            data = answer.json() if answer.status_code == 200 else answer.text
            return Answer(answer.status_code, data, attempt, failures, started, time.monotonic())
        failures.append(f"{answer.status_code} {answer.text[:80]}")
        time.sleep(min(float(answer.headers.get("retry-after", 0.2)), 5.0))
    return Answer(0, None, 2, failures, started, time.monotonic())


def _under_load(
    url: str, body: dict[str, object], kill: Callable[[], None], *, clients: int = 4, n: int = 40
) -> tuple[list[Answer], float]:
    """`n` requests from `clients` threads; `kill` runs once a fifth of them are answered.
    The answers, and when the kill happened."""
    done = threading.Semaphore(0)
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(_ask_retrying_once, url, body) for _ in range(n)]
        for future in futures:
            future.add_done_callback(lambda _: done.release())
        for _ in range(n // 5):
            assert done.acquire(timeout=120), "the load did not get going"
        killed_at = time.monotonic()
        kill()
        return [f.result(timeout=180) for f in futures], killed_at


QG_TRAIN = Path(__file__).resolve().parents[1] / "examples" / "question-generation" / "train"


def test_training_workers_are_a_validated_hyperparameter_that_needs_a_cluster(
    monkeypatch: pytest.MonkeyPatch,
):
    from springboard.training import jobs as training_jobs
    from springboard.training.distributed import placement as training_placement

    with pytest.raises(ValidationError) as alone:
        training_jobs.submit(
            "springboard-tiny-t5",
            train=str(QG_TRAIN),
            hyperparameters={"instance_count": "2"},
            launch=False,
        )
    [issue] = alone.value.issues
    assert issue.field == "instance_count" and "--cluster" in (issue.fix or "")
    for bad in ("0", "two", "1.5", True):
        with pytest.raises(ValidationError) as wrong:
            training_placement({"instance_count": bad}, "127.0.0.1:6379")
        assert wrong.value.issues[0].field == "instance_count"
    values, where = training_placement({"instance_count": "2", "epochs": "1"}, "127.0.0.1:6379")
    assert values == {"epochs": "1"} and where.instance_count == 2  # not a model's knob
    assert training_placement({}, None)[1].cluster is None  # one process, here: as ever
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayNotInstalledError):
        training_placement({"instance_count": 2}, "127.0.0.1:6379")


def _losses(job_id: str) -> dict[int, float]:
    from springboard.jobs import paths

    return {
        p["step"]: p["value"]
        for p in paths.read_metrics(job_id)
        if p["metric_name"] == "train_loss"
    }


@pytest.mark.ray
@pytest.mark.integration
@pytest.mark.slow
def test_a_two_worker_fine_tune_stops_resumes_and_matches_the_one_process_loss_curve(
    cluster: LocalCluster,
    s3_env: S3Server,
    bucket: str,
):
    from springboard.catalog import Catalog
    from springboard.inference import Generator
    from springboard.jobs import paths
    from springboard.training import jobs as training_jobs

    common = {"max_steps": "8", "validation_split_ratio": "0", "seed": "7"}
    # the same global batch of 8 examples: one process takes all 8, each of two workers 4
    local = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(QG_TRAIN),
        name="one",
        hyperparameters={**common, "batch_size": "8"},
    )
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(QG_TRAIN),
        name="two",
        cluster=cluster.address,
        hyperparameters={**common, "batch_size": "4", "instance_count": "2"},
        checkpoint_uri=f"s3://{bucket}/two/",
    )
    # asked to stop while the workers start: both stop after step 1, with a checkpoint
    _wait(lambda: service.get(job.id).status == "InProgress", timeout=60)
    service.stop(job.id)
    stopped = service.wait(job.id, timeout=300)
    assert stopped.status == "Stopped", stopped.status_message
    assert stopped.counts["step"] == 1
    local_copy = paths.job_dir(job.id) / "checkpoints" / "checkpoint-1"
    assert local_copy.is_dir()
    # each worker wrote its part of the checkpoint to S3: rank 0 the weights and state,
    # each rank its RNG state; the state file (written last) says it is complete
    saved = keys(s3_env, bucket, "two/checkpoint-1/")
    for name in ("model.safetensors", "rng_state_0.pth", "rng_state_1.pth", "trainer_state.json"):
        assert f"two/checkpoint-1/{name}" in saved, saved
    # the job resumes on nodes that never saw its folder: from S3
    shutil.rmtree(local_copy.parent)
    service.resume(job.id)
    two = service.wait(job.id, timeout=300)
    assert two.status == "Completed", two.status_message
    assert two.counts["step"] == two.counts["total_steps"] == 8
    assert "restored checkpoint-1 from s3://" in Path(two.log_path).read_text()
    assert keys(s3_env, bucket, "two/") == []  # a success removes them there too
    one = service.wait(local.id, timeout=300)  # ran meanwhile, while the workers started
    assert one.status == "Completed", one.status_message

    alone, ddp = _losses(local.id), _losses(job.id)
    steps = [p["step"] for p in paths.read_metrics(job.id) if p["metric_name"] == "train_loss"]
    assert steps == list(range(1, 9))  # rank 0's only, every step once over the two runs
    assert ddp[8] < ddp[1]  # it learns
    # Both runs see batches of 8 from the same data, the same initial weights and learning
    # rates, but DDP's sampler orders the examples differently, so the curves differ step
    # by step with the batches (measured: at most 9% apart, means 3% apart). Each step
    # within 25%, the means within 10%; a loss scaled by the worker count is ~2x off.
    assert all(abs(ddp[step] - alone[step]) < 0.25 * alone[step] for step in alone), (alone, ddp)
    ratio = sum(ddp.values()) / sum(alone.values())
    assert 0.9 < ratio < 1.1, (alone, ddp)
    spec = Catalog.load().get("springboard-tiny-t5-ft-two")
    assert spec.lineage and spec.lineage["final_metrics"]["workers"] == 2
    answer = Generator.from_catalog(spec.id).predict(
        {"text_inputs": "Ask a question about: the harbour opens at dawn", "max_length": 12}
    )
    assert answer["generated_texts"][0]


@pytest.mark.ray
@pytest.mark.integration
@pytest.mark.slow
def test_a_job_over_both_nodes_matches_the_local_run_though_a_node_dies(
    cluster: LocalCluster, worker_port: int, tmp_path: Path
):
    # first an invocation job over both nodes, beside the same job run here
    asked = {
        "input_uri": str(_invocation_records(tmp_path / "records.jsonl", 6)),
        "model_id": "springboard-tiny-t5",
    }
    inv_local = invocation.create(
        job_name="inv-local", output_uri=str(tmp_path / "inv-local"), **asked
    )
    inv_ray = invocation.create(
        job_name="inv-ray",
        output_uri=str(tmp_path / "inv-ray"),
        cluster=cluster.address,
        instance_count=2,  # one copy on each node
        **asked,
    )
    status = subprocess.run(
        [str(VENV_BIN / "springboard"), "cluster", "status", "--json"],
        env={
            **cli_env(Path(os.environ["SPRINGBOARD_HOME"])),
            "SPRINGBOARD_RAY_ADDRESS": cluster.address,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert [n["alive"] for n in shown["nodes"]] == [True, True] and shown["cpus"] == 2

    n = 64
    args = {"input": str(_records(tmp_path / "in.jsonl", n)), "env": HYPER, "batch_size": 4}
    local = transform.submit("springboard-tiny-t5", output=str(tmp_path / "local"), **args)
    invoked = [invocation.wait(job.id, timeout=240) for job in (inv_local, inv_ray)]
    assert [j.status for j in invoked] == ["PartiallyCompleted"] * 2, invoked
    assert invoked[1].counts == invoked[0].counts and invoked[1].counts["succeeded"] == 5
    inv_out = [Path(job.outputs["files"][0]).read_bytes() for job in invoked]
    assert inv_out[1] == inv_out[0]  # the same lines, the error line too, in order
    assert [json.loads(line)["recordId"] for line in inv_out[1].splitlines()] == [
        *(f"q{i}" for i in range(5)),
        "typo",
    ]
    [spread] = [x for x in Path(invoked[1].log_path).read_text().splitlines() if "per node" in x]
    assert spread.count(",") == 1, spread  # records on two nodes
    # then the transform, whose second node dies mid-job
    on_ray = transform.submit(
        "springboard-tiny-t5",
        output=str(tmp_path / "ray"),
        cluster=cluster.address,
        instance_count=2,  # spread: one copy on each node
        cpus_per_instance=0.5,  # room on the surviving node for the copy Ray restarts
        **args,
    )
    _wait(lambda: service.get(on_ray.id).counts.get("processed", 0) >= 16, timeout=180)
    raylet = cluster.raylet(worker_port)  # the second node dies mid-job
    kill([raylet, *raylet.children(recursive=True)])
    done = [service.wait(job.id, timeout=300) for job in (local, on_ray)]
    assert [j.status for j in done] == ["Completed", "Completed"], [j.status_message for j in done]
    assert done[1].counts == done[0].counts and done[1].counts["succeeded"] == n
    out = (tmp_path / "ray" / "in.jsonl.out").read_bytes()
    assert out == (tmp_path / "local" / "in.jsonl.out").read_bytes()  # every id once, in order
    assert [json.loads(line)["id"] for line in out.splitlines()] == [f"r{i}" for i in range(n)]
    log = Path(done[1].log_path).read_text()
    assert "records per node" in log
