"""Docs that cannot drift: the command reference matches --help and the Python examples in
docs/ run. The shell commands, the README quick start (what `make demo` runs) among them,
are run by tests/test_documented_commands.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_generated_from_help(tmp_path):
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            str(VENV_BIN / "typer"),
            "springboard.cli.main",
            "utils",
            "docs",
            "--name",
            "springboard",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), (
        "docs/cli.md is stale: run `make docs`"
    )


def test_hyperparameter_tables_are_generated_from_the_catalog():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "hyperparameter_table", ROOT / "scripts" / "hyperparameter_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "docs" / "training.md").read_text()
    assert text.count(module.START) == 1 and text.count(module.END) == 1
    region = text.split(module.START, 1)[1].split(module.END, 1)[0]
    assert region == "\n" + module.render(module.MODEL_IDS), (
        "docs/training.md is stale: run `make docs`"
    )


# calls that start an endpoint server, a job worker or a server process: such an example is an integration
# test (tests/conftest.py refuses the start elsewhere, so a new kind of call is caught)
STARTS_PROCESSES = re.compile(
    r"\bdeploy\(|\.submit\(|invocation\.create\(|\.fit\(|\.transform\(|subprocess\.Popen\("
)


def _python_blocks() -> list:
    blocks = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for i, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S)):
            marks = [pytest.mark.integration] if STARTS_PROCESSES.search(code) else []
            blocks.append(
                pytest.param(f"{page.name}#{i}", code, id=f"{page.name}#{i}", marks=marks)
            )
    return blocks


@pytest.mark.parametrize("name,code", _python_blocks())
def test_docs_python_examples_run(name, code, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples use paths relative to the repository, as the README does
    exec(compile(code, name, "exec"), {})
