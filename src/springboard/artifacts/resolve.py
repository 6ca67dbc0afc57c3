"""Resolve a model spec to a local directory holding its weights and tokenizer.

Order: an explicit `model_dir` the user passed; the spec's bundled or local path; the
Hugging Face cache (by repo id and revision); the Hub, only when `SPRINGBOARD_OFFLINE=0`.
Missing weights give an `ArtifactNotAvailableError` that names the repo and how to get it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from springboard.artifacts.safety import check_safe
from springboard.catalog.spec import ModelSpec, SourceKind
from springboard.config import Settings, get_settings
from springboard.errors import ArtifactNotAvailableError

# What a text model needs; skips pickle duplicates, ONNX/TF/Flax exports and images.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.py"]


def bundled_root() -> Path:
    return Path(str(resources.files("springboard") / "bundled"))


def _checked(path: Path, spec: ModelSpec, settings: Settings, origin: str) -> Path:
    if not (path / "config.json").is_file():
        raise ArtifactNotAvailableError(
            f"{origin} {path} for {spec.id} has no config.json",
            field="model_dir",
            value=str(path),
            fix="point it at a Hugging Face-format model directory (config.json, weights, tokenizer)",
        )
    check_safe(
        path, allow_pickle=settings.allow_pickle, trust_remote_code=settings.trust_remote_code
    )
    return path


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache as the environment says now (huggingface_hub reads it
    only once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def _from_hf(spec: ModelSpec, settings: Settings) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo, revision = spec.source.repo_id or "", spec.source.revision
    cache = hf_cache_dir()
    try:
        return Path(
            snapshot_download(
                repo,
                revision=revision,
                local_files_only=True,
                allow_patterns=HUB_PATTERNS,
                cache_dir=cache,
            )
        )
    except LocalEntryNotFoundError:
        if settings.offline:
            how = spec.source.download_hint or f"run `hf download {repo}` on a machine with access"
            raise ArtifactNotAvailableError(
                f"no weights for {repo} (revision {revision}) in the Hugging Face cache "
                f"{cache}, and downloads are off",
                field="model_id",
                value=spec.id,
                fix=f"{how}; or set SPRINGBOARD_OFFLINE=0 to let Springboard download them; "
                "or pass `model_dir` (a folder with the files)",
            ) from None
    try:
        return Path(
            snapshot_download(repo, revision=revision, allow_patterns=HUB_PATTERNS, cache_dir=cache)
        )
    except Exception as exc:  # network, auth (gated repos), disk: all answer the same way
        raise ArtifactNotAvailableError(
            f"could not download {repo} (revision {revision}): {exc}",
            field="model_id",
            value=spec.id,
            fix=spec.source.download_hint or "check your network and Hub token",
        ) from exc


def resolve_model_dir(
    spec: ModelSpec, *, model_dir: str | Path | None = None, settings: Settings | None = None
) -> Path:
    """The local directory of `spec`'s files, checked for safety."""
    settings = settings or get_settings()
    if model_dir is not None:
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise ArtifactNotAvailableError(
                f"`model_dir` {path} is not a directory",
                field="model_dir",
                value=str(path),
                fix="pass an existing directory",
            )
        return _checked(path, spec, settings, "model directory")
    source = spec.source
    if source.kind is SourceKind.BUNDLED:
        return _checked(bundled_root() / (source.path or ""), spec, settings, "bundled model")
    if source.kind is SourceKind.LOCAL:
        if not source.path:
            raise ArtifactNotAvailableError(
                f"{spec.id} loads from a local directory you supply",
                field="model_dir",
                value=None,
                fix=source.download_hint or "pass `model_dir` (a folder with the files)",
            )
        path = Path(source.path).expanduser()
        if not path.is_dir():
            raise ArtifactNotAvailableError(
                f"the directory {path} of {spec.id} does not exist",
                field="model_dir",
                value=str(path),
                fix=source.download_hint or "pass `model_dir` (a folder with the files)",
            )
        return _checked(path, spec, settings, "model directory")
    return _checked(_from_hf(spec, settings), spec, settings, "cached snapshot")
