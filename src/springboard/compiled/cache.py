"""The cache of compiled models: convert once, load many times.

A variant lives in `SPRINGBOARD_HOME/compiled/<model>/<version>/<backend>-<quantization>-
<engine version>/` with a `manifest.json` (source weights' sha256, settings, seconds the
conversion took). It is converted into a temporary folder beside it and renamed into
place, under a lock, so a reader never sees half a variant and two processes compiling the
same one convert it once. A cached variant is used while its source weights are unchanged
(checked by size and mtime, then by sha256 when those moved); a new engine version is a
new folder. This module does not load models for inference.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from springboard.catalog import ModelSpec
from springboard.compiled.quantize import BACKEND, check_quantize, engine_version
from springboard.config import get_settings
from springboard.errors import ModelLoadError
from springboard.housekeeping import layout

log = logging.getLogger("springboard.compiled")

MANIFEST = "manifest.json"
# What identifies the source: its weights and the config that says how to read them.
SOURCE_SUFFIXES = (".safetensors", ".bin", ".pt")
SOURCE_NAMES = ("config.json",)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CompiledVariant:
    """One compiled variant of one model version, as cached."""

    path: Path
    model_id: str
    version: str
    backend: str
    quantization: str
    engine_version: str
    manifest: dict[str, Any] = field(default_factory=dict)
    cache_hit: bool = True

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    @property
    def seconds(self) -> float | None:
        value = self.manifest.get("seconds")
        return float(value) if value is not None else None

    def summary(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "quantization": self.quantization,
            "engine_version": self.engine_version,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "compile_seconds": self.seconds,
            "compiled_at": self.manifest.get("compiled_at"),
            "source_sha256": self.manifest.get("source_sha256"),
        }


def compiled_root() -> Path:
    return get_settings().home / layout.COMPILED


def variant_name(quantization: str, engine: str | None = None) -> str:
    return f"{BACKEND}-{quantization}-{engine or engine_version()}"


def variant_dir(model_id: str, version: str, quantization: str) -> Path:
    return compiled_root() / model_id / version / variant_name(quantization)


def variants(model_id: str, version: str | None = None) -> list[CompiledVariant]:
    """The cached variants of `model_id` (of one `version`, or all), sorted."""
    root = compiled_root() / model_id
    found = []
    for manifest in sorted(root.glob(f"{version or '*'}/*/{MANIFEST}")):
        data = _read_manifest(manifest.parent)
        if data is not None:
            found.append(_variant(manifest.parent, data, hit=True))
    return found


def compile_model(
    spec: ModelSpec,
    model_dir: str | Path,
    quantize: str | None = None,
    *,
    on_progress: Progress | None = None,
) -> CompiledVariant:
    """The compiled variant of `spec` (weights in `model_dir`) at `quantize`: from the
    cache when its source is unchanged, else converted now. Raises `ValidationError` for
    a quantization this machine cannot run, `ModelLoadError` when conversion fails."""
    quantization = check_quantize(quantize)
    source = Path(model_dir)
    target = variant_dir(spec.id, spec.version, quantization)
    say = on_progress or (lambda message: log.info("%s", message))
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{target.name}.lock"):
        cached = _read_manifest(target)
        stat = _source_stat(source)
        if cached is not None and cached.get("source_stat") == stat:
            return _variant(target, cached, hit=True)
        digest = _source_sha256(source)
        if cached is not None and cached.get("source_sha256") == digest:
            return _variant(target, cached, hit=True)
        why = "the source weights changed" if cached is not None else "not compiled yet"
        say(f"compiling {spec.id} {spec.version} for {BACKEND} ({quantization}): {why}")
        started = time.monotonic()
        manifest = {
            "model_id": spec.id,
            "version": spec.version,
            "task": spec.task.value,
            "backend": BACKEND,
            "quantization": quantization,
            "engine_version": engine_version(),
            "source": str(source),
            "source_sha256": digest,
            "source_stat": stat,
        }
        _convert_into(target, source, quantization, manifest, started)
        built = _read_manifest(target) or manifest
        say(f"compiled {spec.id} in {built['seconds']:.1f} s into {target}")
        return _variant(target, built, hit=False)


def _convert_into(
    target: Path, source: Path, quantization: str, manifest: dict[str, Any], started: float
) -> None:
    """Convert `source` into a temporary folder, then swap it into `target` atomically."""
    import transformers
    from ctranslate2.converters import TransformersConverter

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    temp = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    try:
        converter = TransformersConverter(
            str(source),
            load_as_float16=False,
            trust_remote_code=get_settings().trust_remote_code,
        )
        converter.convert(
            str(temp), quantization=None if quantization == "float32" else quantization
        )
    except Exception as exc:  # any converter failure is reported the same way, cause kept
        shutil.rmtree(temp, ignore_errors=True)
        raise ModelLoadError(
            f"could not compile the model in {source} for {BACKEND} ({quantization}): {exc}",
            field="model_dir",
            value=str(source),
        ) from exc
    manifest["seconds"] = round(time.monotonic() - started, 3)
    manifest["compiled_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if target.exists():  # a stale variant: move it aside first (rename is atomic), then drop
        stale = target.parent / f".stale-{target.name}-{os.getpid()}"
        target.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    temp.rename(target)


def _variant(path: Path, manifest: dict[str, Any], *, hit: bool) -> CompiledVariant:
    return CompiledVariant(
        path=path,
        model_id=str(manifest.get("model_id", path.parent.parent.name)),
        version=str(manifest.get("version", path.parent.name)),
        backend=str(manifest.get("backend", BACKEND)),
        quantization=str(manifest.get("quantization", "")),
        engine_version=str(manifest.get("engine_version", "")),
        manifest=manifest,
        cache_hit=hit,
    )


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _source_files(source: Path) -> list[Path]:
    return sorted(
        p
        for p in source.iterdir()
        if p.is_file() and (p.suffix in SOURCE_SUFFIXES or p.name in SOURCE_NAMES)
    )


def _source_stat(source: Path) -> dict[str, list[int]]:
    """Size and mtime of each source file: unchanged means the sha256 need not be redone."""
    try:
        files = _source_files(source)
    except OSError:
        return {}
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files}


def _source_sha256(source: Path) -> str:
    """One sha256 over the source files (names and contents, in name order)."""
    digest = hashlib.sha256()
    try:
        files = _source_files(source)
    except OSError as exc:
        raise ModelLoadError(
            f"cannot read the model folder {source}: {exc.strerror}",
            field="model_dir",
            value=str(source),
        ) from exc
    if not files:
        raise ModelLoadError(
            f"no weights in {source} to compile", field="model_dir", value=str(source)
        )
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
