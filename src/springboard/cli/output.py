"""How the CLI shows results and errors: rich tables for people, JSON for programs.

Commands call `emit_json` or build a table; `run_cli` turns a library error into one
clear message and a non-zero exit (2 for the caller's mistakes, 1 for failures), never a
traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from springboard.errors import ClientError, Issue, SpringboardError, ValidationError

console = Console()
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    """Print `data` as JSON on stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def show(record: Any, *, as_json: bool, line: str | None = None) -> None:
    """A pydantic record as JSON, as one summary line, or as aligned `key  value` rows."""
    if as_json:
        emit_json(record.model_dump(mode="json"))
    elif line is not None:
        console.print(line, highlight=False)
    else:
        for key, value in record.model_dump().items():
            console.print(f"[bold]{key:>15}[/]  {value}", highlight=False)


def read_json_arg(value: str, *, option: str) -> Any:
    """Parse an option given as inline JSON or as `@path/to/file.json`."""
    text = value
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        if not path.is_file():
            raise ValidationError([Issue(option, f"file {path} does not exist", value)])
        text = path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError([Issue(option, f"is not valid JSON ({exc.msg} at character "
                                     f"{exc.pos})", value,
                                     "quote it in single quotes, e.g. '{\"text_inputs\": \"hi\"}'")]) from None


def report_error(exc: SpringboardError, as_json: bool) -> int:
    if as_json:
        sys.stderr.write(json.dumps({"error": exc.to_dict()}, default=str) + "\n")
    else:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True,
                          soft_wrap=True)
    return 2 if isinstance(exc, ClientError) else 1


def run_cli(app: Callable[[], Any]) -> None:
    """Run the typer app, rendering Springboard errors as messages with exit codes."""
    as_json = "--json" in sys.argv
    try:
        app()
    except SpringboardError as exc:
        sys.exit(report_error(exc, as_json))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
