"""Workers and servers forked by a zygote (`springboard.prefork`): started as a fresh
`python -m` would be (environment, working directory, umask, session, log, command line),
for any home, by one zygote per set of import-time settings, never by a stranger's
request, and the usual way whenever no zygote is ready.

The processes started here are real job workers asked for a job that does not exist: each
imports what a worker imports, logs "no job ..." and exits 2, in well under a second once
forked."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
from functools import partial
from pathlib import Path

import psutil
import pytest

from springboard import prefork, processes
from springboard.config import reset_settings
from tests import waiting

WORKER = "springboard.jobs.worker"
pytestmark = pytest.mark.integration


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runtime folder of this test's own, so its zygotes are its own; ended after it."""
    run = tmp_path / "run"
    monkeypatch.setenv("SPRINGBOARD_RUNTIME_DIR", str(run))
    reset_settings()
    yield run
    prefork.stop_all(run)


# a hang guard: a zygote imports torch in seconds
_until = partial(waiting.wait_for, timeout=120, interval=0.2)


def _forked(env: dict[str, str], log: Path, job: str = "nojob") -> int:
    """Ask until a zygote forks the worker (the first asks start the zygote): its pid."""
    return int(_until(lambda: prefork.start(WORKER, [job], env=env, log_path=log)))  # type: ignore[arg-type]


def _zygote(folder: Path) -> psutil.Process:
    (pid_file,) = folder.glob("*.pid")
    return psutil.Process(int(pid_file.read_text().split()[0]))


def test_a_forked_endpoint_server_is_what_a_fresh_start_would_be(
    folder: Path, tmp_path: Path
) -> None:
    import httpx

    from springboard.serving import endpoints

    _forked(dict(os.environ), tmp_path / "first.log")  # a zygote is ready
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    os.chdir(cwd)
    old_umask = os.umask(0o027)
    try:
        info = endpoints.deploy(
            "springboard-tiny-t5",
            name="forked",
            env={"OMP_NUM_THREADS": "3", "HF_TOKEN": "hf_forked_secret"},
        )
    finally:
        os.umask(old_umask)
    try:
        row = endpoints.describe("forked")
        server = psutil.Process(row.pid)
        assert server.ppid() == _zygote(folder).pid  # forked, not started anew
        assert os.getsid(server.pid) == server.pid  # its own session, as a new start's
        assert server.cwd() == str(cwd)
        assert "-m springboard.serving.server forked" in " ".join(server.cmdline())
        answer = httpx.post(
            f"{info.url}/invocations",
            json={"text_inputs": "summarize: A storm cut power in Ivel.", "max_length": 12},
            timeout=60,
        )
        assert answer.status_code == 200 and answer.json()["generated_texts"][0]
        log = Path(row.log_path)
        # its environment: the home it reported to (this one), the deployment's variables
        assert "is InService" in log.read_text()
        assert "thread budget: 3 torch threads (OMP_NUM_THREADS)" in log.read_text()
        # which the zygote never sees (its /proc environ is also what the server's shows)
        assert "hf_forked_secret" not in str(_zygote(folder).environ())
        assert "hf_forked_secret" not in log.read_text()
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
    finally:
        endpoints.delete("forked")
    _until(lambda: not processes.alive(server.pid, None))  # the zygote reaped it
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_one_zygote_serves_every_home_and_another_import_setting_gets_its_own(
    folder: Path, tmp_path: Path
) -> None:
    pids = [
        _forked({**os.environ, "SPRINGBOARD_HOME": str(tmp_path / h)}, tmp_path / f"{h}.log", h)
        for h in ("a", "b")
    ]
    zygote_log = next(folder.glob("*.log")).read_text()
    assert all(f"pid {pid}" in zygote_log for pid in pids)  # one zygote forked both
    for h in ("a", "b"):  # each ran in its own home: no such job there
        _until(lambda h=h: f"no job {h}" in (tmp_path / f"{h}.log").read_text())
    assert len(list(folder.glob("*.sock"))) == 1
    # torch reads TORCH_* when imported: a zygote that imported it otherwise cannot serve
    other = {**os.environ, "TORCH_SHOW_CPP_STACKTRACES": "1"}
    assert prefork.key(other) != prefork.key(dict(os.environ))
    _forked(other, tmp_path / "other.log")
    assert len(list(folder.glob("*.sock"))) == 2


def test_spawn_falls_back_to_a_new_process_and_prefork_0_starts_no_zygote(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPRINGBOARD_PREFORK", "0")
    reset_settings()
    pid, _ = processes.spawn(WORKER, ["nojob"], log_path=tmp_path / "w.log")
    assert psutil.Process(pid).ppid() == os.getpid()  # started the usual way
    processes.reap(pid)
    assert not list(folder.glob("*.pid"))
    # on: the first spawn does not wait for the zygote it starts
    monkeypatch.setenv("SPRINGBOARD_PREFORK", "1")
    reset_settings()
    pid, _ = processes.spawn(WORKER, ["nojob"], log_path=tmp_path / "w.log")
    assert psutil.Process(pid).ppid() == os.getpid()
    processes.reap(pid)
    assert len(list(folder.glob("*.pid"))) == 1  # the zygote, for the next spawn


def test_a_killed_zygote_is_replaced(folder: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    first = _zygote_after(env, folder, tmp_path)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert prefork.start(WORKER, ["nojob"], env=env, log_path=tmp_path / "x.log") is None
    pid = _forked(env, tmp_path / "y.log")
    assert psutil.Process(pid).ppid() != first.pid


def _zygote_after(env: dict[str, str], folder: Path, tmp_path: Path) -> psutil.Process:
    _forked(env, tmp_path / "first.log")
    return _zygote(folder)


def test_an_idle_zygote_exits(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPRINGBOARD_PREFORK_IDLE", "2")
    reset_settings()
    zygote = _zygote_after(dict(os.environ), folder, tmp_path)
    zygote.wait(60)  # idle for 2 s: it exits by itself
    assert not list(folder.glob("*.sock"))


def test_the_zygote_starts_only_its_modules(folder: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    _forked(env, tmp_path / "first.log")
    (sock,) = folder.glob("*.sock")
    request = {
        "module": "http.server",
        "args": [],
        "env": env,
        "cwd": str(tmp_path),
        "umask": 0o077,
        "log": str(tmp_path / "evil.log"),
    }
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(str(sock))
        conn.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(conn.makefile().readline())
    assert "http.server" in reply["error"]
    assert not (tmp_path / "evil.log").exists()
    # and the client never asks it for anything else
    assert prefork.start("http.server", [], env=env, log_path=tmp_path / "e.log") is None


def test_a_folder_others_can_enter_is_not_used(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert prefork.start(WORKER, ["nojob"], env=dict(os.environ), log_path=tmp_path / "l") is None
    assert not list(folder.iterdir())  # no zygote started there
