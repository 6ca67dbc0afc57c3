"""Batch transform on Ray: one one-CPU node vs two, and vs the in-process path.

The same transform job (a seeded, randomly initialised ~10M-parameter T5 built offline
with the bundled tokenizer, or --model-dir; the same records; greedy, a fixed number of
new tokens) runs three ways, one after the other on this machine:

1. in-process: the default local job (one worker process, one torch thread);
2. ray-1: on a one-node Ray cluster (head only, `--num-cpus 1`), `--instance-count 1`;
3. ray-2: the same cluster with a second one-CPU node, `--instance-count 2`;
4. in-process once more (the ratios use the mean of both local runs: load drifts).

For each: the job's wall time from submission to its end (worker start, joining the
cluster, loading the model copies included) and its steady rate (records/s between the
first and the last batch written, from the job's own metrics). Last lines: the ratios
ray-2 / ray-1 (the scaling; the issue's goal is >= 1.6x) and ray-N / in-process, as
measured, on a machine whose cores other work may share. The cluster's processes are
ended by pid however the run ends.

    .venv/bin/python benchmarks/ray_scaling.py [--records 256] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from transform_throughput import build_bench_t5, write_records

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ray_start(*args: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "ray"), "start", *args, "--num-cpus", "1", "--disable-usage-stats"],
        check=True,
        capture_output=True,
        timeout=180,
    )


def _ours(temp_dir: Path) -> list:  # type: ignore[type-arg]
    import psutil

    found = {}
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(temp_dir) in a for a in proc.info["cmdline"] or []):
            found[proc.pid] = proc
            for child in proc.children(recursive=True):
                found[child.pid] = child
    return list(found.values())


@contextmanager
def head_node() -> Iterator[tuple[str, Path]]:
    """A one-CPU Ray head on loopback (no dashboard); its processes ended by pid after."""
    import psutil

    temp_dir = Path(tempfile.mkdtemp(prefix="sbray", dir="/tmp"))
    port = free_port()
    try:
        ray_start(
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--include-dashboard",
            "false",
            "--dashboard-port",
            str(free_port()),
            "--ray-client-server-port",
            str(free_port()),
            "--temp-dir",
            str(temp_dir),
        )
        yield f"127.0.0.1:{port}", temp_dir
    finally:
        procs = _ours(temp_dir)
        for proc in procs:
            with suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=10)
        shutil.rmtree(temp_dir, ignore_errors=True)


def run_job(
    model_dir: Path, records: Path, out: Path, args: argparse.Namespace, **where: object
) -> tuple[float, float, str]:
    """(wall seconds from submission to the end, steady records/s, status)."""
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
    first, last = points[0], points[-1]
    span = last["timestamp"] - first["timestamp"]
    steady = (last["step"] - first["step"]) / span if span > 0 else float("nan")
    return wall, steady, final.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--model-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["SPRINGBOARD_HOME"] = str(tmp / "home")
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
        results: dict[str, tuple[float, float, str]] = {}
        results["in-process"] = run_job(model_dir, records, tmp / "local", args)
        with head_node() as (address, _):
            results["ray-1"] = run_job(
                model_dir, records, tmp / "ray1", args, cluster=address, instance_count=1
            )
            ray_start("--address", address, "--node-ip-address", "127.0.0.1")
            results["ray-2"] = run_job(
                model_dir, records, tmp / "ray2", args, cluster=address, instance_count=2
            )
        # the local run once more, after: the machine's load drifts; the mean is compared
        results["in-process*"] = run_job(model_dir, records, tmp / "local2", args)
        same = (tmp / "ray2" / "records.jsonl.out").read_bytes() == (
            tmp / "local" / "records.jsonl.out"
        ).read_bytes()
        print(f"{'run':<11} {'wall s':>7} {'steady rec/s':>13}  status")
        for name, (wall, steady, status) in results.items():
            print(f"{name:<11} {wall:7.1f} {steady:13.1f}  {status}")
        print(f"output of ray-2 identical to in-process: {same}")
        one, two = results["ray-1"], results["ray-2"]
        runs = (results["in-process"], results["in-process*"])
        local = (sum(r[0] for r in runs) / 2, sum(r[1] for r in runs) / 2, "")
        print(f"in-process (mean of both runs): wall {local[0]:.1f} s, {local[1]:.1f} records/s")
        print(f"ratio ray-2 / ray-1 steady {two[1] / one[1]:.2f}x, wall {one[0] / two[0]:.2f}x")
        print(
            f"ratio ray-1 / in-process steady {one[1] / local[1]:.2f}x, wall {local[0] / one[0]:.2f}x"
        )
        print(
            f"ratio ray-2 / in-process steady {two[1] / local[1]:.2f}x, wall {local[0] / two[0]:.2f}x"
        )


if __name__ == "__main__":
    main()
