"""Version requests: an exact version (`1.2.0`), the latest (`*`), or the latest of a
line (`1.*`, `1.2.*`). Only matching; where specs come from is `registry`'s job."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from springboard.errors import Issue, ValidationError


def parse_version(text: str, *, field: str = "version") -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ValidationError(
            [
                Issue(
                    field,
                    f"'{text}' is not a version",
                    text,
                    "use e.g. 1.2.0, * (latest) or 1.* (latest 1.x)",
                )
            ]
        ) from None


def matches(request: str, version: str) -> bool:
    """True when `version` satisfies `request` (`*`, `1.*`, or exact)."""
    request = request.strip()
    if request in ("*", "", "latest"):
        return True
    if request.endswith(".*"):
        prefix = parse_version(request[:-2]).release
        return Version(version).release[: len(prefix)] == prefix
    return Version(version) == parse_version(request)


def pick(request: str, versions: list[str]) -> str | None:
    """The highest of `versions` that satisfies `request`, or None."""
    if request.strip() not in ("*", "", "latest"):
        if request.endswith(".*"):
            parse_version(request[:-2])
        else:
            parse_version(request)
    candidates = [v for v in versions if matches(request, v)]
    return max(candidates, key=Version) if candidates else None
