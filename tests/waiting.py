"""Polling until a condition holds: the one helper the test files share (each binds its
own hang guard with `functools.partial`). The timeout is a guard against a hang, never a
timing assertion."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], timeout: float, *, interval: float = 0.05) -> Any:
    """`check()`'s first truthy value, asked every `interval` seconds; fails after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    raise AssertionError(f"hang guard: the condition did not hold within {timeout} s")
