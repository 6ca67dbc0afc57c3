"""`springboard --version` and `springboard doctor`, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env

pytestmark = pytest.mark.integration


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["springboard", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


def doctor_json(home: Path) -> dict[str, Any]:
    result = run(home, "doctor", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"springboard {metadata.version('springboard-llm')}\n"


def test_completion_is_offered(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout


def test_doctor_reports_state_and_versions_without_creating_state(tmp_path: Path) -> None:
    home = tmp_path / "home"
    report = doctor_json(home)
    versions = {p["name"]: p["version"] for p in report["packages"]}
    assert versions["springboard-llm"] == metadata.version("springboard-llm")
    assert versions["torch"] == metadata.version("torch")
    assert {"transformers", "peft", "s3fs", "boto3"} <= set(versions)
    assert report["home"] == str(home.resolve())
    assert report["database_url"] == f"sqlite:///{home.resolve() / 'state.db'}"
    assert report["database_exists"] is False
    assert report["data_roots"] == [str(home.resolve() / "data")]
    assert report["data_roots_source"] == "default"
    assert report["threads"]["threads"] >= 1
    assert (report["endpoints_running"], report["jobs_active"]) == (0, 0)
    assert not (home / "state.db").exists()  # a report reads, never writes


def test_doctor_marks_bundled_available_and_missing_with_the_download(tmp_path: Path) -> None:
    models = {m["id"]: m for m in doctor_json(tmp_path)["models"]}
    for bundled in ("springboard-tiny-t5", "springboard-tiny-llama"):
        assert models[bundled]["available"] is True
        assert Path(models[bundled]["path"], "config.json").is_file()
    flan = models["huggingface-text2text-flan-t5-small"]  # the tests' HF cache is empty
    assert flan["available"] is False
    assert "hf download google/flan-t5-small" in flan["fix"]
    text = run(tmp_path, "doctor")
    assert text.returncode == 0, text.stderr
    assert "missing    huggingface-text2text-flan-t5-small" in text.stdout
    assert "hf download google/flan-t5-small" in text.stdout


def test_doctor_finds_a_model_in_the_hugging_face_cache(tmp_path: Path) -> None:
    snapshot = Path(os.environ["HF_HUB_CACHE"]) / "models--google--flan-t5-small"
    (snapshot / "refs").mkdir(parents=True)
    (snapshot / "refs" / "main").write_text("abc123")
    (snapshot / "snapshots" / "abc123").mkdir(parents=True)
    (snapshot / "snapshots" / "abc123" / "config.json").write_text("{}")
    models = {m["id"]: m for m in doctor_json(tmp_path)["models"]}
    flan = models["huggingface-text2text-flan-t5-small"]
    assert flan["available"] is True
    assert flan["path"] == str(snapshot / "snapshots" / "abc123")
