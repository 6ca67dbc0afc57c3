"""Print the end of a log file, and optionally follow it (`tail -f`)."""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path


def tail(
    path: Path,
    *,
    lines: int = 50,
    follow: bool = False,
    ended: Callable[[], bool] | None = None,
    poll: float = 0.2,
) -> None:
    """Print the last `lines` lines; with `follow`, keep printing new ones. When `ended`
    is given, following stops once it returns True and the rest of the log is printed
    (a job's log after the job ended); without it, following goes on until Ctrl-C."""
    while follow and ended is not None and not path.exists() and not ended():
        time.sleep(poll)
    if not path.exists():
        sys.stdout.write(f"(no log yet at {path})\n")
        return
    with open(path, errors="replace") as handle:
        sys.stdout.writelines(deque(handle, maxlen=lines))
        sys.stdout.flush()
        while follow:
            line = handle.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
                continue
            if ended is not None and ended():
                sys.stdout.writelines(handle)  # what was written before it ended
                sys.stdout.flush()
                return
            time.sleep(poll)
