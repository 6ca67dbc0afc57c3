"""How the CLI shows results and errors: rich tables for people, JSON for programs.

Commands call `emit_json` or build a table; `run_cli` turns a library error into one
clear message and a non-zero exit (2 for the caller's mistakes, 1 for failures), never a
traceback. The library names parameters as its functions do (`input`, `prompt_template`,
`from_job`); `flag_names` is the one place that spells them as the running command's
flags (`--input`, ...) or arguments (`MODEL_ID`), read from the command's own options.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from springboard.errors import (
    ClientError,
    Issue,
    SpringboardError,
    ValidationError,
    spelled,
)

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
        raise ValidationError(
            [
                Issue(
                    option,
                    f"is not valid JSON ({exc.msg} at character {exc.pos})",
                    value,
                    'quote it in single quotes, e.g. \'{"text_inputs": "hi"}\'',
                )
            ]
        ) from None


# Library parameter -> the command parameter it arrives as, where the two names differ.
LIBRARY_NAMES: dict[str, str] = {
    "job_ids": "from_job",  # self_consistency.from_jobs(job_ids) <- --from-job
    "input_uri": "input",  # invocation.create(input_uri=) <- --input
    "output_uri": "output",
}


def _spelling(param: Any) -> str:
    if param.param_type_name == "option":
        long = [opt for opt in param.opts if opt.startswith("--")]
        return str((long or param.opts)[0])
    return str(param.metavar or param.name.upper())  # an argument: MODEL_ID


def flag_names(command: Any) -> dict[str, str]:
    """{library parameter: how the (typer/click) `command` spells it}: `prompt_template`
    -> `--prompt-template`, `model_id` -> `MODEL_ID`."""
    names = {p.name: _spelling(p) for p in command.params if p.name}
    for library, parameter in LIBRARY_NAMES.items():
        if parameter in names:
            names.setdefault(library, names[parameter])
    return names


def command_of(app: Any, argv: Sequence[str]) -> Any:
    """The (sub)command `argv` runs, e.g. `jobs describe` for `["jobs", "describe", "x"]`."""
    import typer.main

    command = typer.main.get_command(app)
    args = list(argv)
    while hasattr(command, "commands"):  # a group
        position = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if position is None:
            break
        sub = command.commands.get(args[position])
        if sub is None:
            break
        args, command = args[position + 1 :], sub
    return command


_running: dict[str, Any] = {}  # the app run_cli runs, for in_cli_terms


def in_cli_terms(text: str) -> str:
    """Library text (a note, a message) with the running command's parameters as flags."""
    app = _running.get("app")
    return spelled(text, flag_names(command_of(app, sys.argv[1:]))) if app else text


def report_error(exc: SpringboardError, as_json: bool, names: dict[str, str] | None = None) -> int:
    """Print `exc` (its parameters spelled by `names`, e.g. as flags); the exit code."""
    if names:
        exc = exc.renamed(names)
    if as_json:
        sys.stderr.write(json.dumps({"error": exc.to_dict()}, default=str) + "\n")
    else:
        err_console.print(
            f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True
        )
    return 2 if isinstance(exc, ClientError) else 1


def run_cli(app: Callable[[], Any]) -> None:
    """Run the typer app, rendering Springboard errors as messages with exit codes."""
    as_json = "--json" in sys.argv
    _running["app"] = app
    try:
        app()
    except SpringboardError as exc:
        sys.exit(report_error(exc, as_json, flag_names(command_of(app, sys.argv[1:]))))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
