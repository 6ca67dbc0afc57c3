"""How the CLI shows results and errors: tables and key/value views for people, JSON for
programs.

Commands call `emit_json`, `print_table` (a table in a terminal, whose id and name columns
are never cut or wrapped; tab-separated lines with a header when stdout is not a
terminal), `print_ids` (`-q`) or `print_fields` (a describe view: `key: value` lines, no
Python reprs, times in ISO-8601 UTC). `run_cli` turns a library error into one
clear message and a non-zero exit (2 for the caller's mistakes, 1 for failures), never a
traceback. Nothing here decides what to show, only how. The library names parameters as its functions do (`input`, `prompt_template`,
`from_job`); `flag_names` is the one place that spells them as the running command's
flags (`--input`, ...) or arguments (`MODEL_ID`), read from the command's own options.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    """A pydantic record as JSON, as one summary line (rich markup; never wrapped, so an
    id in it stays whole), or as a describe view (`print_fields`)."""
    if as_json:
        emit_json(record.model_dump(mode="json"))
    elif line is not None:
        console.print(line, highlight=False, soft_wrap=True)
    else:
        print_fields(record.model_dump())


# -- values as text ------------------------------------------------------------------------


def iso_time(moment: datetime | float) -> str:
    """A time as ISO-8601 in UTC with seconds (`2026-12-02T15:33:38Z`); a naive datetime
    is taken as UTC (how the state database keeps them), a number as a Unix timestamp."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: float) -> str:
    """A measured number with 5 significant digits (a loss of 2.3456789 -> 2.3457)."""
    return f"{value:.5g}"


def cell(value: Any) -> str:
    """One value as a person reads it: no `None`, `True` or `{'...'}` reprs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, float):
        return number(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value.value if isinstance(value, Enum) else value)


# -- tables and lists of ids ---------------------------------------------------------------

QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the ids, one per line (for scripts).")
]
QuietNamesOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the names, one per line (for scripts).")
]


@dataclass(frozen=True)
class Column:
    """A table column. `key` marks an id or a name, never cut nor wrapped; a column with a
    `drop` rank is left out of a terminal too narrow for the whole table (rank 1 first),
    and only there (piped output and --json keep every column)."""

    header: str
    key: bool = False
    justify: Literal["left", "right"] = "left"
    drop: int | None = None


MIN_OTHER_WIDTH = 6  # the narrowest a wrapping column gets before the table outgrows the screen
GAP = 2  # one space of padding on each side of a column gap


def print_table(
    columns: Sequence[Column | str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    target: Console | None = None,
) -> None:
    """Rows under `columns`. Not in a terminal: tab-separated lines after a header line,
    every value whole (`| cut -f1` gives the ids). In a terminal: a table whose `key`
    columns keep each value whole on one line; if the table is wider than the screen, the
    columns with a `drop` rank are left out (a line under it names them), then the other
    columns wrap, and if even that does not fit the table is drawn wider than the screen
    rather than cutting an id."""
    out = target or console
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [[cell(v) for v in row] for row in rows]
    if not out.is_terminal:
        lines = ([f"# {title}"] if title else []) + [
            "\t".join(_tsv(v) for v in values) for values in [[c.header for c in cols], *cells]
        ]
        out.file.write("\n".join(lines) + "\n")
        out.file.flush()
        return
    natural = {
        i: max(cell_len(v) for v in [c.header, *(r[i] for r in cells)]) for i, c in enumerate(cols)
    }
    shown = list(range(len(cols)))
    hidden: list[str] = []
    droppable = sorted((c.drop, i) for i, c in enumerate(cols) if c.drop is not None)
    for _, index in droppable:
        if sum(natural[i] for i in shown) + GAP * (len(shown) - 1) <= out.width:
            break
        shown.remove(index)
        hidden.append(cols[index].header)
    table = Table(
        title=title,
        box=None,
        pad_edge=False,
        header_style="bold",
        title_justify="left",
    )
    for i in shown:
        column = cols[i]
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=column.key,
            min_width=natural[i] if column.key else None,
            overflow="fold",
        )
    for values in cells:
        table.add_row(*(values[i] for i in shown))
    needed = sum(natural[i] if cols[i].key else min(natural[i], MIN_OTHER_WIDTH) for i in shown)
    needed += GAP * (len(shown) - 1)
    if needed > out.width:  # wider than the screen (the terminal wraps it) rather than cut
        table.width = needed
    out.print(table, crop=False)
    if hidden:
        note = f"not shown at {out.width} columns: {', '.join(hidden)} (widen it, or use --json)"
        out.print(Text(note, style="dim"), soft_wrap=True)


def _tsv(value: str) -> str:
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def print_ids(ids: Iterable[str], *, target: Console | None = None) -> None:
    """One id (or name) a line, nothing else: what `-q` prints."""
    out = target or console
    out.file.write("".join(f"{i}\n" for i in ids))
    out.file.flush()


def check_quiet(quiet: bool, json_out: bool) -> None:
    """`-q` and `--json` ask for two different outputs: refuse the pair."""
    if quiet and json_out:
        raise ValidationError(
            [
                Issue(
                    "quiet",
                    "cannot be combined with `json_out`",
                    True,
                    "use -q for the ids alone, --json for the whole records",
                )
            ]
        )


# -- describe views --------------------------------------------------------------------------


def print_fields(data: Mapping[str, Any], *, target: Console | None = None) -> None:
    """A describe view: `key: value` lines, values aligned; a dict as indented lines under
    its key, a list of plain values on one line (other lists an item a line, as compact
    JSON), `None` as `-`, booleans as yes/no, times in ISO-8601 UTC. Lines are never
    wrapped by us (ids stay whole) and hold no markup (a `[...]` in a value is printed)."""
    out = target or console
    for line in _field_lines(data, 0):
        out.print(line, soft_wrap=True, highlight=False)


def _field_lines(data: Mapping[str, Any], indent: int) -> list[Text]:
    width = max((cell_len(str(k)) for k in data), default=0) + 2
    lines: list[Text] = []
    for key, value in data.items():
        head = Text(" " * indent) + Text(f"{key}:", style="bold")
        if isinstance(value, Mapping) and value:
            lines.append(head)
            lines += _field_lines(value, indent + 2)
        elif isinstance(value, list | tuple) and value and not _plain_list(value):
            lines.append(head)
            lines += [Text(" " * (indent + 2) + "- " + cell(item)) for item in value]
        else:
            text = _plain(value)
            pad = " " * (width - cell_len(str(key)))
            first, *rest = text.split("\n") or [""]
            lines.append(head + Text(pad + first))
            lines += [Text(" " * (indent + width + 1) + more) for more in rest]
    return lines


def _multiline(value: Any) -> bool:
    return isinstance(value, str) and any(c in value for c in "\n\r\t")


def _plain_list(values: Sequence[Any]) -> bool:
    return all(isinstance(v, str | int | float | bool) for v in values)


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, Mapping | list | tuple) and not value):
        return "-"
    if isinstance(value, list | tuple):  # a string with a line break quoted, as in JSON
        return ", ".join(json.dumps(v) if _multiline(v) else cell(v) for v in value)
    return cell(value)


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
