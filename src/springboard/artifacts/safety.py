"""Refuse weights that would run code when loaded, unless the user opted in.

Safetensors files are data; pickle files (`.bin`, `.pt`, `.pth`, `.ckpt`) can execute
arbitrary code on load, and `auto_map` in a config means the repo ships its own Python.
"""

from __future__ import annotations

import json
from pathlib import Path

from springboard.errors import UnsafeArtifactError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def check_safe(model_dir: Path, *, allow_pickle: bool, trust_remote_code: bool) -> None:
    """Raise `UnsafeArtifactError` when `model_dir` needs pickle or remote code."""
    files = [p for p in model_dir.rglob("*") if p.is_file()]
    has_safetensors = any(p.suffix == ".safetensors" for p in files)
    pickles = [
        p.name
        for p in files
        if p.suffix in PICKLE_SUFFIXES and not p.name.startswith("training_args")
    ]
    if not has_safetensors and pickles and not allow_pickle:
        raise UnsafeArtifactError(
            f"{model_dir} holds only pickle weights ({', '.join(sorted(pickles)[:3])}), which can "
            "run arbitrary code when loaded",
            field="allow_pickle",
            value=False,
            fix="convert them to safetensors, or set SPRINGBOARD_ALLOW_PICKLE=1 if you trust them",
        )
    config = model_dir / "config.json"
    if config.exists() and not trust_remote_code:
        try:
            auto_map = json.loads(config.read_text()).get("auto_map")
        except json.JSONDecodeError:
            auto_map = None
        if auto_map:
            raise UnsafeArtifactError(
                f"{model_dir} needs its own Python code to load (config.json has auto_map)",
                field="trust_remote_code",
                value=False,
                fix="read that code, then set SPRINGBOARD_TRUST_REMOTE_CODE=1 to allow it",
            )
