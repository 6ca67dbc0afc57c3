"""Test isolation: every test gets its own SPRINGBOARD_HOME and an empty, offline
Hugging Face cache, so nothing reads the developer's state or touches the network."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from springboard.config import reset_settings

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("sbhome")
    hf = tmp_path_factory.mktemp("hf")
    monkeypatch.setenv("SPRINGBOARD_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(hf))
    monkeypatch.setenv("HF_HUB_CACHE", str(hf / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("SPRINGBOARD_CATALOG_PATH", raising=False)
    monkeypatch.delenv("SPRINGBOARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("SPRINGBOARD_OFFLINE", raising=False)
    reset_settings()
    yield home
    reset_settings()


@pytest.fixture(scope="session")
def t5_generator():
    from springboard.inference import Generator

    return Generator.from_catalog("springboard-tiny-t5")


@pytest.fixture(scope="session")
def llama_generator():
    from springboard.inference import Generator

    return Generator.from_catalog("springboard-tiny-llama")


def cli_env(home: Path) -> dict[str, str]:
    """The environment a CLI subprocess runs with in tests."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SPRINGBOARD_HOME"] = str(home)
    return env
