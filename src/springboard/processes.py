"""Detached worker processes: start one that outlives its parent, and tell whether one
is still alive (by pid and start time, so a reused pid is not mistaken for it).

A start time is seconds since the machine booted (`start_time`), not a wall-clock time:
a process's wall-clock start is computed from the boot time, which moves when the system
clock is set (measured in a VM: 17 s, after which a keeper was no longer recognized and
`endpoints delete` left it running); time since boot does not. A start time recorded by an
older version (a wall-clock time) is still compared as one.

Endpoint servers and job workers both run this way, each with its torch/OpenMP thread
budget in its environment (`thread_budget`): forked by a zygote that has imported torch
already when one is ready (`prefork`), else started as a new `python -m`. Each child
started the second way has a daemon thread waiting for it, so one that exits is reaped at
once (a long-lived `springboard serve` never collects zombies), whether or not anyone asks
about it; a zygote reaps the ones it forks. Logs are created private to the user
(`permissions`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from springboard import permissions, thread_budget

# children still running; each one's reaper thread removes it once it has exited
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    module: str, args: list[str], *, log_path: Path, env: Mapping[str, str] | None = None
) -> tuple[int, float]:
    """Run `python -m module args...` detached, output appended to `log_path`, in `env`
    (default: this process's) with the child's thread budget set: forked by a zygote that
    has imported torch already when one is ready (`prefork`), else as a new process.

    Returns the pid and its start time (for `alive`).
    """
    from springboard import prefork

    child_env = thread_budget.child_env(os.environ if env is None else env)
    pid = prefork.start(module, args, env=child_env, log_path=log_path)
    if pid is not None:
        return pid, start_time(pid)
    process = start_detached([sys.executable, "-m", module, *args], log_path, child_env)
    return process.pid, start_time(process.pid)


WALL_CLOCK = 1e9  # a recorded start above this is a wall-clock time (an older record)


def start_time(pid: int) -> float:
    """When `pid` started, in seconds since boot (raises `psutil.NoSuchProcess`)."""
    return _since_boot(psutil.Process(pid))


def _since_boot(process: psutil.Process) -> float:
    booted = psutil.boot_time()  # read again: the wall-clock boot time moves with the clock
    return process.create_time() - booted


def start_detached(
    command: list[str], log_path: Path, env: Mapping[str, str], cwd: str | None = None
) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own, output appended to `log_path` (created
    owner-only), stdin empty; reaped as soon as it exits (`watch`)."""
    with open(log_path, "ab", opener=permissions.opener) as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            cwd=cwd,
        )
    watch(process)
    return process


def watch(process: subprocess.Popen[bytes]) -> None:
    """Reap `process` as soon as it exits (a daemon thread waits for it)."""
    _children[process.pid] = process
    threading.Thread(
        target=_reap_when_done, args=(process,), daemon=True, name=f"reap-{process.pid}"
    ).start()


def _reap_when_done(process: subprocess.Popen[bytes]) -> None:
    """Wait for the child (collecting its exit status, so no zombie stays) and forget it."""
    process.wait()
    _children.pop(process.pid, None)


def alive(pid: int | None, started: float | None) -> bool:
    """True while the process `pid` that started at `started` is running (not a zombie)."""
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        process = psutil.Process(pid)
        if started:
            now = _since_boot(process) if started < WALL_CLOCK else process.create_time()
            if abs(now - started) > 1:
                return False  # the pid now belongs to another process
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def terminate(pid: int, started: float | None, *, grace: float) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; reap it if it is our child."""
    import time

    if alive(pid, started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive(pid, started) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid, started):
            os.kill(pid, signal.SIGKILL)
    reap(pid)


def reap(pid: int) -> None:
    """Wait (up to 10 s) until our child `pid` has been collected; other pids are ignored."""
    child = _children.get(pid)
    if child is not None:
        child.wait(timeout=10)  # its reaper thread may collect it first; either way it is done
        _children.pop(pid, None)


def log_tail(path: str | Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file ('' when there is none)."""
    try:
        with open(path, errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return ""


def entrypoint(run: Callable[[str], int], usage: str) -> None:
    """`main()` of a worker module: log to stdout (the spawner sends it to the log file),
    take one argument, exit with `run`'s code. What it writes is private to the user."""
    import logging

    permissions.restrict_umask()
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if len(sys.argv) != 2:
        sys.stderr.write(f"usage: {usage}\n")
        sys.exit(2)
    sys.exit(run(sys.argv[1]))
