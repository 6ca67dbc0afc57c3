"""How many torch/OpenMP threads a job worker or endpoint server may use.

torch starts one thread per core in every process. Several such processes on a small
machine oversubscribe it, and OpenMP threads spinning at barriers then cost 10-70x (two
processes with the default threads on 2 cores ran 9-70x slower than one thread each). So
each heavy process gets a budget when it starts:

1. `SPRINGBOARD_TORCH_THREADS`, when set: that many, for every process;
2. else `OMP_NUM_THREADS`, when the process's environment sets it (yours, or an endpoint's
   `--env`): that many;
3. else the rule: `max(1, cores // heavy processes)`, counting the job workers and endpoint
   servers running now (from the store: live pids of active jobs and of endpoints) and the
   new one.

`child_env` applies this to a child's environment at spawn (`OMP_NUM_THREADS`,
`MKL_NUM_THREADS`); `apply` sets torch's threads at the start of the process itself.

A budget the rule made is revised while the process runs: `revise`, called by the code
that runs torch at points where changing threads is safe (before each generation pass,
each continuous-batching step, each training step), recounts the heavy processes at most
every `REVISE_SECONDS` and sets the calling thread's torch threads to the new share. So
the first of two jobs gives back a core when the second starts (measured: a greedy
self-consistency job kept 2 threads beside a 1-thread job on 2 cores and ran 12x slower
than alone), and takes it again when the other ends. A budget set by the user (the
setting or OMP_NUM_THREADS) is never revised. This module does not start processes or
watch them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger("springboard.threads")

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Set beside OMP_NUM_THREADS when the rule chose it ("THREADS CORES HEAVY"), so the child
# can say why, and a process it spawns in turn (a worker admitting the next job)
# recomputes its budget instead of taking it for the user's.
BUDGET_MARK = "SPRINGBOARD_THREAD_BUDGET"
RULE = "cores // heavy processes"
REVISE_SECONDS = 2.0  # a recount costs a store query and a few pid checks (~ms)


@dataclass(frozen=True)
class Budget:
    """A thread count and why it is that."""

    threads: int
    source: str  # "SPRINGBOARD_TORCH_THREADS", "OMP_NUM_THREADS", or RULE
    cores: int = 0  # for the rule: the cores shared ...
    heavy: int = 0  # ... by this many heavy processes, the one in question included

    @property
    def by_rule(self) -> bool:
        return self.source == RULE

    @property
    def reason(self) -> str:
        if self.by_rule:
            return f"{self.cores} cores shared by {self.heavy} heavy " + (
                "process" if self.heavy == 1 else "processes"
            )
        return self.source


def rule(cores: int, heavy_processes: int) -> int:
    """The budget of one of `heavy_processes` (counting itself) sharing `cores`."""
    return max(1, cores // max(1, heavy_processes))


def cores() -> int:
    """The CPUs this process may run on (its affinity, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def heavy_processes(*, exclude_pid: int | None = None) -> int:
    """Job workers and endpoint servers running now, by the store: live pids of jobs that
    have not ended, and of endpoints."""
    from springboard import processes
    from springboard.jobs.states import TERMINAL
    from springboard.store import endpoint_records, job_records

    ended = {status.value for status in TERMINAL}
    rows = [r for r in job_records.find() if r["status"] not in ended]
    rows += endpoint_records.list_all()
    return sum(
        1
        for r in rows
        if r.get("pid")
        and r["pid"] != exclude_pid
        and processes.alive(r["pid"], r.get("pid_started"))
    )


def _configured() -> Budget | None:
    from springboard.config import get_settings

    threads = get_settings().torch_threads
    return Budget(threads, "SPRINGBOARD_TORCH_THREADS") if threads else None


def _given(env: Mapping[str, str]) -> Budget | None:
    """The budget OMP_NUM_THREADS in `env` sets (None when unset, empty or not a count):
    the rule's, when the mark beside it says so, else the user's."""
    value = env.get("OMP_NUM_THREADS", "").strip()
    if not value.isdigit() or int(value) < 1:
        return None
    mark = env.get(BUDGET_MARK, "").split()
    if len(mark) == 3 and mark[0] == value and mark[1].isdigit() and mark[2].isdigit():
        return Budget(int(value), RULE, cores=int(mark[1]), heavy=int(mark[2]))
    return Budget(int(value), "OMP_NUM_THREADS")


def _by_rule(*, exclude_pid: int | None) -> Budget:
    running = heavy_processes(exclude_pid=exclude_pid) + 1  # and the process in question
    n = cores()
    return Budget(rule(n, running), RULE, cores=n, heavy=running)


def for_new_process(env: Mapping[str, str]) -> Budget:
    """The budget of a heavy process about to start with environment `env`: the setting,
    else the user's OMP_NUM_THREADS in `env`, else the rule (counting the new process)."""
    given = _given(env)
    if given is not None and not given.by_rule:  # the rule's is recomputed for the new one
        return _configured() or given
    return _configured() or _by_rule(exclude_pid=None)


def for_this_process() -> Budget:
    """The budget of the running process: the setting, else what its environment says
    (its spawner's choice), else the rule, counting this process."""
    return _configured() or _given(os.environ) or _by_rule(exclude_pid=os.getpid())


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the new process's budget in OMP_NUM_THREADS and MKL_NUM_THREADS."""
    budget = for_new_process(env)
    out = dict(env)
    for name in THREAD_VARIABLES:
        out[name] = str(budget.threads)
    out.pop(BUDGET_MARK, None)
    if budget.by_rule:
        out[BUDGET_MARK] = f"{budget.threads} {budget.cores} {budget.heavy}"
    return out


class _Reviser:
    """This process's budget (once `apply` has set it) and each torch thread's share of it."""

    def __init__(self) -> None:
        self.budget: Budget | None = None
        self.checked = 0.0
        self.lock = threading.Lock()
        self.local = threading.local()  # .threads: what this thread last set

    def start(self, budget: Budget, threads: int) -> None:
        self.budget, self.checked = budget, time.monotonic()
        self.local.threads = threads

    def revise(self, every: float) -> int | None:
        budget = self.budget
        if budget is None or not budget.by_rule:
            return None
        with self.lock:  # one recount for all the threads that ask at once
            if time.monotonic() - self.checked >= every:
                self.checked = time.monotonic()
                try:
                    new = _by_rule(exclude_pid=os.getpid())
                except Exception as exc:  # noqa: BLE001 (a recount never fails the work)
                    log.warning("thread budget not revised: %s", exc)
                    new = budget
                if new.threads != budget.threads:
                    log.info(
                        "thread budget revised: %d torch threads (%s)", new.threads, new.reason
                    )
                self.budget = budget = new
        if getattr(self.local, "threads", None) != budget.threads:
            import torch

            torch.set_num_threads(budget.threads)  # the calling thread's OpenMP count
            self.local.threads = budget.threads
        return budget.threads


_reviser = _Reviser()


def apply() -> Budget:
    """Set this process's torch threads to its budget (call once, at its start)."""
    import torch

    budget = for_this_process()
    torch.set_num_threads(budget.threads)
    threads = torch.get_num_threads()
    _reviser.start(budget, threads)
    log.info(
        "thread budget: %d torch thread%s (%s)", threads, "" if threads == 1 else "s", budget.reason
    )
    return budget


def revise(every: float = REVISE_SECONDS) -> int | None:
    """In a thread about to run torch, at a point where its thread count may change: when
    `apply` set this process's budget by the rule, recount the heavy processes (at most
    every `every` seconds) and give the calling thread the new share. Returns the thread's
    count, or None when there is nothing to revise (no `apply`, or a budget the user set)."""
    return _reviser.revise(every)
