"""`springboard serve` for the integration tests: on a free loopback port, over a given
home, answering /ping before the test goes on, always stopped (killed if it will not stop)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import VENV_BIN, cli_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def control_plane(
    home: Path,
    log_path: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    hang_guard: float = 60,
) -> Iterator[str]:
    """The URL of `springboard serve ARGS` over `home` (no API key unless `env` sets one),
    its output in `log_path`."""
    port = free_port()
    server_env = cli_env(home)
    server_env.pop("SPRINGBOARD_API_KEY", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "springboard"), "serve", "--port", str(port), *args],
            env={**server_env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + hang_guard
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(url + "/ping", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no /ping answer: {log_path.read_text()}"
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
