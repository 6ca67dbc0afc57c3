"""Print the end of a log file, and optionally follow it (`tail -f`)."""

from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path


def tail(path: Path, *, lines: int = 50, follow: bool = False) -> None:
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
            else:
                time.sleep(0.2)
