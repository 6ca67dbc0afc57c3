"""Every shell command the docs show is run, or says why not, and gives what the docs say.

docs/*.md and README.md mark each block of `springboard` commands `<!-- docs-test: run -->`
or `<!-- docs-test: skip REASON -->` (the format: tests/doc_commands.py). The fast test
fails on a block that is neither, so a new page cannot leave its commands untested; the
integration test runs each page's marked blocks in order, in a fresh SPRINGBOARD_HOME and
working directory, and checks every command's exit code and documented output (figures
within the block's tolerance). The README quick start (what `make demo` runs) is one of
these blocks. Figures quoted in prose from the bundled model's measuring run are checked
against the record that run wrote (its `training.json`).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli_env
from tests.doc_commands import Block, blocks, unmatched

PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
GENERATED = {"cli.md"}  # usage lines generated from --help (test_docs.py checks them)
# hang guards, not bounds: a page takes seconds to a couple of minutes on a quiet machine
COMMAND_HANG_GUARD = 900
PAGE_HANG_GUARD = 2400


def _blocks() -> list[Block]:
    return [b for page in PAGES if page.name not in GENERATED for b in blocks(page)]


def test_every_documented_command_is_run_or_says_why_not():
    unmarked = [b.where for b in _blocks() if b.shows_commands and b.mark is None]
    assert not unmarked, (
        "blocks of springboard commands without a docs-test mark (see tests/doc_commands.py): "
        + ", ".join(unmarked)
    )
    no_reason = [b.where for b in _blocks() if b.mark == "skip" and not b.options]
    assert not no_reason, "a skipped block needs a reason: " + ", ".join(no_reason)
    assert sum(b.mark == "run" for b in _blocks()) >= 5


def test_the_checker_compares_words_figures_and_wildcards():
    output = "┃ metric ┃ value ┃\n│ rougeL │ 0.9312 │\njob tr-71a2b3 Completed in 9.8 s\n"
    assert unmatched(["rougeL 0.93"], output) is None
    assert unmatched(["rougeL 0.95"], output) == "rougeL 0.95"
    assert unmatched(["rougeL 0.95"], output, tolerance=0.03) is None
    assert unmatched(["rougeL 0.90"], output, tolerance=0.03) == "rougeL 0.90"
    assert unmatched(["job tr-... Completed ..."], output) is None
    assert unmatched(["...", "rougeL ...", "job ... Completed"], output) is None
    assert unmatched(["job ... Completed", "rougeL"], output) == "rougeL"  # in order
    assert unmatched(["rougeL 0.93%"], output) == "rougeL 0.93%"


def test_blocks_parse_commands_exit_codes_and_expected_output(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: run tolerance=0.1 -->\n\n```console\n"
        "$ springboard a \\\n    --b c   # exit 2\nerror: x\n$ springboard d\n```\n"
        "text\n\n```bash\nspringboard e\n# a comment\npython - <<'EOF'\nprint(1)\nEOF\n```\n"
    )
    first, second = blocks(page)
    assert (first.mark, first.tolerance, second.mark) == ("run", 0.1, None)
    (a, d), (e, heredoc) = first.commands(), second.commands()
    assert (a.text, a.exit_code, a.expected) == ("springboard a --b c", 2, ["error: x"])
    assert (d.text, d.exit_code, d.expected) == ("springboard d", 0, [])
    assert e.text == "springboard e" and heredoc.text == "python - <<'EOF'\nprint(1)\nEOF"


def runnable_pages(pages: list[Path]) -> list:
    params = []
    for page in pages:
        if page.name in GENERATED:
            continue
        if any(b.mark == "run" for b in blocks(page)):
            params.append(pytest.param(page, id=page.name))
    return params


def _delete_endpoints(env: dict[str, str], cwd: Path) -> None:
    listed = subprocess.run(
        ["springboard", "endpoints", "list", "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        names = [e["name"] for e in json.loads(listed.stdout or "[]")]
    except json.JSONDecodeError:
        names = []
    for name in names:
        subprocess.run(
            ["springboard", "endpoints", "delete", name],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=120,
        )


def run_page(page: Path, home: Path, tmp_path: Path) -> None:
    """Run a page's runnable blocks in order, in `home` and a fresh working directory."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    env = cli_env(home)
    env["HF_HUB_OFFLINE"] = "1"
    timings = []
    try:
        for block in blocks(page):
            if block.mark != "run":
                continue
            for command in block.commands():
                start = time.monotonic()
                result = subprocess.run(
                    ["bash", "-o", "pipefail", "-c", command.text],
                    cwd=work,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=COMMAND_HANG_GUARD,
                )
                timings.append((time.monotonic() - start, command.text[:60]))
                where = f"{block.where}: `{command.text}`"
                assert result.returncode == command.exit_code, (
                    f"{where} exited {result.returncode}, the docs say {command.exit_code}:\n"
                    + result.stdout[-3000:]
                )
                missing = unmatched(command.expected, result.stdout, block.tolerance)
                assert missing is None, (
                    f"{where}: no output line matches the documented {missing!r} "
                    f"(tolerance {block.tolerance}); it printed:\n{result.stdout[-3000:]}"
                )
    finally:
        _delete_endpoints(env, work)
        for seconds, text in sorted(timings, reverse=True)[:5]:
            print(f"{seconds:6.1f} s  {text}")


# the README quick start runs in tests/test_readme_commands.py: a file of its own, so
# a parallel run (one file per worker) runs it beside these pages
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(PAGE_HANG_GUARD)
@pytest.mark.parametrize("page", runnable_pages(PAGES[:-1]))
def test_documented_commands_run_as_documented(page, isolated_env, tmp_path):
    run_page(page, isolated_env, tmp_path)


# --- figures in prose, from the bundled model's measuring run -----------------------------

LLAMA_TRAINING = (
    ROOT / "src" / "springboard" / "bundled" / "springboard-tiny-llama" / "training.json"
)


def test_prose_figures_of_the_bundled_reasoning_model_are_the_measured_ones():
    """README.md and docs/self-consistency.md quote the measuring run of
    `scripts/measure_bundled_models.py` (300 held-out problems), recorded in training.json."""
    measured = json.loads(LLAMA_TRAINING.read_text())["measured"]
    greedy = 100 * measured["greedy"]
    vote = {n: 100 * mean for n, (mean, _) in measured["curve"].items()}
    sc = (ROOT / "docs" / "self-consistency.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert f"greedy {greedy:.1f}%" in sc
    for n in ("1", "5", "10", "20"):
        assert f"SC@{n} {vote[n]:.1f}%" in sc, n
    assert re.search(rf"about {round(greedy)}% of held-out problems", readme)
    assert re.search(rf"right on\s+about {round(vote['10'])}%", readme)
