"""Server time of the web UI's list pages with a full database: 1,000 jobs and 100
endpoints written to a fresh store (a temporary SPRINGBOARD_HOME), then each list page
requested several times through the control-plane app in this process (no network, no
browser: the time is the server's — routing, the services' reads and reconciliation,
rendering). A tenth of the jobs and endpoints are live (their pid is this process), so
the liveness checks a real list makes are made. Prints the median and worst time per
page; exits 1 when a median passes the budget (300 ms).

    .venv/bin/python benchmarks/ui_pages.py [--jobs 1000] [--endpoints 100] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

BUDGET_MS = 300.0


def fill(jobs: int, endpoints: int) -> None:
    """Rows as the services write them, in the store of the current SPRINGBOARD_HOME."""
    import psutil

    from springboard.store import endpoint_records, job_records
    from springboard.store.endpoint_records import EndpointStatus

    me, started = os.getpid(), psutil.Process().create_time()
    kinds = ("transform", "training", "invocation")
    for i in range(jobs):
        kind = kinds[i % 3]
        live = i % 10 == 0
        run = kind == "invocation" and i % 4 == 2  # a self-consistency run's job
        job_records.insert(
            {
                "id": f"{kind[:2]}-{i:06d}",
                "kind": kind,
                "name": f"sc-{i:06x}-greedy" if run else f"job-{i}",
                "model_id": "springboard-tiny-t5",
                "model_version": "1.0.0",
                "status": "InProgress" if live else ("Completed" if i % 4 else "Failed"),
                "status_message": None,
                "inputs": {},
                "outputs": {"uri": f"/data/sc-{i}/outputs"} if run else {},
                "settings": {},
                "counts": {"step": 5, "total_steps": 10}
                if kind == "training"
                else {"total": 100, "processed": 50, "succeeded": 49, "failed": 1},
                "client_token": None,
                "pid": me if live else None,
                "pid_started": started if live else None,
            }
        )
    for i in range(endpoints):
        live = i % 10 == 0
        endpoint_records.insert(
            {
                "name": f"endpoint-{i}",
                "model_id": "springboard-tiny-t5",
                "model_version": "1.0.0",
                "status": "Creating",
                "status_message": None,
                "host": "127.0.0.1",
                "port": 9000 + i,
                "url": f"http://127.0.0.1:{9000 + i}",
                "pid": me if live else None,
                "pid_started": started if live else None,
                "env": {},
                "model_dir": None,
                "log_path": "/nonexistent/server.log",
            }
        )
        target = EndpointStatus.IN_SERVICE if live else EndpointStatus.FAILED
        endpoint_records.transition(f"endpoint-{i}", target, message="benchmark row")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="springboard-ui-bench-")
    os.environ["SPRINGBOARD_HOME"] = home
    from fastapi.testclient import TestClient

    from springboard.api.app import create_app
    from springboard.config import reset_settings

    reset_settings()
    fill(args.jobs, args.endpoints)
    http = TestClient(create_app(), base_url="http://127.0.0.1:8080")
    pages = {
        "models": "/ui/models",
        "models (filtered)": "/ui/models?filter=task+%3D%3D+text2text",
        "endpoints": "/ui/endpoints",
        "endpoint rows (live part)": "/ui/endpoints/rows",
        "jobs (page 1)": "/ui/jobs",
        "jobs (last page)": "/ui/jobs?page_number=1000",
        "jobs (kind + status)": "/ui/jobs?kind=training&status=Completed",
        "self-consistency runs": "/ui/self-consistency",
    }
    print(f"{args.jobs} jobs, {args.endpoints} endpoints; {args.repeat} requests per page")
    failed: list[str] = []
    for name, path in pages.items():
        times: list[float] = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response: Any = http.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        median = statistics.median(times)
        print(f"  {name:28s} median {median:7.1f} ms   worst {max(times):7.1f} ms")
        if median > BUDGET_MS:
            failed.append(name)
    print(
        f"budget {BUDGET_MS:.0f} ms: "
        + ("all within" if not failed else "over: " + ", ".join(failed))
    )
    http.close()
    shutil.rmtree(home, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
