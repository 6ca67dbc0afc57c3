"""Resolving a spec to a local weights directory, offline, and refusing unsafe artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.artifacts import check_safe, resolve_model_dir
from springboard.catalog import Catalog
from springboard.config import get_settings, reset_settings
from springboard.errors import ArtifactNotAvailableError, UnsafeArtifactError


@pytest.fixture
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, offline Hugging Face cache. Only the environment changes: the resolver
    must read it at call time even though huggingface_hub was imported earlier."""
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(cache.parent))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reset_settings()
    return cache


def model_dir(root: Path, *files: str, config: dict | None = None) -> Path:
    """A Hugging Face-format directory with config.json and empty placeholder files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(config or {"model_type": "t5"}))
    for name in files:
        (root / name).write_bytes(b"")
    return root


def spec(model_id: str = "springboard-tiny-t5"):
    return Catalog.load().get(model_id)


def use_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    reset_settings()


# --- bundled and --model-dir ----------------------------------------------------------------


@pytest.mark.parametrize("model_id", ["springboard-tiny-t5", "springboard-tiny-llama"])
def test_bundled_spec_resolves_to_dir_with_config(model_id: str) -> None:
    path = resolve_model_dir(spec(model_id))
    assert path.is_dir() and (path / "config.json").is_file()
    assert (path / "model.safetensors").is_file()
    assert path.name == model_id


def test_model_dir_overrides_the_spec(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "mine", "model.safetensors")
    assert resolve_model_dir(spec(), model_dir=directory) == directory


def test_model_dir_that_does_not_exist_names_model_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ArtifactNotAvailableError) as info:
        resolve_model_dir(spec(), model_dir=missing)
    assert info.value.field == "model_dir"
    assert "`model_dir`" in str(info.value) and str(missing) in str(info.value)


def test_model_dir_without_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactNotAvailableError, match=r"config\.json") as info:
        resolve_model_dir(spec(), model_dir=tmp_path / "empty")
    assert info.value.field == "model_dir"


# --- Hugging Face cache, offline ------------------------------------------------------------


def test_hf_spec_with_empty_cache_offline_names_repo_and_download(empty_hf_cache: Path) -> None:
    with pytest.raises(ArtifactNotAvailableError) as info:
        resolve_model_dir(spec("huggingface-text2text-flan-t5-small"))
    message = str(info.value)
    assert "google/flan-t5-small" in message
    assert "hf download google/flan-t5-small" in message
    assert "`model_dir`" in message and "SPRINGBOARD_OFFLINE=0" in message
    assert str(empty_hf_cache) in message


def test_gated_hf_spec_uses_its_download_hint(empty_hf_cache: Path) -> None:
    with pytest.raises(ArtifactNotAvailableError) as info:
        resolve_model_dir(spec("meta-textgeneration-llama-2-7b"))
    message = str(info.value)
    assert "meta-llama/Llama-2-7b-hf" in message and "license" in message.lower()


def test_hf_spec_offline_still_loads_from_model_dir(empty_hf_cache: Path, tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "flan", "model.safetensors")
    hf_spec = spec("huggingface-text2text-flan-t5-small")
    assert resolve_model_dir(hf_spec, model_dir=directory) == directory


# --- local sources ----------------------------------------------------------------------------


def test_local_spec_without_path_asks_for_model_dir() -> None:
    with pytest.raises(ArtifactNotAvailableError) as info:
        resolve_model_dir(spec("pytorch-textgeneration1-alexa20b"))
    assert info.value.field == "model_dir"
    assert "--model-dir" in str(info.value)


def test_local_spec_without_path_loads_given_model_dir(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "alexa", "model.safetensors")
    assert (
        resolve_model_dir(spec("pytorch-textgeneration1-alexa20b"), model_dir=directory)
        == directory
    )


# --- safety -----------------------------------------------------------------------------------


def test_pickle_only_dir_is_unsafe(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "pickled", "pytorch_model.bin")
    with pytest.raises(UnsafeArtifactError) as info:
        resolve_model_dir(spec(), model_dir=directory)
    assert info.value.field == "allow_pickle"
    assert "pytorch_model.bin" in str(info.value) and "SPRINGBOARD_ALLOW_PICKLE" in str(info.value)


def test_pickle_only_dir_allowed_with_allow_pickle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = model_dir(tmp_path / "pickled", "pytorch_model.bin")
    use_setting(monkeypatch, "SPRINGBOARD_ALLOW_PICKLE", "1")
    assert get_settings().allow_pickle
    assert resolve_model_dir(spec(), model_dir=directory) == directory


def test_pickle_beside_safetensors_is_fine(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "both", "pytorch_model.bin", "model.safetensors")
    assert resolve_model_dir(spec(), model_dir=directory) == directory


def test_training_args_bin_is_not_counted_as_weights(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "trained", "model.safetensors", "training_args.bin")
    check_safe(directory, allow_pickle=False, trust_remote_code=False)


def test_auto_map_needs_trust_remote_code(tmp_path: Path) -> None:
    config = {"model_type": "custom", "auto_map": {"AutoModel": "modeling_custom.Model"}}
    directory = model_dir(tmp_path / "remote", "model.safetensors", config=config)
    with pytest.raises(UnsafeArtifactError) as info:
        resolve_model_dir(spec(), model_dir=directory)
    assert info.value.field == "trust_remote_code"
    assert "auto_map" in str(info.value)


def test_auto_map_allowed_with_trust_remote_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"model_type": "custom", "auto_map": {"AutoModel": "modeling_custom.Model"}}
    directory = model_dir(tmp_path / "remote", "model.safetensors", config=config)
    use_setting(monkeypatch, "SPRINGBOARD_TRUST_REMOTE_CODE", "true")
    assert resolve_model_dir(spec(), model_dir=directory) == directory
