"""Start job workers and endpoint servers from a process that has already imported torch.

Every job worker and endpoint server is a new Python that imports torch, numpy, SQLAlchemy,
FastAPI and the rest before it does anything: ~4 s of CPU on a 2-core machine, most of a
small job's time and of a deployment's wait. On Linux a *zygote* (as Android's, or
Chromium's) pays that once: a detached process that imports them, then waits on a Unix
socket; asked to start a worker it forks, and the child (a copy sharing the imported
modules) becomes the worker: its own session, working directory, environment, umask, log
file, then `python -m MODULE ARGS` as `runpy` runs it. A forked worker starts in a fraction
of a second and is otherwise the process a fresh `python -m` would be (`processes.spawn`
reports its pid the same way; it outlives the zygote).

What makes that safe:
- only modules that read nothing from the environment when imported are preloaded (torch
  reads `TORCH_*`/`OMP_*`/...: those variables are part of the zygote's key, so another
  value gets another zygote; `OMP_NUM_THREADS`, which every worker sets, is applied with
  `torch.set_num_threads` by `thread_budget.apply` as before). transformers and Hugging Face
  read their cache settings at import, so each worker imports them itself, as does
  Springboard's own code (an edited source file is always the one that runs);
- the zygote runs no torch operation (no thread pool exists to fork), configures no
  logging, and reseeds numpy in each child (`random` reseeds itself after a fork);
- the socket lives in a folder only its owner can enter (`runtime_dir`), the zygote also
  checks the peer's uid, and it starts only `MODULES`;
- the key also covers the interpreter and the preloaded packages' files, so an upgrade
  starts a new zygote; an idle zygote exits (`prefork_idle`, default 5 minutes).

`start` is the client: it returns the new process's pid, or None when no zygote is ready
(it then starts one for next time, and the caller starts this process the usual way), so
the first start is never slower than without a zygote. A forked process shows its own
command line in `ps` (setproctitle); `/proc/PID/environ` shows the zygote's environment,
while the process itself (`os.environ`) has its own. `SPRINGBOARD_PREFORK=0` turns it
off; it is off where `fork` is not (other than Linux). This module does not decide what to
start or watch the processes it starts (`processes` does).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# what a zygote may start (the heavy processes; anything else is started the usual way)
MODULES = frozenset({"springboard.jobs.worker", "springboard.serving.server"})
# imported by the zygote: what the heavy processes import, minus what reads settings
# from the environment at import (transformers, huggingface_hub) and Springboard itself
PRELOAD = (
    "torch",
    "numpy",
    "safetensors.torch",
    "tokenizers",
    "sqlalchemy",
    "pydantic",
    "fastapi",
    "starlette.applications",
    "uvicorn",
    "psutil",
    "botocore.session",
)
# variables read at import by what PRELOAD imports: a zygote serves one set of values
_IMPORT_TIME_PREFIXES = (
    "TORCH",
    "PYTORCH",
    "CUDA",
    "NVIDIA",
    "OMP_",
    "KMP_",
    "GOMP_",
    "MKL",
    "OPENBLAS",
    "NPY_",
    "LD_",
    "PYTHON",
    "MALLOC",
)
# set per process and applied after the fork (`thread_budget.apply`)
_APPLIED_AFTER_FORK = frozenset({"OMP_NUM_THREADS", "MKL_NUM_THREADS"})
REPLY_TIMEOUT = 10.0  # seconds a client waits for the zygote's answer
_POLL = 0.5  # seconds between the zygote's checks for exited children and idleness


def enabled() -> bool:
    from springboard.config import get_settings

    return sys.platform == "linux" and get_settings().prefork


def runtime_dir() -> Path:
    """The owner-only folder of the zygotes' sockets, pid files and logs."""
    from springboard.config import get_settings

    configured = get_settings().runtime_dir
    if configured is not None:
        return configured
    base = os.environ.get("XDG_RUNTIME_DIR")
    return Path(base) / "springboard" if base else Path(f"/tmp/springboard-{os.getuid()}")


def _private_dir(path: Path) -> bool:
    """Create `path` owner-only, or check that it is: True when it is safe to use."""
    import stat

    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def key(env: Mapping[str, str]) -> str:
    """Which zygote may start a process with `env`: the interpreter, the preloaded
    packages' files, and the variables they read at import."""
    parts = [sys.executable, sys.version]
    for name in PRELOAD:
        spec = find_spec(name.split(".")[0])
        origin = spec.origin if spec and spec.origin else name
        with contextlib.suppress(OSError):
            origin += f"@{os.stat(origin).st_mtime_ns}"
        parts.append(origin)
    parts += sorted(
        f"{k}={v}"
        for k, v in env.items()
        if k.startswith(_IMPORT_TIME_PREFIXES) and k not in _APPLIED_AFTER_FORK
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


# -- the client --------------------------------------------------------------------------


def start(module: str, args: list[str], *, env: Mapping[str, str], log_path: Path) -> int | None:
    """Start `python -m module args` through a ready zygote: its pid, or None when there is
    none (one is then started for next time) or it did not answer."""
    if module not in MODULES or not enabled():
        return None
    folder = runtime_dir()
    if not _private_dir(folder):
        return None
    name = key(env)
    request = {
        "module": module,
        "args": list(args),
        "env": dict(env),
        "cwd": os.getcwd(),
        "umask": _umask(),
        "log": str(Path(log_path).resolve()),
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(REPLY_TIMEOUT)
            conn.connect(str(folder / f"{name}.sock"))
            conn.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(_read_line(conn))
        return int(reply["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        _launch(folder, name, env)
        return None


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _launch(folder: Path, name: str, env: Mapping[str, str]) -> None:
    """Start the zygote `name` unless one is starting or running (its pid file says so)."""
    from springboard import processes
    from springboard.config import get_settings

    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pid_file = folder / f"{name}.pid"
        with contextlib.suppress(OSError, ValueError):
            pid, started = pid_file.read_text().split()
            if processes.alive(int(pid), float(started)):
                return  # importing still, or its socket is gone: it exits when idle
        zygote_env = {
            k: v
            for k, v in env.items()
            if k.startswith(_IMPORT_TIME_PREFIXES) or k in ("PATH", "HOME", "LANG", "TMPDIR")
        }
        zygote_env["OMP_NUM_THREADS"] = zygote_env["MKL_NUM_THREADS"] = "1"
        idle = str(get_settings().prefork_idle)
        process = processes.start_detached(
            [sys.executable, "-m", __name__, str(folder / f"{name}.sock"), idle],
            folder / f"{name}.log",
            zygote_env,
            cwd="/",
        )
        pid_file.write_text(f"{process.pid} {processes.start_time(process.pid)}\n")


def stop_all(folder: Path | None = None) -> int:
    """End every zygote whose pid file is in `folder` (default `runtime_dir()`); the
    processes they started keep running. Returns how many were ended."""
    from springboard import processes

    ended = 0
    for pid_file in (folder or runtime_dir()).glob("*.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid, started = pid_file.read_text().split()
            if processes.alive(int(pid), float(started)):
                processes.terminate(int(pid), float(started), grace=2)
                ended += 1
            pid_file.unlink()
    return ended


# -- the zygote --------------------------------------------------------------------------


class _Request:
    """A start request, checked."""

    def __init__(self, raw: dict[str, Any]) -> None:
        if raw.get("module") not in MODULES:
            raise ValueError(f"module {raw.get('module')!r} is not one a zygote starts")
        self.module: str = raw["module"]
        self.args = [str(a) for a in raw["args"]]
        self.env = {str(k): str(v) for k, v in raw["env"].items()}
        self.cwd, self.log, self.umask = str(raw["cwd"]), str(raw["log"]), int(raw["umask"])


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(path: Path, idle: float) -> _Request | None:
    """Preload, listen at `path`, fork per request. Returns only in a child, with the
    request it is to become; in the zygote it returns None when idle for `idle` seconds."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = path.with_name(f"{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    listener.bind(str(staging))
    listener.listen(16)
    ours = os.stat(staging).st_ino
    os.replace(staging, path)  # clients see the socket only once the imports are done
    listener.settimeout(_POLL)
    print(f"zygote {os.getpid()} ready at {path} (imported: {', '.join(PRELOAD)})", flush=True)
    last = time.monotonic()
    forked = False
    try:
        while time.monotonic() - last < idle:
            _reap()
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            last = time.monotonic()
            with conn:
                try:
                    conn.settimeout(REPLY_TIMEOUT)
                    if _peer_uid(conn) != os.getuid():
                        raise ValueError("a client of another user")
                    request = _Request(json.loads(_read_line(conn)))
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                    print(f"refused a request: {exc}", flush=True)
                    with contextlib.suppress(OSError):
                        conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
                    continue
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    forked = True
                    listener.close()
                    return request
                print(f"started {request.module} {' '.join(request.args)}: pid {pid}", flush=True)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    finally:
        if not forked:
            listener.close()
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == ours:  # not a newer zygote's
                    path.unlink()
    print(f"zygote {os.getpid()} idle for {idle:g} s: exiting", flush=True)
    return None


def become(request: _Request) -> None:
    """In the forked child: turn into `python -m MODULE ARGS` in the request's setting."""
    import runpy

    fd = os.open(request.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)  # from here on, what goes wrong is in the process's own log
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    # before the environment is replaced: setproctitle finds argv's memory by it
    with contextlib.suppress(ImportError):  # `ps` shows what a fresh start would show
        from setproctitle import setproctitle

        setproctitle(" ".join([sys.executable, "-m", request.module, *request.args]))
    os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.env)
    os.chdir(request.cwd)
    sys.path[0] = request.cwd  # as `python -m` sets it
    if "numpy.random" in sys.modules:  # its global generator was seeded once, in the zygote
        sys.modules["numpy.random"].seed()
    sys.argv = [request.module, *request.args]
    runpy.run_module(request.module, run_name="__main__", alter_sys=True)


def main() -> None:
    """`python -m springboard.prefork SOCKET IDLE_SECONDS`."""
    if len(sys.argv) != 3:
        sys.stderr.write("usage: python -m springboard.prefork SOCKET IDLE_SECONDS\n")
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        request = serve(Path(sys.argv[1]), float(sys.argv[2]))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            sys.exit(0)
        raise
    if request is not None:
        become(request)


if __name__ == "__main__":
    main()
