"""Issue 21, for real: private files and folders, secrets kept out of the state, the API
key kept off the command line, names matched in full, workers reaped, and training
templates that cannot evaluate anything. Real files, real processes, the CLI as a
subprocess where the behaviour is the CLI's."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from springboard import permissions, processes
from springboard.config import reset_settings
from springboard.errors import ValidationError
from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration

SECRET = "hf_s3cr3t-Zq9xW"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sb(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**cli_env(home), **(env or {})}
    if env is None or "SPRINGBOARD_API_KEY" not in env:
        full.pop("SPRINGBOARD_API_KEY", None)
    return subprocess.run(
        [str(VENV_BIN / "springboard"), *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def loose_umask():
    """The library must not rely on the caller's umask: run as a permissive one would."""
    old = os.umask(0o022)
    yield
    os.umask(old)


# --- 1. folders 0700, files 0600 ------------------------------------------------------


def test_a_new_home_and_database_are_private(tmp_path, monkeypatch, loose_umask):
    from springboard.store import engine_for

    home = tmp_path / "fresh" / "home"
    monkeypatch.setenv("SPRINGBOARD_HOME", str(home))
    reset_settings()
    engine = engine_for()
    with engine.connect() as conn:  # an open connection: the -wal and -shm files exist
        conn.exec_driver_sql("SELECT 1")
        assert (mode(home), mode(home / "state.db")) == (0o700, 0o600)
        for suffix in ("-wal", "-shm"):
            assert mode(home / f"state.db{suffix}") == 0o600


def test_cli_tightens_a_home_an_older_version_left_open(tmp_path):
    home = tmp_path / "old-home"
    home.mkdir()
    db = home / "state.db"
    sqlite3.connect(db).close()
    home.chmod(0o755)
    db.chmod(0o644)
    result = sb(home, "models", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert (mode(home), mode(db)) == (0o700, 0o600)
    assert "tightened" in result.stderr and str(home) in result.stderr


def test_a_users_own_home_folder_or_someone_elses_is_never_chmod_ded(tmp_path, monkeypatch, caplog):
    user_home = tmp_path / "user"
    user_home.mkdir(mode=0o755)
    user_home.chmod(0o755)
    monkeypatch.setenv("HOME", str(user_home))
    permissions._not_ours.cache_clear()
    try:
        permissions.ensure_home(user_home.resolve())  # SPRINGBOARD_HOME=~
    finally:
        permissions._not_ours.cache_clear()
    assert mode(user_home) == 0o755 and "a folder of its own" in caplog.text
    if os.getuid() == 0:  # only root can hand a folder to someone else
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o755)
        os.chown(shared, 4242, -1)
        assert not permissions.tighten(shared) and mode(shared) == 0o755
        assert "uid 4242" in caplog.text


def test_job_files_are_private(isolated_env, tmp_path, loose_umask):
    from springboard.jobs import paths
    from springboard.jobs.checkpoint import Checkpoint, open_output

    folder = paths.job_dir("tr-0123456789ab")
    paths.log_path("tr-0123456789ab").touch(mode=0o644)  # as the job service creates it
    paths.record_metric("tr-0123456789ab", "loss", 1.0)
    Checkpoint().save(folder)
    with open_output(tmp_path / "records.out", 0) as out:
        out.write(b"{}\n")
    pid, _ = processes.spawn("this", [], log_path=paths.log_path("tr-0123456789ab"))
    processes.reap(pid)
    assert mode(isolated_env / "jobs") == mode(folder) == 0o700
    for name in ("job.log", "metrics.jsonl", "checkpoint.json"):
        assert mode(folder / name) == 0o600, name
    assert mode(tmp_path / "records.out") == 0o600
    assert mode(permissions.private_dir(isolated_env / "models" / "m-ft-x", isolated_env)) == 0o700


def test_worker_entrypoints_write_private_files(tmp_path):
    target = tmp_path / "written-by-a-worker"
    code = (
        "import sys; from springboard.processes import entrypoint; "
        "entrypoint(lambda p: open(p, 'w').close() or 0, 'usage')"
    )
    subprocess.run([sys.executable, "-c", code, str(target)], check=True, timeout=60)
    assert mode(target) == 0o600


def test_transform_job_folder_log_checkpoint_and_outputs_are_private(isolated_env, tmp_path):
    records = tmp_path / "in.jsonl"
    records.write_text("".join(json.dumps({"text_inputs": f"say {i}"}) + "\n" for i in range(2)))
    done = sb(
        isolated_env,
        "transform",
        "springboard-tiny-t5",
        "--input",
        str(records),
        "--output",
        str(tmp_path / "out"),
        "--env",
        "HYPER_PARAMS={'max_length': 4}",
        "--wait",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    folder = isolated_env / "jobs" / job["id"]
    assert (mode(isolated_env), mode(folder), mode(tmp_path / "out")) == (0o700, 0o700, 0o700)
    for path in (
        folder / "job.log",
        folder / "checkpoint.json",
        folder / "metrics.jsonl",
        tmp_path / "out" / "in.jsonl.out",
        isolated_env / "state.db",
    ):
        assert mode(path) == 0o600, path


# --- 2. deploy --env: values of non-settings reach the server, never the state ---------


def test_deploy_env_secret_reaches_the_server_only(isolated_env):
    from springboard.serving import endpoints

    deployed = sb(
        isolated_env,
        "deploy",
        "springboard-tiny-t5",
        "--name",
        "s",
        "--env",
        f"HF_TOKEN={SECRET}",
        "--env",
        "OMP_NUM_THREADS=1",
        "--env",
        "OPTION_MAX_ROLLING_BATCH_SIZE=4",
        "--json",
        # started anew, so /proc/PID/environ below is the server's own (a forked server's
        # is its zygote's; tests/test_prefork.py checks what reaches a forked one)
        env={"SPRINGBOARD_PREFORK": "0"},
    )
    try:
        assert deployed.returncode == 0, deployed.stderr
        described = sb(isolated_env, "endpoints", "describe", "s", "--json")
        assert described.returncode == 0, described.stderr
        info = json.loads(described.stdout)
        assert info["settings"]["HF_TOKEN"] == info["settings"]["OMP_NUM_THREADS"] == "<redacted>"
        assert info["settings"]["OPTION_MAX_ROLLING_BATCH_SIZE"] == "4"
        listed = sb(isolated_env, "endpoints", "list", "--json")
        server_info = httpx.get(info["url"] + "/info", timeout=10).text
        for shown in (deployed.stdout, described.stdout, listed.stdout, server_info):
            assert SECRET not in shown
        folder = isolated_env / "endpoints" / "s"
        assert (mode(folder), mode(folder / "server.log")) == (0o700, 0o600)
        assert SECRET not in (folder / "server.log").read_text()
        for suffix in ("", "-wal"):
            path = isolated_env / f"state.db{suffix}"
            assert not path.exists() or SECRET.encode() not in path.read_bytes()
        server_env = psutil.Process(info["pid"]).environ()
        assert server_env["HF_TOKEN"] == SECRET and server_env["OMP_NUM_THREADS"] == "1"
    finally:
        reset_settings()
        with contextlib.suppress(Exception):  # it never started
            endpoints.delete("s")


def test_values_stored_by_older_versions_are_redacted(isolated_env):
    from springboard.serving import endpoints
    from springboard.store import endpoint_records, engine_for
    from springboard.store.migrations import migrate

    endpoint_records.insert(
        {
            "name": "old",
            "model_id": "springboard-tiny-t5",
            "model_version": "1.0.0",
            "status": "Creating",
            "status_message": None,
            "host": "127.0.0.1",
            "port": None,
            "url": None,
            "pid": None,
            "pid_started": None,
            "log_path": "/nowhere",
            "model_dir": None,
            "env": {"OPTION_DTYPE": "fp32", "HF_TOKEN": SECRET},
        }
    )
    assert endpoints.describe("old").settings == {"OPTION_DTYPE": "fp32", "HF_TOKEN": "<redacted>"}
    with engine_for().begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM schema_migrations WHERE name = 'm004_redact_endpoint_env'"
        )
        assert migrate(conn) == ["m004_redact_endpoint_env"]
    assert endpoint_records.get("old")["env"] == {"OPTION_DTYPE": "fp32", "HF_TOKEN": "<redacted>"}
    endpoint_records.remove("old")


# --- 3. the control plane's API key: environment or a private file, never argv ----------


def test_serve_refuses_a_key_on_the_command_line(isolated_env):
    result = sb(isolated_env, "serve", "--api-key", SECRET)
    assert result.returncode == 2
    assert "SPRINGBOARD_API_KEY" in result.stderr and "--api-key-file" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_serve_refuses_a_key_file_others_can_read(isolated_env, tmp_path):
    key = tmp_path / "key"
    key.write_text(SECRET)
    key.chmod(0o644)
    result = sb(isolated_env, "serve", "--api-key-file", str(key))
    assert result.returncode == 2
    assert "--api-key-file" in result.stderr and f"chmod 600 {key}" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("source", ["environment", "file"])
def test_serve_takes_the_key_from_the_environment_or_a_private_file(isolated_env, tmp_path, source):
    # a bad port stops it before binding; a public host without a key would be a second issue
    args, env = ["serve", "--host", "0.0.0.0", "--port", "70000"], {"SPRINGBOARD_API_KEY": SECRET}
    if source == "file":
        key = tmp_path / "key"
        key.write_text(SECRET + "\n")
        key.chmod(0o600)
        args, env = [*args, "--api-key-file", str(key)], {}
    result = sb(isolated_env, *args, env=env)
    assert result.returncode == 2 and "--port" in result.stderr
    assert "--host" not in result.stderr and SECRET not in result.stderr


# --- 4. names match in full --------------------------------------------------------------


def test_names_with_a_trailing_newline_are_refused(isolated_env):
    from springboard.serving import endpoints
    from springboard.training import jobs as training_jobs

    with pytest.raises(ValidationError) as err:
        endpoints.deploy("springboard-tiny-t5", name="nl\n")
    assert err.value.issues[0].field == "name"
    assert not (isolated_env / "endpoints").exists()
    for pattern in (endpoints.NAME_PATTERN, training_jobs.NAME_PATTERN):
        assert pattern.fullmatch("ok-name") and not pattern.fullmatch("ok-name\n")


# --- 5. workers are reaped without anyone asking ----------------------------------------


def test_an_exited_worker_is_reaped_promptly(tmp_path):
    pid, started = processes.spawn("this", [], log_path=tmp_path / "w.log")
    deadline = time.monotonic() + 60  # a hang guard: reaped as soon as it exits
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # never asking processes.alive: only the reaper may collect it
    assert not psutil.pid_exists(pid), psutil.Process(pid).status()
    assert not processes.alive(pid, started)


def test_alive_tells_a_running_worker_from_a_reused_pid(tmp_path):
    pid, started = processes.spawn(
        "timeit", ["-n", "1", "-r", "1", "import time; time.sleep(30)"], log_path=tmp_path / "w.log"
    )
    try:
        assert processes.alive(pid, started)
        assert not processes.alive(pid, started - 100)  # same pid, another process
    finally:
        processes.terminate(pid, started, grace=5)
    assert not processes.alive(pid, started) and not psutil.pid_exists(pid)


# --- 6. template.json is filled like prompt templates: nothing is evaluated --------------


@pytest.mark.parametrize("placeholder", ["{x.__class__.__mro__}", "{x[0]}", "{x!r}", "{x:>9}"])
def test_training_template_refuses_non_plain_placeholders(tmp_path, placeholder):
    from springboard.training import data

    (tmp_path / "train.jsonl").write_text(json.dumps({"x": "hi", "y": "there"}) + "\n")
    (tmp_path / "template.json").write_text(
        json.dumps({"prompt": f"Q: {placeholder}", "completion": "{y}"})
    )
    with pytest.raises(ValidationError) as err:
        data.load_instruction(tmp_path)
    issue = err.value.issues[0]
    assert issue.field == "template.json:prompt" and "not a plain field name" in issue.message
    assert "<class" not in str(err.value)  # nothing was evaluated into the message


def test_training_template_fills_plain_fields_and_never_evaluates(tmp_path):
    from springboard.training import data

    (tmp_path / "train.jsonl").write_text(json.dumps({"x": "hi", "y": 3, "z": None}) + "\n")
    (tmp_path / "template.json").write_text(
        json.dumps({"prompt": "Q: {x} {{literal}} [{z}]", "completion": "{y}"})
    )
    assert data.load_instruction(tmp_path) == [data.Example("Q: hi {literal} []", "3")]
    unchecked = data.Template(prompt="{x.__class__.__mro__}", completion="{y}")
    with pytest.raises(ValidationError, match=r"x\.__class__\.__mro__"):
        unchecked.apply({"x": "hi", "y": "there"}, "train.jsonl:1")  # a missing field, not a lookup
