"""The README's commands, its quick start (what `make demo` runs) among them, run as
documented: tests/test_documented_commands.py's check of the docs pages, in a file of its
own so that a parallel run (one file per worker) runs it beside them.

The quick start's self-consistency run is also the check of what the README says of the
bundled causal model: greedy chain-of-thought is right often but not always, and the
majority vote of 10 sampled paths does better (100 held-out problems)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.test_documented_commands import PAGE_HANG_GUARD, run_page, runnable_pages


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(PAGE_HANG_GUARD)
@pytest.mark.parametrize("page", runnable_pages([ROOT / "README.md"]))
def test_readme_commands_run_as_documented(page, isolated_env, tmp_path):
    run_page(page, isolated_env, tmp_path)
    report = json.loads((tmp_path / "work" / "out" / "sc" / "report.json").read_text())
    greedy = report["greedy"]["accuracy"]
    vote = report["by_temperature"][0]["final_accuracy"]
    assert report["questions"] == 100 and report["paths"] == 10
    assert 0.2 <= greedy <= 0.8, greedy
    assert vote > greedy, (greedy, vote)
