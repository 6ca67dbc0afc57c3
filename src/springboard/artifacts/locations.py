"""Which input and output locations a caller may name: a policy, not a free string.

A caller of the HTTP APIs chooses locations that the server's user then reads and
writes, so a location given that way must lie under a configured data root (resolved,
symlinks followed, then checked) or use an allowed URL scheme (`s3` by default). The
local CLI and SDK act as the user already does and may name any local path or any scheme
fsspec can open. Checking is pure: it stats local paths at most and never opens a remote
filesystem, so a slow or hostile remote cannot hold a request thread. Reading and writing
the bytes is the jobs' business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from springboard.errors import Issue, ValidationError

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


@dataclass(frozen=True)
class Location:
    """A checked location: a resolved local path, or a remote URI with its scheme."""

    uri: str
    path: Path | None  # set for local locations
    scheme: str  # "file" for local ones

    @property
    def is_local(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class LocationPolicy:
    """Where locations may point. `roots` None means any local path."""

    name: str
    roots: tuple[Path, ...] | None
    schemes: frozenset[str] | None  # None: any scheme fsspec knows

    @classmethod
    def local_user(cls) -> LocationPolicy:
        """The CLI and SDK: the user names their own files."""
        return cls("local", None, None)

    @classmethod
    def http(cls) -> LocationPolicy:
        """Callers of the HTTP APIs: data roots and allowed schemes from the settings."""
        from springboard.config import get_settings

        settings = get_settings()
        return cls("http", tuple(settings.data_root_dirs), settings.allowed_scheme_set)

    @classmethod
    def named(cls, name: str) -> LocationPolicy:
        """The policy a job was created under (recorded by name; re-read when it runs)."""
        return cls.http() if name == "http" else cls.local_user()

    def check(self, uri: str, field: str) -> Location:
        """The location `uri` names, or a ValidationError naming `field` and what is allowed."""
        if not isinstance(uri, str) or not uri.strip():
            raise ValidationError([Issue(field, "must be a non-empty location", uri)])
        if "\x00" in uri:
            raise ValidationError([Issue(field, "contains a NUL character", None, self._allowed())])
        match = _SCHEME.match(uri)
        scheme = match.group(1).lower() if match else "file"
        if "::" in uri and self.schemes is not None:  # fsspec URL chaining (simplecache::...)
            raise ValidationError(
                [Issue(field, "chained fsspec URLs ('::') are not accepted", uri, self._allowed())]
            )
        if scheme != "file":
            if self.schemes is not None and scheme not in self.schemes:
                raise ValidationError(
                    [Issue(field, f"the scheme {scheme}:// is not allowed", uri, self._allowed())]
                )
            return Location(uri, None, scheme)
        raw = uri[len(match.group(0)) :] if match else uri
        if self.roots is None:
            return Location(uri, Path(raw).expanduser().resolve(), "file")
        if not raw.startswith("/"):
            raise ValidationError(
                [Issue(field, "must be an absolute path (or file:// URI)", uri, self._allowed())]
            )
        path = Path(raw).resolve()
        self.require_inside(path, field, uri)
        return Location(uri, path, "file")

    def require_inside(self, path: Path, field: str, uri: str | None = None) -> None:
        """Raise unless `path`, resolved, lies under a data root (no-op for the CLI's policy).

        Call it again on each file found inside a checked folder: a symlink in a data root
        may point out of it."""
        if self.roots is None:
            return
        resolved = path.resolve()
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            raise ValidationError(
                [
                    Issue(
                        field,
                        "lies outside the data roots",
                        uri if uri is not None else str(path),
                        self._allowed(),
                    )
                ]
            )

    def _allowed(self) -> str:
        parts = []
        if self.roots is not None:
            parts.append(
                "use a path under "
                + " or ".join(str(r) for r in self.roots)
                + " (SPRINGBOARD_DATA_ROOTS)"
            )
        if self.schemes is not None:
            listed = ", ".join(f"{s}://" for s in sorted(self.schemes)) or "none"
            parts.append(f"allowed schemes: {listed} (SPRINGBOARD_ALLOWED_SCHEMES)")
        return "; ".join(parts) or "any local path or fsspec URI"
