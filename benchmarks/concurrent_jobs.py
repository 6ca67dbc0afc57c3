"""Three transform jobs at once vs the same three one after another: thread budgets.

Each job worker is its own process. With torch's default threads (one per core) several
of them oversubscribe a small machine, and their OpenMP threads then slow each other far
beyond the fair share; with a thread budget per process (`springboard.thread_budget`:
cores // heavy processes running) jobs submitted together should take about as long as
the same jobs one after another, or less. Same model (the bundled springboard-tiny-t5),
same generated records, same run, offline, in a temporary SPRINGBOARD_HOME. A warm-up job
runs first (untimed), then the jobs one after another, then all at once; every worker is
stopped at the end. Last line: `concurrent/sequential <x>` (the goal: at most 1.25).

    .venv/bin/python benchmarks/concurrent_jobs.py [--jobs 3] [--records 300] [--no-budget]

`--no-budget` gives every worker all the cores (SPRINGBOARD_TORCH_THREADS=cores, what torch
does by default), to see what the budget is worth. OMP_NUM_THREADS and MKL_NUM_THREADS are
removed from this process's environment: a user's setting would override the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "SPRINGBOARD_TORCH_THREADS"):
    os.environ.pop(_name, None)

MODEL = "springboard-tiny-t5"
WORDS = ("river", "rose", "fell", "market", "town", "council", "rain", "school", "bridge",
         "road", "closed", "opened", "festival", "train", "late", "early", "farmers",
         "harvest", "storm", "power", "library", "budget", "vote", "Ada", "Omar", "Maya",
         "painted", "built", "carried", "sold", "the", "a", "gate", "boat", "bread", "letter")
HANG_GUARD = 1800.0  # seconds a job may take before the benchmark gives up on it


def write_records(path: Path, n: int, seed: int) -> None:
    """`n` generated summarisation records (ids 0..n-1) of 8-40 words."""
    rng = random.Random(seed)
    with open(path, "w") as handle:
        for i in range(n):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
            handle.write(json.dumps({"id": i, "text_inputs": f"summarize: {words}"}) + "\n")


def submit(data: Path, out: Path, max_new_tokens: int) -> str:
    from springboard.sdk import Transformer

    transformer = Transformer(MODEL, output_path=str(out), env={
        "HYPER_PARAMS": json.dumps({"max_new_tokens": max_new_tokens})})
    return transformer.transform(str(data), wait=False).id


def wait_all(job_ids: list[str], records: int) -> None:
    """Block until every job ended; each must have completed all its records."""
    from springboard.jobs import service

    for job_id in job_ids:
        job = service.wait(job_id, timeout=HANG_GUARD, poll=0.1)
        if job.status != "Completed" or (job.counts or {}).get("succeeded") != records:
            raise SystemExit(f"job {job_id} ended {job.status} with counts {job.counts}; "
                             f"see {job.log_path}")


def budget_of(job_id: str) -> str:
    """The thread budget line the job's worker logged."""
    from springboard.jobs.paths import log_path

    for line in Path(log_path(job_id)).read_text(errors="replace").splitlines():
        if "thread budget:" in line:
            return line.split("thread budget:", 1)[1].strip()
    return "(not logged)"


def stop_all() -> None:
    """Stop every job that is still running and end its worker."""
    from springboard import processes
    from springboard.errors import SpringboardError
    from springboard.jobs import service
    from springboard.store import job_records

    for row in job_records.find():
        if row.get("pid") and processes.alive(row["pid"], row.get("pid_started")):
            try:
                service.stop(row["id"])
            except SpringboardError:
                pass  # it ended meanwhile
            processes.terminate(row["pid"], row.get("pid_started"), grace=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--records", type=int, default=300, help="records per job")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--no-budget", action="store_true",
                        help="every worker takes all the cores (torch's default)")
    args = parser.parse_args()
    if not 1 <= args.jobs <= 16 or not 1 <= args.records <= 100_000:
        parser.error("--jobs must be in 1..16 and --records in 1..100000")

    from springboard import thread_budget

    cores = thread_budget.cores()
    if args.no_budget:
        os.environ["SPRINGBOARD_TORCH_THREADS"] = str(cores)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["SPRINGBOARD_HOME"] = str(tmp / "home")
        inputs = []
        for i in range(args.jobs):
            inputs.append(tmp / f"in-{i}.jsonl")
            write_records(inputs[-1], args.records, seed=i)
        print(f"{args.jobs} transform jobs of {args.records} records ({MODEL}, "
              f"max_new_tokens {args.max_new_tokens}) on {cores} cores; thread budget "
              + ("off: every worker takes all the cores" if args.no_budget else "on"))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        try:
            warm = submit(inputs[0], tmp / "out-warm", args.max_new_tokens)
            wait_all([warm], args.records)

            started = time.perf_counter()
            sequential_ids = []
            for i, data in enumerate(inputs):
                sequential_ids.append(submit(data, tmp / f"out-seq-{i}", args.max_new_tokens))
                wait_all(sequential_ids[-1:], args.records)
            sequential = time.perf_counter() - started
            print(f"one after another: {sequential:7.1f} s  (budgets: "
                  + "; ".join(budget_of(j) for j in sequential_ids) + ")")

            started = time.perf_counter()
            concurrent_ids = [submit(data, tmp / f"out-con-{i}", args.max_new_tokens)
                              for i, data in enumerate(inputs)]
            wait_all(concurrent_ids, args.records)
            concurrent = time.perf_counter() - started
            print(f"all at once:       {concurrent:7.1f} s  (budgets: "
                  + "; ".join(budget_of(j) for j in concurrent_ids) + ")")
        finally:
            stop_all()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"concurrent/sequential {concurrent / sequential:.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
