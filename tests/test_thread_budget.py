"""Thread budgets: the rule, the environment a spawned process really gets (read back from
the live process), the precedence of the setting and the user's OMP_NUM_THREADS, and the
torch threads a real job worker runs with."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from springboard import processes, thread_budget
from springboard.config import reset_settings
from springboard.store import endpoint_records

SLEEPER = ("timeit", ["-n", "1", "-r", "1", "import time; time.sleep(60)"])


@pytest.fixture
def no_thread_env(monkeypatch):
    """No OMP/MKL setting inherited from the test run: the rule decides."""
    for name in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "SPRINGBOARD_TORCH_THREADS",
        thread_budget.BUDGET_MARK,
    ):
        monkeypatch.delenv(name, raising=False)
    reset_settings()


@pytest.fixture
def spawned(tmp_path):
    """Spawn sleepers through `processes.spawn`; all are ended when the test ends."""
    started: list[tuple[int, float]] = []

    def spawn(env=None) -> tuple[int, float, dict[str, str]]:
        pid, when = processes.spawn(*SLEEPER, log_path=tmp_path / f"s{len(started)}.log", env=env)
        started.append((pid, when))
        return pid, when, psutil.Process(pid).environ()

    yield spawn
    for pid, when in started:
        processes.terminate(pid, when, grace=5)


def as_endpoint(name: str, pid: int, started: float) -> None:
    """Record a live process as an endpoint server, as `deploy` does."""
    endpoint_records.insert(
        {
            "name": name,
            "model_id": "springboard-tiny-t5",
            "model_version": "1.0.0",
            "status": "Creating",
            "status_message": None,
            "host": "127.0.0.1",
            "port": None,
            "url": None,
            "pid": pid,
            "pid_started": started,
            "log_path": "/nowhere",
            "model_dir": None,
            "env": {},
        }
    )


@pytest.mark.parametrize(
    ("cores", "heavy", "threads"),
    [(2, 1, 2), (2, 2, 1), (2, 3, 1), (8, 3, 2), (8, 1, 8), (16, 4, 4), (4, 0, 4), (1, 5, 1)],
)
def test_the_rule_shares_the_cores_among_the_heavy_processes(cores, heavy, threads):
    assert thread_budget.rule(cores, heavy) == threads


def test_a_spawned_process_gets_its_share_of_the_cores_in_its_environment(no_thread_env, spawned):
    cores = thread_budget.cores()
    pid, started, env = spawned()
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == str(cores)  # alone: every core
    assert env[thread_budget.BUDGET_MARK] == f"{cores} {cores} 1"

    as_endpoint("first", pid, started)  # now it counts as a heavy process
    second = spawned()[2]
    assert second["OMP_NUM_THREADS"] == str(max(1, cores // 2))
    assert second[thread_budget.BUDGET_MARK] == f"{max(1, cores // 2)} {cores} 2"

    processes.terminate(pid, started, grace=5)  # a dead process no longer counts
    assert spawned()[2]["OMP_NUM_THREADS"] == str(cores)


def test_a_budget_the_rule_set_is_recomputed_for_the_next_process(
    no_thread_env, spawned, monkeypatch
):
    # a worker that admits the next job spawns it with its own environment, budget included
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(thread_budget.BUDGET_MARK, f"1 {thread_budget.cores()} 5")
    assert spawned()[2]["OMP_NUM_THREADS"] == str(thread_budget.cores())


def test_the_setting_wins_then_the_users_omp_num_threads(no_thread_env, spawned, monkeypatch):
    env = spawned(env={"OMP_NUM_THREADS": "3", "PATH": "/usr/bin"})[2]
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"  # the user's own choice
    assert thread_budget.BUDGET_MARK not in env

    monkeypatch.setenv("SPRINGBOARD_TORCH_THREADS", "5")
    reset_settings()
    env = spawned(env={"OMP_NUM_THREADS": "3", "PATH": "/usr/bin"})[2]
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "5"
    budget = thread_budget.for_this_process()
    assert (budget.threads, budget.reason) == (5, "SPRINGBOARD_TORCH_THREADS")


def test_a_process_reads_its_budget_and_why_from_its_environment(no_thread_env, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(thread_budget.BUDGET_MARK, "1 2 3")
    assert thread_budget.for_this_process().reason == "2 cores shared by 3 heavy processes"
    monkeypatch.setenv(thread_budget.BUDGET_MARK, "4 2 3")  # not this value: the user's
    assert thread_budget.for_this_process().reason == "OMP_NUM_THREADS"
    monkeypatch.setenv("OMP_NUM_THREADS", "many")  # not a count: the rule, counting this one
    budget = thread_budget.for_this_process()
    assert budget.by_rule and budget.heavy == 1 and budget.threads == thread_budget.cores()


def test_a_bad_setting_is_refused_naming_it(monkeypatch):
    from springboard.config import get_settings

    monkeypatch.setenv("SPRINGBOARD_TORCH_THREADS", "0")
    reset_settings()
    with pytest.raises(Exception, match="torch_threads"):
        get_settings()
    reset_settings()


@pytest.mark.integration
def test_a_job_worker_runs_torch_with_its_budget(no_thread_env, tmp_path):
    from springboard.jobs import service, transform

    data = tmp_path / "in.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": i, "text_inputs": f"summarize: record {i}"}) + "\n" for i in range(2)
        )
    )
    job = transform.submit("springboard-tiny-t5", input=str(data), output=str(tmp_path / "out"))
    done = service.wait(job.id, timeout=300, poll=0.2)  # a hang guard only
    assert done.status == "Completed", done.status_message
    cores = thread_budget.cores()
    # torch's own count after the worker set it, and why: alone, it has every core
    assert (
        f"thread budget: {cores} torch thread{'s' if cores > 1 else ''} "
        f"({cores} cores shared by 1 heavy process)"
    ) in Path(done.log_path).read_text()


@pytest.fixture
def own_reviser(monkeypatch):
    """This test's `apply` and `revise` state, gone with the test (torch's threads too)."""
    import torch

    threads = torch.get_num_threads()
    monkeypatch.setattr(thread_budget, "_reviser", thread_budget._Reviser())
    yield
    torch.set_num_threads(threads)


def test_a_budget_the_rule_set_is_revised_as_heavy_processes_start_and_end(
    no_thread_env, spawned, own_reviser
):
    import threading

    import torch

    cores = thread_budget.cores()
    assert thread_budget.revise(every=0) is None  # nothing applied: nothing to revise
    assert thread_budget.apply().threads == cores  # alone: every core
    pid, started, _ = spawned()
    as_endpoint("beside", pid, started)
    assert thread_budget.revise() == cores  # not recounted yet: at most every 2 s
    assert thread_budget.revise(every=0) == max(1, cores // 2) == torch.get_num_threads()

    seen: list[int] = []  # another thread running torch gets the share when it asks
    worker = threading.Thread(target=lambda: seen.append(thread_budget.revise() or 0))
    worker.start()
    worker.join()
    assert seen == [max(1, cores // 2)]

    processes.terminate(pid, started, grace=5)  # it ended: the core comes back
    assert thread_budget.revise(every=0) == cores == torch.get_num_threads()


def test_a_budget_the_user_set_is_never_revised(no_thread_env, spawned, own_reviser, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert thread_budget.apply().source == "OMP_NUM_THREADS"
    pid, started, _ = spawned()
    as_endpoint("beside", pid, started)
    assert thread_budget.revise(every=0) is None


def test_a_process_is_known_by_its_time_since_boot(spawned):
    import psutil

    pid, started, _ = spawned()
    # seconds since boot, which setting the system clock does not move (its wall-clock
    # start does: a VM's clock stepped 17 s made `endpoints delete` miss its keeper)
    assert started < processes.WALL_CLOCK
    assert processes.alive(pid, started)
    assert not processes.alive(pid, started - 5)  # another process that had this pid
    # a record an older version wrote (a wall-clock time) is still recognized
    assert processes.alive(pid, psutil.Process(pid).create_time())
