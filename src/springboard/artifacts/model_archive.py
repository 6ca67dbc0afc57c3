"""Model archives as the managed hub lays them out: `model.tar.gz`, a Hugging Face model
folder at its root.

`write` packs a registered (fine-tuned) model's folder, plus `springboard-model.json` (its
spec: task, base model, lineage), and puts it at a location — a local path or any fsspec
URL such as `s3://bucket/prefix/job/output/model.tar.gz`; a location ending in `/` gets
the files unpacked instead (the managed hub's `disable_output_compression`).

`register` does the reverse for a deploy: it fetches an archive (local or remote) — or
a model folder, unpacked — and extracts it safely (no absolute paths, no `..`, no links out, no devices), refuses pickle
weights unless they are allowed (`SPRINGBOARD_ALLOW_PICKLE`) and remote code unless trusted,
and registers the folder as a model, as a training job registers its result. The same
archive registered again under the same id is the same model (it is not extracted twice);
another archive under a taken id is refused. What a model *is* stays the catalog's; this
module only moves its bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from springboard import permissions
from springboard.artifacts import storage
from springboard.config import get_settings
from springboard.errors import ConflictError, Issue, NotFoundError, ValidationError

MANIFEST = "springboard-model.json"
ID_PATTERN = r"[a-z0-9][a-z0-9.\-]*"


def write(model_id: str, uri: str, field: str = "output_path") -> str:
    """Put registered model `model_id` at `uri` as a `.tar.gz` (or, for a location ending
    in `/`, as its files); returns `uri`."""
    from springboard.store.registered_models import versions_of

    specs = versions_of(model_id)
    if not specs:
        raise NotFoundError(f"no registered model '{model_id}'", field="model_id", value=model_id)
    spec = specs[-1]
    folder = Path(spec["source"]["path"])
    if uri.endswith("/"):
        storage.upload_tree(folder, uri, field)
        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / MANIFEST
            manifest.write_text(json.dumps(spec, indent=2) + "\n")
            storage.upload(manifest, storage.join(uri, MANIFEST), field)
        return uri
    with tempfile.TemporaryDirectory() as tmp:
        packed = Path(tmp) / "model.tar.gz"
        with tarfile.open(packed, "w:gz") as tar:
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                tar.add(file, arcname=file.relative_to(folder).as_posix())
            manifest = Path(tmp) / MANIFEST
            manifest.write_text(json.dumps(spec, indent=2) + "\n")
            tar.add(manifest, arcname=MANIFEST)
        storage.upload(packed, uri, field)
    return uri


def _fetch(uri: str, into: Path, field: str) -> Path:
    if not storage.is_remote(uri):
        path = storage.local_path(uri)
        if not path.is_file():
            raise ValidationError(
                [
                    Issue(
                        field,
                        f"{path} is not a file",
                        uri,
                        "give the path of a model.tar.gz (a training job writes "
                        "<output_path>/<job name>/output/model.tar.gz)",
                    )
                ]
            )
        return path
    return storage.download(uri, into / "model.tar.gz", field)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _is_folder(uri: str, field: str) -> bool:
    """Whether `uri` names a model folder (unpacked, as `disable_output_compression`
    writes it) rather than an archive file."""
    if not storage.is_remote(uri):
        return storage.local_path(uri).is_dir()
    if uri.endswith("/"):
        return True
    fs, path = storage.filesystem(uri, field)
    return bool(fs.isdir(path))


def _copy_folder(uri: str, target: Path, field: str) -> None:
    """Copy the files under the folder `uri` into `target`, keeping their relative paths
    (none may land outside `target`)."""
    if not storage.is_remote(uri):
        shutil.copytree(storage.local_path(uri), target, dirs_exist_ok=True)
        return
    fs, path = storage.filesystem(uri, field)
    root = path.rstrip("/")
    for found in sorted(fs.find(root)):
        relative = found[len(root) :].lstrip("/")
        destination = (target / relative).resolve()
        if not destination.is_relative_to(target.resolve()):
            raise ValidationError(
                [Issue(field, f"{found} would be written outside the model folder", uri)]
            )
        storage.download(fs.unstrip_protocol(found), destination, field)


def _tree_digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha.update(file.relative_to(folder).as_posix().encode() + b"\0")
        sha.update(_digest(file).encode())
    return sha.hexdigest()


def _extract(archive: Path, target: Path, uri: str, field: str) -> Path:
    """Extract `archive` into `target`; return the model folder (the root, or the one
    folder holding config.json)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(target, filter="data")  # refuses absolute, .., links out, devices
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(
            [Issue(field, f"{uri} is not a readable model archive: {exc}", uri, "give a .tar.gz")]
        ) from exc
    return _model_folder(target, uri, field)


def _model_folder(target: Path, uri: str, field: str) -> Path:
    """The model folder in `target`: itself, or its one sub-folder holding config.json."""
    if (target / "config.json").exists():
        return target
    inner = [p for p in target.iterdir() if p.is_dir() and (p / "config.json").exists()]
    if len(inner) == 1 and len(list(target.iterdir())) == 1:
        return inner[0]
    raise ValidationError(
        [
            Issue(
                field,
                f"{uri} holds no Hugging Face model folder (no config.json at its root)",
                uri,
                "pack the folder save_pretrained wrote: tar -czf model.tar.gz -C DIR .",
            )
        ]
    )


def _spec_for(folder: Path, manifest: dict[str, Any] | None, model_id: str) -> dict[str, Any]:
    """The spec to register: the manifest's (a Springboard model), else one read from
    config.json."""
    if manifest is not None:
        return dict(manifest)
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        config = {}
    seq2seq = bool(config.get("is_encoder_decoder"))
    return {
        "id": model_id,
        "version": "1.0.0",
        "name": model_id,
        "task": "text2text" if seq2seq else "text-generation",
        "architecture": "t5"
        if config.get("model_type") == "t5"
        else "seq2seq"
        if seq2seq
        else "causal",
        "source": {"kind": "local", "path": str(folder)},
        "license": "unknown",
    }


def register(uri: str, model_id: str | None = None, *, field: str = "model_data") -> Any:
    """Register the model archive at `uri` as model `model_id` (default: `model-` and the
    start of the archive's SHA-256); returns its `ModelSpec`."""
    from springboard.artifacts.safety import check_safe
    from springboard.catalog import Catalog, ModelSpec
    from springboard.catalog.registry import file_specs
    from springboard.store import registered_models

    model_id = model_id.lower() if model_id else None
    if model_id is not None and not re.fullmatch(ID_PATTERN, model_id):
        raise ValidationError(
            [
                Issue(
                    "name",
                    f"{model_id!r} is not a valid model id",
                    model_id,
                    "use letters, digits, dots and hyphens",
                )
            ]
        )
    settings = get_settings()
    home = settings.home
    models = permissions.private_dir(home / "models", home)
    with tempfile.TemporaryDirectory(dir=models, prefix=".archive-") as tmp:
        staged = Path(tmp) / "extracted"
        staged.mkdir()
        if _is_folder(uri, field):
            _copy_folder(uri, staged, field)
            digest = _tree_digest(staged)
            folder = _model_folder(staged, uri, field)
        else:
            archive = _fetch(uri, Path(tmp), field)
            digest = _digest(archive)
            folder = _extract(archive, staged, uri, field)
        model_id = model_id or f"model-{digest[:10]}"
        if any(model_id == s.id or model_id in s.aliases for s in file_specs()):
            raise ConflictError(
                f"{model_id} is a catalog model",
                field="name",
                value=model_id,
                fix="give the archive another name",
            )
        existing = registered_models.versions_of(model_id)
        if existing:
            if (existing[-1].get("lineage") or {}).get("archive_sha256") == digest:
                return Catalog.load().get(model_id)
            raise ConflictError(
                f"model {model_id} exists already (another archive or a training job's result)",
                field="name",
                value=model_id,
                fix=f"pick another name, or delete it first: `springboard models delete {model_id}`",
            )
        check_safe(
            folder, allow_pickle=settings.allow_pickle, trust_remote_code=settings.trust_remote_code
        )
        manifest_path = folder / MANIFEST
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        manifest_path.unlink(missing_ok=True)
        target = models / model_id
        if target.exists():  # files left by a model deleted half-way: `prune` would remove them
            shutil.rmtree(target)
        shutil.move(str(folder), target)
    spec = _spec_for(target, manifest, model_id)
    lineage = {**(spec.get("lineage") or {}), "model_data": uri, "archive_sha256": digest}
    spec.update(
        id=model_id,
        version="1.0.0",
        aliases=[],
        source={"kind": "local", "path": str(target)},
        lineage=lineage,
    )
    checked = ModelSpec.model_validate(spec)
    registered_models.register(checked.model_dump(mode="json"))
    return checked


def model_to_deploy(model_id: str | None, model_data: str | None) -> str:
    """What `deploy MODEL_ID [--model-data URI]` serves: the catalog model, or the archive
    registered (under MODEL_ID when given)."""
    if model_data is not None:
        return str(register(model_data, model_id, field="model_data").id)
    if model_id is None:
        raise ValidationError(
            [
                Issue(
                    "model_id",
                    "is required",
                    None,
                    "name a catalog model, or give `model_data` (a model.tar.gz)",
                )
            ]
        )
    return model_id
