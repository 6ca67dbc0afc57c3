"""Reading JSON Lines files of objects, with every bad line named by file and line.

`read_objects(path)` returns the `(where, object)` pairs of a file's non-blank lines and,
separately, one `Issue` per line that is not a JSON object, so callers can report every
problem at once (or stop at the first). What the objects must contain is the caller's
business.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from springboard.errors import Issue


def read_objects(
    path: Path, *, label: str | None = None, fix: str | None = None
) -> tuple[list[tuple[str, dict[str, Any]]], list[Issue]]:
    """`(where, object)` per good line (`where` is `label:line`, label defaulting to the
    file name) and an Issue per line that is not valid JSON or not an object."""
    records: list[tuple[str, dict[str, Any]]] = []
    issues: list[Issue] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{label or path.name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                issues.append(
                    Issue(where, f"is not valid JSON: {exc.msg}", line.strip()[:200], fix)
                )
                continue
            if not isinstance(record, dict):
                issues.append(Issue(where, "is not a JSON object", line.strip()[:200], fix))
                continue
            records.append((where, record))
    return records, issues
