"""Shared test setup: isolation, the tiers, and the costly things made once per run.

Isolation: every test gets its own SPRINGBOARD_HOME and an empty, offline Hugging Face
cache, so nothing reads the developer's state or touches the network.

Tiers (markers registered in pyproject.toml): `integration` crosses a process or network
boundary, `slow` takes more than a few seconds; `make test-fast` runs neither, `make test`
runs everything. A test that starts an endpoint server or a job worker (and so a training
run) without the `integration` mark fails at once, naming the mark, so the fast tier stays
fast. Slow tests run first, so a parallel run never ends on one of them alone.

Parallel runs (`make test`, pytest-xdist): each worker runs whole files, with one torch
thread, which the servers and workers it starts inherit (tests/ sets nothing else).

Made once per run (session fixtures): the two bundled models loaded in this process, the
folder of the zygotes that fork servers and workers (`zygotes`), and
`qg_fine_tuned`, the bundled text2text model fine-tuned to ask questions. Not here: module
fixtures that several tests of one file share (endpoints, servers) live in that file.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from springboard.config import reset_settings

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test`: a worker per core, so one thread
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # each, for it and the servers it starts
    os.environ.setdefault("MKL_NUM_THREADS", "1")

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
QG = ROOT / "examples" / "question-generation"

# what only an integration test may start: each costs a python with torch (seconds)
HEAVY_PROCESSES = {
    "springboard.serving.server": "an endpoint server",
    "springboard.jobs.worker": "a job worker",
}


def isolate(patch: pytest.MonkeyPatch, home: Path, hf: Path) -> None:
    """Point Springboard at `home` and Hugging Face at an empty offline cache `hf`."""
    patch.setenv("SPRINGBOARD_HOME", str(home))
    patch.setenv("HF_HOME", str(hf))
    patch.setenv("HF_HUB_CACHE", str(hf / "hub"))
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setenv("TRANSFORMERS_OFFLINE", "1")
    patch.delenv("SPRINGBOARD_CATALOG_PATH", raising=False)
    patch.delenv("SPRINGBOARD_DATABASE_URL", raising=False)
    patch.delenv("SPRINGBOARD_OFFLINE", raising=False)
    reset_settings()


@pytest.fixture(scope="session", autouse=True)
def zygotes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The run's own folder of zygotes (`springboard.prefork`), one per test process,
    shared by its tests' homes; they are ended with the run."""
    from springboard import prefork

    folder = tmp_path_factory.mktemp("run")
    folder.chmod(0o700)
    os.environ["SPRINGBOARD_RUNTIME_DIR"] = str(folder)
    yield folder
    prefork.stop_all(folder)


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("sbhome")
    isolate(monkeypatch, home, tmp_path_factory.mktemp("hf"))
    yield home
    reset_settings()


@pytest.fixture(autouse=True)
def heavy_processes_need_the_integration_mark(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refuse to start a server or worker from a test not marked `integration`."""
    if request.node.get_closest_marker("integration"):
        return
    from springboard import processes

    spawn = processes.spawn

    def guarded(module: str, *args: Any, **kwargs: Any) -> Any:
        if module in HEAVY_PROCESSES:
            raise RuntimeError(
                f"{request.node.nodeid} starts {HEAVY_PROCESSES[module]}: mark it "
                "@pytest.mark.integration (the fast tier starts no servers and "
                "no jobs; see tests/conftest.py)"
            )
        return spawn(module, *args, **kwargs)

    monkeypatch.setattr(processes, "spawn", guarded)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first, then files with integration tests, then the rest, and
    slow tests first within a file; a file's tests stay together (its module fixtures are
    made once). So a parallel run (`make test`: one file per worker at a time) never ends
    on a long test running alone."""

    def has(mark: str) -> set[Path]:
        return {item.path for item in items if item.get_closest_marker(mark)}

    slow, integration = has("slow"), has("integration")
    order = {path: i for i, path in enumerate(dict.fromkeys(item.path for item in items))}
    items.sort(
        key=lambda item: (
            item.path not in slow,
            item.path not in integration,
            order[item.path],
            item.get_closest_marker("slow") is None,
        )
    )


@pytest.fixture(scope="session")
def t5_generator():
    from springboard.inference import Generator

    return Generator.from_catalog("springboard-tiny-t5")


@pytest.fixture(scope="session")
def llama_generator():
    from springboard.inference import Generator

    return Generator.from_catalog("springboard-tiny-llama")


@dataclass(frozen=True)
class FineTuned:
    """A fine-tuning job that finished, in a home of its own, and the model it registered."""

    home: Path
    job: Any  # springboard.jobs.models.Job, as it was when the job completed
    model_id: str

    def use(self, patch: pytest.MonkeyPatch) -> None:
        """Make this model's home the test's SPRINGBOARD_HOME (its catalog has the model)."""
        patch.setenv("SPRINGBOARD_HOME", str(self.home))
        reset_settings()


@pytest.fixture(scope="session")
def qg_fine_tuned(tmp_path_factory: pytest.TempPathFactory) -> FineTuned:
    """springboard-tiny-t5 fully fine-tuned to ask a question about a context, with the
    README's settings (3 epochs, learning rate 0.003, batch 16, the shipped validation
    file), by a real job worker: trained once per run, whichever tests and however many
    parallel workers ask for it (the first trains under a lock; the others read its job)."""
    from springboard.jobs import service
    from springboard.training import jobs as training_jobs

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by its workers
    home, trained = root / "qg-fine-tuned", root / "qg-fine-tuned" / "job-id"
    with open(root / "qg-fine-tuned.lock", "w") as lock, pytest.MonkeyPatch.context() as patch:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for folder in (home, root / "qg-fine-tuned-hf"):
            folder.mkdir(mode=0o700, exist_ok=True)
        isolate(patch, home, root / "qg-fine-tuned-hf")
        if trained.exists():
            job = service.get(trained.read_text())
        else:
            job = training_jobs.submit(
                "springboard-tiny-t5",
                train=str(QG / "train"),
                validation=str(QG / "validation.jsonl"),
                name="qg",
                hyperparameters={"epochs": "3", "learning_rate": "0.003", "batch_size": "16"},
            )
            job = service.wait(job.id, timeout=1800)  # a hang guard: ~15 s on a quiet machine
            if job.status == "Completed":
                trained.write_text(job.id)
    reset_settings()
    assert job.status == "Completed", job.status_message
    return FineTuned(home=home, job=job, model_id="springboard-tiny-t5-ft-qg")


def cli_env(home: Path) -> dict[str, str]:
    """The environment a CLI subprocess runs with in tests."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SPRINGBOARD_HOME"] = str(home)
    return env
