"""A throwaway Ray cluster on this machine, for tests and benchmarks.

`local_cluster()` starts a head node on loopback (127.0.0.1, one CPU, no dashboard, free
ports, a short temp dir under /tmp: Ray's socket paths must stay short, usage stats off)
with the `ray` executable beside this interpreter; `add_node` joins another one-CPU node;
and however the block ends, every process naming the cluster's temp dir (and its
children) is killed by pid and the temp dir removed.

It does not import ray (it shells out to `ray start`), does not use `ray stop` (that
would end every Ray cluster of this user on the machine), and is no way to run a real
cluster: Springboard only connects to one (`springboard.cluster.connection`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

RAY = Path(sys.executable).parent / "ray"


class RayStartError(RuntimeError):
    """`ray start` failed; the message ends with what it printed."""


def free_port() -> int:
    """A TCP port free on loopback now (another process may take it before it is used)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_start(*args: str, timeout: float) -> None:
    command = [str(RAY), "start", *args, "--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip()[-2000:]
        raise RayStartError(
            f"`ray start {' '.join(args)}` exited {exc.returncode}: {tail}"
        ) from exc


def kill(procs: Iterable[psutil.Process]) -> None:
    """SIGKILL each process (those already gone are skipped) and wait up to 10 s for them."""
    procs = list(procs)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=10)


@dataclass
class LocalCluster:
    address: str  # host:port of the head's GCS, what `--cluster` takes
    temp_dir: Path  # Ray's --temp-dir: every process of this cluster names it

    @classmethod
    def start_head(
        cls, *, system_config: Mapping[str, object] | None = None, timeout: float = 180
    ) -> LocalCluster:
        """A one-CPU head on loopback; `system_config` is passed as `--system-config`."""
        temp_dir = Path(tempfile.mkdtemp(prefix="sbray", dir="/tmp"))  # short: socket paths
        port = free_port()
        cluster = cls(f"127.0.0.1:{port}", temp_dir)
        args = [
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
        ]
        if system_config is not None:
            args += ["--system-config", json.dumps(dict(system_config))]
        try:
            _ray_start(*args, timeout=timeout)
        except BaseException:
            cluster.stop()  # whatever it started before failing
            raise
        return cluster

    def add_node(self, *, node_manager_port: int | None = None, timeout: float = 180) -> None:
        """Join one more one-CPU node on loopback (its raylet on `node_manager_port`)."""
        args = ["--address", self.address, "--node-ip-address", "127.0.0.1"]
        if node_manager_port is not None:
            args += ["--node-manager-port", str(node_manager_port)]
        _ray_start(*args, timeout=timeout)

    def processes(self) -> list[psutil.Process]:
        """Every process of this cluster: those naming its temp dir, and their children."""
        found: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter(["cmdline"]):
            if proc.pid != os.getpid() and any(
                str(self.temp_dir) in arg for arg in proc.info["cmdline"] or []
            ):
                found[proc.pid] = proc
                with contextlib.suppress(psutil.NoSuchProcess):
                    for child in proc.children(recursive=True):
                        found[child.pid] = child
        return list(found.values())

    def raylet(self, node_manager_port: int) -> psutil.Process:
        """The raylet of this cluster listening on `node_manager_port`."""
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if f"--node_manager_port={node_manager_port}" in cmdline and any(
                str(self.temp_dir) in arg for arg in cmdline
            ):
                return proc
        raise LookupError(f"no raylet of the cluster at {self.address} on port {node_manager_port}")

    def stop(self) -> None:
        """Kill every process of the cluster by pid, then remove its temp dir."""
        kill(self.processes())
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextlib.contextmanager
def local_cluster(
    *, system_config: Mapping[str, object] | None = None, timeout: float = 180
) -> Iterator[LocalCluster]:
    """A one-CPU head on loopback (add nodes with `add_node`), always torn down by pid."""
    cluster = LocalCluster.start_head(system_config=system_config, timeout=timeout)
    try:
        yield cluster
    finally:
        cluster.stop()
