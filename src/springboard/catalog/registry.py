"""The catalog: every model spec this installation knows, by id and version.

Specs come from JSON files shipped in `catalog/specs/`, then from the user's catalog
directories (`SPRINGBOARD_CATALOG_PATH`); a later file with the same id and version
replaces an earlier one. A file holds one spec, a list of specs, or a family —
`{"family": {shared fields}, "models": [{per-model fields}]}` — so that five sizes of one
model share one hyperparameter schema. Loading is strict: a bad field in a spec file is
an error naming the file and the field.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
from packaging.version import Version

from springboard.catalog.filters import parse_filter
from springboard.catalog.spec import ModelSpec
from springboard.catalog.versions import pick
from springboard.config import Settings, get_settings
from springboard.errors import Issue, NotFoundError, ValidationError


def _entries(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and "models" in data:
        family = data.get("family", {})
        return [{**family, **entry} for entry in data["models"]]
    return [data]


def load_spec_file(path: Path) -> list[ModelSpec]:
    """Parse one spec file; raise `ValidationError` naming the file and every bad field."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValidationError([Issue(str(path), f"not valid JSON: {exc}")]) from exc
    specs, issues = [], []
    for index, entry in enumerate(_entries(data)):
        try:
            specs.append(ModelSpec.model_validate(entry))
        except pydantic.ValidationError as exc:
            label = entry.get("id", f"entry {index}") if isinstance(entry, dict) else index
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                issues.append(Issue(f"{path.name}:{label}.{loc}", err["msg"], err.get("input")))
    if issues:
        raise ValidationError(issues, context=f"invalid model spec file {path}")
    return specs


def _shipped_spec_files() -> list[Path]:
    root = resources.files("springboard.catalog") / "specs"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".json"))


def _user_spec_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in dirs:
        if directory.is_file():
            files.append(directory)
        elif directory.is_dir():
            files.extend(sorted(directory.glob("*.json")))
    return files


class Catalog:
    """An immutable view of model specs with version picking, aliases and filters."""

    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._by_id: dict[str, dict[str, ModelSpec]] = {}
        self._aliases: dict[str, str] = {}
        for spec in specs:
            self._by_id.setdefault(spec.id, {})[spec.version] = spec
            for alias in spec.aliases:
                self._aliases[alias] = spec.id

    @classmethod
    def load(cls, settings: Settings | None = None) -> Catalog:
        settings = settings or get_settings()
        return cls(file_specs(settings) + _registered_specs(settings))

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def versions(self, model_id: str) -> list[str]:
        return sorted(self._by_id.get(self._canonical(model_id), {}), key=_version_key)

    def _canonical(self, model_id: str) -> str:
        return self._aliases.get(model_id, model_id)

    def get(self, model_id: str, version: str = "*") -> ModelSpec:
        """The spec for `model_id` (or an alias) at the highest version matching `version`."""
        canonical = self._canonical(model_id)
        by_version = self._by_id.get(canonical)
        if not by_version:
            close = difflib.get_close_matches(model_id, self.ids() + list(self._aliases), n=3)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "run `springboard models list` to see the catalog"
            )
            raise NotFoundError(
                f"no model '{model_id}' in the catalog", field="model_id", value=model_id, fix=hint
            )
        chosen = pick(version, list(by_version))
        if chosen is None:
            raise NotFoundError(
                f"{canonical} has no version matching '{version}'",
                field="version",
                value=version,
                fix="available: " + ", ".join(self.versions(canonical)),
            )
        return by_version[chosen]

    def list(
        self, filter_expr: str | None = None, *, all_versions: bool = False
    ) -> list[ModelSpec]:
        """Specs (latest version of each id unless `all_versions`) matching the filter."""
        predicate = parse_filter(filter_expr) if filter_expr else None
        out: list[ModelSpec] = []
        for model_id in self.ids():
            versions = self.versions(model_id)
            chosen = versions if all_versions else versions[-1:]
            for version in chosen:
                spec = self._by_id[model_id][version]
                if predicate is None or predicate(spec.filter_fields()):
                    out.append(spec)
        return out


def _version_key(version: str) -> Version:
    return Version(version)


def _registered_specs(settings: Settings) -> list[ModelSpec]:
    """Models registered at run time (fine-tuned results) from the state database."""
    from springboard.store.registered_models import list_registered

    return [ModelSpec.model_validate(row) for row in list_registered(settings)]


def file_specs(settings: Settings | None = None) -> list[ModelSpec]:
    """The specs from spec files only (shipped, then the user's catalog directories):
    what the catalog holds besides the models registered at run time."""
    settings = settings or get_settings()
    files = _shipped_spec_files() + _user_spec_files(settings.catalog_dirs)
    return [spec for path in files for spec in load_spec_file(path)]
