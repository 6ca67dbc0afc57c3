"""The shell commands in the docs, and what each is documented to give.

A fenced block that shows `springboard` commands is marked, on an HTML comment line before
its fence (other comments and blank lines may come between):

- `<!-- docs-test: run -->` runs the block's commands, in order, with the page's other
  runnable blocks (one fresh SPRINGBOARD_HOME and working directory per page, holding a
  link to `examples/`); `<!-- docs-test: run tolerance=0.05 -->` lets every decimal figure
  of the block's expected output differ by that much;
- `<!-- docs-test: skip REASON -->` says why it is not run (a synopsis, needs a GPU or
  downloaded weights, needs AWS, ...); the reason is required.

In a `console` block, commands start with `$ `, and the lines up to the next command are
its expected output; elsewhere every line that is not a comment is a command (`\\`
continuations and `<<'EOF'` here-documents are joined). A command is expected to exit 0,
or N when it ends with the comment `# exit N`. An expected output line matches an output
line (stdout and stderr together) when its words occur there in order, side by side, after
table borders (`│ ┃ |`) are dropped: `...` stands for any words (a line of only `...` for
any lines), `...` inside a word for any text (`tr-...`; `...)` is any words, then one
ending with `)`), and decimal figures compare
within the block's tolerance (by default: equal when rounded to the digits shown).
Expected lines match output lines in order.

This module only parses and compares; tests/test_documented_commands.py runs the commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SHELL_LANGUAGES = {"", "text", "bash", "sh", "shell", "console"}
MARK = re.compile(r"^<!--\s*docs-test:\s*(run|skip)\b(.*?)-->\s*$")
FENCE = re.compile(r"^```([\w-]*)\s*$")
# `springboard` as a command: at the start, after a prompt, a pipe, `&&`, `;` or `$(`
COMMAND = re.compile(r"(?:^|\$ |[|;&]\s*|\$\(\s*)springboard\s")
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
BORDERS = re.compile(r"[│┃|┏┓┗┛┡┩└┘├┤┼╇╈╋━─═]+")
NUMBER = re.compile(r"^([-+]?\d+\.\d+)(%?)$")


@dataclass
class Command:
    text: str
    exit_code: int = 0
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str
    body: list[str]
    mark: str | None = None  # "run" or "skip"
    options: str = ""  # what follows the mark: the skip reason, or run's tolerance=X

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def shows_commands(self) -> bool:
        return self.language in SHELL_LANGUAGES and any(COMMAND.search(x) for x in self.body)

    @property
    def tolerance(self) -> float | None:
        match = re.search(r"tolerance=([\d.]+)", self.options)
        return float(match.group(1)) if match else None

    def commands(self) -> list[Command]:
        return _console(self.body) if self.language == "console" else _script(self.body)


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with the docs-test mark before it, if any."""
    found: list[Block] = []
    lines = path.read_text().splitlines()
    mark: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            end = i + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            block = Block(path.name, i + 1, fence.group(1), lines[i + 1 : end])
            if mark:
                block.mark, block.options = mark[0], mark[1].strip()
            found.append(block)
            mark, i = None, end + 1
            continue
        marked = MARK.match(line.strip())
        if marked:
            mark = (marked.group(1), marked.group(2))
        elif line.strip() and not line.strip().startswith("<!--"):
            mark = None  # a mark applies to the next block only
        i += 1
    return found


def _split_exit(text: str) -> tuple[str, int]:
    match = EXIT.search(text)
    return (text[: match.start()], int(match.group(1))) if match else (text, 0)


def _join(lines: list[str], start: int) -> tuple[str, int]:
    """The command starting at lines[start], with continuations and a here-document."""
    text, i = lines[start], start + 1
    while text.rstrip().endswith("\\") and i < len(lines):
        text = text.rstrip()[:-1].rstrip() + " " + lines[i].strip()
        i += 1
    heredoc = HEREDOC.search(text)
    if heredoc and "<<<" not in text:
        body = []
        while i < len(lines) and lines[i].strip() != heredoc.group(1):
            body.append(lines[i])
            i += 1
        text = "\n".join([text, *body, heredoc.group(1)])
        i += 1
    return text, i


def _script(lines: list[str]) -> list[Command]:
    commands, i = [], 0
    while i < len(lines):
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        text, i = _join(lines, i)
        text, code = _split_exit(text)
        commands.append(Command(text, code))
    return commands


def _console(lines: list[str]) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("$ "):
            stripped = [lines[i][2:], *(x.removeprefix("> ") for x in lines[i + 1 :])]
            text, used = _join(stripped, 0)
            text, code = _split_exit(text)
            commands.append(Command(text, code))
            i += used
        else:
            if commands and lines[i].strip():
                commands[-1].expected.append(lines[i])
            i += 1
    return commands


def _words(line: str) -> list[str]:
    words = []
    for word in BORDERS.sub(" ", line).split():
        if word.startswith("...") and word != "...":
            words.append("...")  # "...)": any words, then one that ends with ")"
        words.append(word)
    return words


def _word_matches(expected: str, actual: str, tolerance: float | None) -> bool:
    if expected == "...":
        return True
    number = NUMBER.match(expected)
    if number:
        got = NUMBER.match(actual.rstrip(".,;:)"))
        if not got or got.group(2) != number.group(2):
            return False
        want, value = float(number.group(1)), float(got.group(1))
        if tolerance is None:
            digits = len(number.group(1).split(".")[1])
            return round(value, digits) == round(want, digits)
        return abs(value - want) <= tolerance + 1e-9
    if "..." in expected:
        pattern = ".*".join(re.escape(part) for part in expected.split("..."))
        return re.fullmatch(pattern, actual) is not None
    return expected == actual


def _line_matches(expected: list[str], actual: list[str], tolerance: float | None) -> bool:
    """`expected` occurs in `actual` word by word, side by side; `...` takes any words."""

    def at(e: int, a: int) -> bool:
        if e == len(expected):
            return True
        if expected[e] == "...":
            return any(at(e + 1, k) for k in range(a, len(actual) + 1))
        return (
            a < len(actual)
            and _word_matches(expected[e], actual[a], tolerance)
            and at(e + 1, a + 1)
        )

    return any(at(0, start) for start in range(len(actual) + 1))


def unmatched(expected: list[str], output: str, tolerance: float | None = None) -> str | None:
    """The first expected line with no matching output line after the previous match, or
    None when all match."""
    lines = [_words(line) for line in output.splitlines()]
    position = 0
    for line in expected:
        words = _words(line)
        if words == ["..."] or not words:
            continue
        for k in range(position, len(lines)):
            if _line_matches(words, lines[k], tolerance):
                position = k + 1
                break
        else:
            return line
    return None
