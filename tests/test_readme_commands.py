"""The README's commands, its quick start (what `make demo` runs) among them, run as
documented: tests/test_documented_commands.py's check of the docs pages, in a file of its
own so that a parallel run (one file per worker) runs it beside them."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.test_documented_commands import PAGE_HANG_GUARD, run_page, runnable_pages


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(PAGE_HANG_GUARD)
@pytest.mark.parametrize("page", runnable_pages([ROOT / "README.md"]))
def test_readme_commands_run_as_documented(page, isolated_env, tmp_path):
    run_page(page, isolated_env, tmp_path)
