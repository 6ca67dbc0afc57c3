"""Starting job workers and endpoint servers: forked by a zygote vs started anew.

Every job worker and endpoint server is its own process (`springboard.processes`); on
Linux a zygote that has imported torch already forks them (`springboard.prefork`). This
measures what that is worth to a user, in one run, same machine, offline, in a temporary
SPRINGBOARD_HOME: for each way of starting (`SPRINGBOARD_PREFORK=0`, then `1` with the
zygote warmed up by an untimed deployment), `--rounds` times

- deploy the bundled T5 until it is InService (`endpoints.deploy`, as `springboard deploy`
  waits), one request answered, delete;
- a transform job of 5 records from submit to Completed (`Transformer.transform`, wait).

Printed per way: the median seconds of each, and the CPU seconds the machine spent
(`/proc/stat`, every process, the zygote's children included). Last lines: the ratios
started-anew / forked (higher is better).

    .venv/bin/python benchmarks/process_start.py [--rounds 3]
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
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL = "springboard-tiny-t5"


def machine_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used (user, nice, system, irq, softirq)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def use(prefork: bool, runtime: Path) -> None:
    from springboard.config import reset_settings

    os.environ["SPRINGBOARD_PREFORK"] = "1" if prefork else "0"
    os.environ["SPRINGBOARD_RUNTIME_DIR"] = str(runtime)
    reset_settings()


def deploy_once(name: str) -> float:
    import httpx

    from springboard.serving import endpoints

    started = time.monotonic()
    info = endpoints.deploy(MODEL, name=name)
    answer = httpx.post(
        f"{info.url}/invocations",
        json={"text_inputs": "summarize: A storm cut power in Ivel.", "max_length": 12},
        timeout=120,
    )
    answer.raise_for_status()
    seconds = time.monotonic() - started
    endpoints.delete(name)
    return seconds


def transform_once(data: Path, out: Path) -> float:
    from springboard.sdk import Transformer

    started = time.monotonic()
    job = Transformer(MODEL, output_path=str(out)).transform(str(data), wait=True)
    if job.status != "Completed":
        raise SystemExit(f"transform job {job.id} ended {job.status}: {job.status_message}")
    return time.monotonic() - started


def measure(prefork: bool, rounds: int, work: Path) -> dict[str, float]:
    data = work / "records.jsonl"
    deploys, transforms = [], []
    cpu = machine_cpu_seconds()
    for r in range(rounds):
        tag = f"{'forked' if prefork else 'anew'}-{r}"
        deploys.append(deploy_once(tag))
        transforms.append(transform_once(data, work / "out" / tag))
    return {
        "deploy": statistics.median(deploys),
        "transform": statistics.median(transforms),
        "cpu": machine_cpu_seconds() - cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if sys.platform != "linux":
        raise SystemExit("the zygote runs on Linux only")
    from springboard import prefork

    with tempfile.TemporaryDirectory(prefix="sb-start-") as tmp:
        work = Path(tmp)
        os.environ["SPRINGBOARD_HOME"] = str(work / "home")
        runtime = work / "run"
        (work / "records.jsonl").write_text(
            "".join(
                json.dumps({"id": i, "text_inputs": f"summarize: The market in town {i} opened."})
                + "\n"
                for i in range(5)
            )
        )
        try:
            use(False, runtime)
            anew = measure(False, args.rounds, work)
            use(True, runtime)
            deploy_once("warm-up")  # starts the zygote, the usual way itself
            while prefork.start("springboard.jobs.worker", ["none"], env=dict(os.environ),
                                log_path=work / "probe.log") is None:
                time.sleep(0.5)  # until the zygote has imported torch and answers
            forked = measure(True, args.rounds, work)
        finally:
            prefork.stop_all(runtime)
    print(f"{'':12} {'deploy→answer s':>16} {'transform s':>12} {'machine CPU s':>14}")
    for label, got in (("started anew", anew), ("forked", forked)):
        print(f"{label:12} {got['deploy']:16.2f} {got['transform']:12.2f} {got['cpu']:14.1f}")
    print(f"deploy anew/forked {anew['deploy'] / forked['deploy']:.2f}")
    print(f"transform anew/forked {anew['transform'] / forked['transform']:.2f}")
    print(f"cpu anew/forked {anew['cpu'] / forked['cpu']:.2f}")


if __name__ == "__main__":
    main()
