"""Server processes for the endpoint benchmark: ports, health waits, stopping a process
group, log tails, the naive baseline, and whether `transformers serve` can run here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not healthy after {timeout:.0f} s")


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # the process was started in its own session
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def log_tail(path: Path, lines: int = 8) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def start_naive(model_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, str(HERE / "naive_server.py"), str(model_dir),
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def transformers_serve_problem() -> str | None:
    """Why `transformers serve` cannot run here, or None when it can."""
    if shutil.which("transformers", path=str(Path(sys.executable).parent)) is None:
        return "the `transformers` CLI is not installed next to this interpreter"
    missing = [m for m in ("openai", "fastapi", "uvicorn", "pydantic")
               if importlib.util.find_spec(m) is None]
    if missing:
        return (f"it needs `pip install 'transformers[serving]'` (missing: {', '.join(missing)}); "
                "install it into the venv, or put it on PYTHONPATH, to include this server")
    return None
