"""Self-consistency runs going on threads of the control plane (for the UI's pages).

`sdk.self_consistency.run` waits for its invocation jobs and then scores them; a page
must not wait that long, so `start` runs it on a thread and returns at once. `Run.ready`
is set when its jobs exist (`Run.started`) or when it stopped first (`Run.error`); the
run's page reads `Run` to say whether it is going, and why it failed. One run per output
folder at a time. Nothing here is kept across a restart: the folder's run.json is.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from springboard.errors import ConflictError, ServerError, SpringboardError

log = logging.getLogger(__name__)


@dataclass
class Run:
    """A run going on a thread of this process."""

    ready: threading.Event = field(default_factory=threading.Event)
    started: bool = False  # its jobs exist
    error: SpringboardError | None = None
    notes: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


_runs: dict[str, Run] = {}
_lock = threading.Lock()


def start(settings: Any, out: Path, resamples: int) -> Run:
    """`sdk.self_consistency.run` on a thread; returns at once (see `Run.ready`)."""
    from springboard.sdk.self_consistency import run as run_experiment

    run = Run()

    def started(_jobs: list[Any]) -> None:
        run.started = True
        run.ready.set()

    def work() -> None:
        try:
            run_experiment(
                settings, out, resamples=resamples, on_update=started, on_note=run.notes.append
            )
        except SpringboardError as exc:
            run.error = exc
        except Exception as exc:  # the page says it failed; the log has why
            log.exception("self-consistency run in %s failed", out)
            run.error = ServerError(f"the run failed: {type(exc).__name__}", fix="see the log")
        finally:
            run.ready.set()

    with _lock:  # one run per folder: checked and started together
        going = _runs.get(str(out))
        if going is not None and going.alive:
            raise ConflictError(
                f"a run is already going in {out}",
                field="output",
                value=str(out),
                fix="wait for it to end, or name another output folder",
            )
        run.thread = threading.Thread(target=work, name=f"self-consistency {out}", daemon=True)
        run.thread.start()
        _runs[str(out)] = run
    return run


def current(out: Path) -> Run | None:
    """The run this process started in `out`, if any."""
    return _runs.get(str(out))
