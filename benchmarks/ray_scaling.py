"""Batch transform and an endpoint on Ray: one one-CPU node vs two, and vs the local path.

Transform (skip with --skip-transform). The same transform job (a seeded, randomly
initialised ~10M-parameter T5 built offline with the bundled tokenizer, or --model-dir;
the same records; greedy, a fixed number of new tokens) runs three ways, one after the
other on this machine:

1. in-process: the default local job (one worker process, one torch thread);
2. ray-1: on a one-node Ray cluster (head only, `--num-cpus 1`), `--instance-count 1`;
3. ray-2: the same cluster with a second one-CPU node, `--instance-count 2`;
4. in-process once more (the ratios use the mean of both local runs: load drifts).

For each: the job's wall time from submission to its end (worker start, joining the
cluster, loading the model copies included) and its steady rate (records/s between the
first and the last batch written, from the job's own metrics), and its rate over the
second half of its batches (by then every model copy has loaded: on one machine a second
copy loading takes CPU from the first, which the steady window includes). Last lines: the
ratios ray-2 / ray-1 (the scaling; the issue's goal is >= 1.6x) and ray-N / in-process,
as measured, on a machine whose cores other work may share.

Endpoint (skip with --skip-endpoint). The bundled springboard-tiny-llama served three ways,
each driven by the same closed-loop load (benchmarks/_load.py: --clients concurrent
clients, --requests timed requests after one untimed request per client, 32 new tokens,
greedy, prompts of 5-40 words) on `/invocations`: a local endpoint (one server process
here, one torch thread), then on a fresh one-node cluster an endpoint of one replica,
deleted, and with a second node joined one of two replicas, deleted; then the local
endpoint once more (the ratios use the mean of both). Prints requests/s and p50 latency of
each, and the ratios replicas-2 / replicas-1 and each / local.

Each part starts its own loopback cluster (`springboard.cluster.local`), so that the
endpoint's Serve processes never run beside a transform; its processes are ended by pid
however the run ends.

    .venv/bin/python benchmarks/ray_scaling.py [--records 256] [--batch-size 16]
        [--clients 16] [--requests 96] [--skip-transform] [--skip-endpoint]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _load import Target, drive, percentile
from endpoint_throughput import MODEL_ID, make_prompts, springboard_body
from transform_throughput import build_bench_t5, write_records

from springboard.cluster.local import free_port, local_cluster


def run_job(
    model_dir: Path, records: Path, out: Path, args: argparse.Namespace, **where: object
) -> tuple[float, float, str]:
    """(wall seconds from submission to the end, steady records/s, records/s over the
    second half of the batches, status)."""
    from springboard.jobs import paths, service, transform

    started = time.perf_counter()
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(records),
        output=str(out),
        model_dir=str(model_dir),
        batch_size=args.batch_size,
        env={"HYPER_PARAMS": json.dumps({"max_new_tokens": args.max_new_tokens})},
        **where,  # type: ignore[arg-type]
    )
    final = service.wait(job.id, poll=0.1)
    wall = time.perf_counter() - started
    points = [p for p in paths.read_metrics(job.id) if p["metric_name"] == "records_per_second"]
    last = points[-1]
    return wall, _rate(points[0], last), _rate(points[len(points) // 2], last), final.status


def _rate(first: dict, last: dict) -> float:
    """Records/s between two metric points (`step` counts the records written)."""
    span = last["timestamp"] - first["timestamp"]
    return (last["step"] - first["step"]) / span if span > 0 else float("nan")


def transform_part(args: argparse.Namespace, tmp: Path) -> None:
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = tmp / "t5"
        params = build_bench_t5(model_dir)
        print(f"model: seeded random T5, {params / 1e6:.1f}M parameters")
    records = tmp / "records.jsonl"
    write_records(records, args.records)
    print(
        f"{args.records} records, batch {args.batch_size}, {args.max_new_tokens} new "
        f"tokens, {os.cpu_count()} cores on this machine"
    )
    results: dict[str, tuple[float, float, float, str]] = {}
    results["in-process"] = run_job(model_dir, records, tmp / "local", args)
    with local_cluster() as cluster:
        results["ray-1"] = run_job(
            model_dir, records, tmp / "ray1", args, cluster=cluster.address, instance_count=1
        )
        cluster.add_node()
        results["ray-2"] = run_job(
            model_dir, records, tmp / "ray2", args, cluster=cluster.address, instance_count=2
        )
    # the local run once more, after: the machine's load drifts; the mean is compared
    results["in-process*"] = run_job(model_dir, records, tmp / "local2", args)
    same = (tmp / "ray2" / "records.jsonl.out").read_bytes() == (
        tmp / "local" / "records.jsonl.out"
    ).read_bytes()
    print(f"{'run':<11} {'wall s':>7} {'steady rec/s':>13} {'2nd half rec/s':>15}  status")
    for name, (wall, steady, half, status) in results.items():
        print(f"{name:<11} {wall:7.1f} {steady:13.1f} {half:15.1f}  {status}")
    print(f"output of ray-2 identical to in-process: {same}")
    one, two = results["ray-1"], results["ray-2"]
    runs = (results["in-process"], results["in-process*"])
    local = tuple(sum(r[i] for r in runs) / 2 for i in range(3))
    print(f"in-process (mean of both runs): wall {local[0]:.1f} s, {local[1]:.1f} records/s")
    print(
        f"ratio ray-2 / ray-1 steady {two[1] / one[1]:.2f}x, second half "
        f"{two[2] / one[2]:.2f}x, wall {one[0] / two[0]:.2f}x"
    )
    print(
        f"ratio ray-1 / in-process steady {one[1] / local[1]:.2f}x, wall {local[0] / one[0]:.2f}x"
    )
    print(
        f"ratio ray-2 / in-process steady {two[1] / local[1]:.2f}x, wall {local[0] / two[0]:.2f}x"
    )


def _output_tokens(response: httpx.Response) -> int:
    return int(response.headers.get("x-springboard-output-tokens", 0))  # 0: not passed on


def load_endpoint(
    name: str,
    args: argparse.Namespace,
    *,
    cluster: str | None = None,
    instance_count: int = 1,
    port: int = 0,
) -> tuple[float, float]:
    """Deploy springboard-tiny-llama as endpoint `name` (on `cluster` when given), drive it
    with the closed-loop load, delete it: (requests/s, p50 latency in s)."""
    from springboard.serving import endpoints

    started = time.perf_counter()
    info = endpoints.deploy(
        MODEL_ID,
        name=name,
        port=port,
        env={"OPTION_MAX_ROLLING_BATCH_SIZE": str(args.clients)},
        cluster=cluster,
        instance_count=instance_count,
        timeout=300,
    )
    try:
        deadline = time.monotonic() + 60
        while cluster is not None:  # every replica running before the load
            replicas = endpoints.describe(name).replicas or []
            if [r["state"] for r in replicas] == ["RUNNING"] * instance_count:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: not {instance_count} replicas RUNNING: {replicas}")
            time.sleep(0.5)
        deployed = time.perf_counter() - started
        prompts = make_prompts(args.clients + args.requests, seed=0)
        target = Target(
            name, f"{info.url}/invocations", info.pid or 0, springboard_body, _output_tokens
        )
        samples, elapsed = drive(
            target, prompts[: args.clients], prompts[args.clients :], args.clients, 120, 900
        )
    finally:
        endpoints.delete(name)
    rps = len(samples) / elapsed
    p50 = percentile([s.latency for s in samples], 50)
    tokens = sum(s.tokens for s in samples) / len(samples)
    print(
        f"{name:<11} {rps:6.2f} req/s  p50 {p50 * 1000:6.0f} ms  "
        f"({len(samples)} req in {elapsed:.1f} s, {tokens:.1f} tok/req; "
        f"deployed in {deployed:.1f} s)",
        flush=True,
    )
    return rps, p50


def endpoint_part(args: argparse.Namespace) -> None:
    print(
        f"endpoint {MODEL_ID}: {args.clients} clients, {args.requests} timed requests "
        f"(+{args.clients} warm-up) of 32 new tokens, greedy; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rps: dict[str, float] = {}
    rps["local"] = load_endpoint("local", args)[0]
    with local_cluster() as cluster:
        port = free_port()  # Serve's proxy: one port for the cluster
        on = cluster.address
        rps["replicas-1"] = load_endpoint("replicas-1", args, cluster=on, port=port)[0]
        cluster.add_node()
        rps["replicas-2"] = load_endpoint(
            "replicas-2", args, cluster=on, instance_count=2, port=port
        )[0]
    rps["local*"] = load_endpoint("local-again", args)[0]  # after: the load drifts
    local = statistics.mean((rps["local"], rps["local*"]))
    one, two = rps["replicas-1"], rps["replicas-2"]
    print(f"local endpoint (mean of both runs): {local:.2f} req/s")
    print(f"ratio replicas-2 / replicas-1 {two / one:.2f}x")
    print(f"ratio replicas-1 / local {one / local:.2f}x, replicas-2 / local {two / local:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--clients", type=int, default=16, help="endpoint: concurrent clients")
    parser.add_argument("--requests", type=int, default=96, help="endpoint: timed requests")
    parser.add_argument("--skip-transform", action="store_true")
    parser.add_argument("--skip-endpoint", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["SPRINGBOARD_HOME"] = str(tmp / "home")
        if not args.skip_transform:
            transform_part(args, tmp)
        if not args.skip_endpoint:
            endpoint_part(args)


if __name__ == "__main__":
    main()
