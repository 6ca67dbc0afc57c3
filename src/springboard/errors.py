"""Typed errors the library raises; the CLI and HTTP API format them.

Two families, as vLLM separates them: `ClientError` (the caller asked for something
wrong — a bad field, an unknown model, an unaccepted EULA; HTTP 4xx) and `ServerError`
(Springboard or the model failed; HTTP 5xx). Every error carries the field it is about,
the offending value and the fix, so that a message reads "`top_p` must be in (0, 1]; got
1.5". Nothing here prints or exits.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAMED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def spelled(text: str, names: Mapping[str, str]) -> str:
    """`text` with every backquoted name that `names` holds written its way: the library
    writes parameters as `prompt_template`, the CLI shows them as `--prompt-template`."""
    return _NAMED.sub(lambda m: f"`{names.get(m[1], m[1])}`", text)


@dataclass
class Issue:
    """One problem with one field: the field as the user typed it, the value, and why."""

    field: str | None
    message: str
    value: Any = None
    fix: str | None = None

    def render(self) -> str:
        text = f"`{self.field}`: {self.message}" if self.field else self.message
        return f"{text} ({self.fix})" if self.fix else text

    def describe(self) -> str:
        """`field: what is wrong; got VALUE (fix)` — one line, the value cut short."""
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.value is not None and shown(self.value) not in self.message:
            text += f"; got {shown(self.value)}"
        return f"{text} ({self.fix})" if self.fix else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "message": self.message,
            "value": _jsonable(self.value),
            "fix": self.fix,
        }

    def renamed(self, names: Mapping[str, str]) -> Issue:
        """This issue with its field and the parameters its text names spelled by `names`."""
        return Issue(
            names.get(self.field, self.field) if self.field else self.field,
            spelled(self.message, names),
            self.value,
            spelled(self.fix, names) if self.fix else self.fix,
        )


def _jsonable(value: Any, limit: int = 200) -> Any:
    """`value` as strict JSON can carry it: short, finite, else its cut-down repr."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) < 2**63:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str) and len(value) <= limit:
        return value
    if isinstance(value, (list, dict)):
        try:
            if len(json.dumps(value, allow_nan=False)) <= limit:
                return value
        except (ValueError, TypeError, RecursionError):
            pass
    return shown(value, limit)


class SpringboardError(Exception):
    """Base of every error Springboard raises on purpose."""

    code: str = "springboard_error"
    http_status: int = 500

    def __init__(
        self, message: str, *, field: str | None = None, value: Any = None, fix: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.fix = fix

    def __str__(self) -> str:
        if not self.fix:
            return self.message
        return f"{self.message.rstrip('.')}. {self.fix[0].upper()}{self.fix[1:]}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), "field": self.field}

    def _clone(self) -> Any:
        """A copy with the same attributes (exceptions do not copy by their constructor's
        arguments: subclasses take others)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def renamed(self, names: Mapping[str, str]) -> SpringboardError:
        """A copy that names parameters as `names` spells them (the library names them as
        its functions do: `input`, `prompt_template`; the CLI maps them to its flags)."""
        clone = self._clone()
        clone.field = names.get(self.field, self.field) if self.field else self.field
        clone.message = spelled(self.message, names)
        clone.fix = spelled(self.fix, names) if self.fix else self.fix
        clone.args = (clone.message,)
        return clone


class ClientError(SpringboardError):
    """The request is wrong; repeating it unchanged will fail again (HTTP 4xx)."""

    code = "client_error"
    http_status = 400


class ServerError(SpringboardError):
    """Springboard or the model failed while serving a valid request (HTTP 5xx)."""

    code = "server_error"
    http_status = 500


class ValidationError(ClientError):
    """One or more fields are invalid; every problem is reported at once."""

    code = "validation_error"

    def __init__(self, issues: list[Issue], *, context: str = "") -> None:
        self.issues = issues
        self.context = context
        head = f"{context}: " if context else ""
        if len(issues) == 1:
            message = head + issues[0].render()
        else:
            message = (
                head
                + f"{len(issues)} problems:\n"
                + "\n".join(f"  - {issue.render()}" for issue in issues)
            )
        first = issues[0] if issues else Issue(None, "")
        super().__init__(message, field=first.field, value=first.value)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["issues"] = [issue.to_dict() for issue in self.issues]
        return data

    def renamed(self, names: Mapping[str, str]) -> ValidationError:
        clone = self._clone()
        ValidationError.__init__(
            clone,
            [issue.renamed(names) for issue in self.issues],
            context=spelled(self.context, names),
        )
        return clone


class UnauthorizedError(ClientError):
    """No valid API key came with a request that needs one."""

    code = "unauthorized"
    http_status = 401


class ForbiddenError(ClientError):
    """The request comes from where it may not (another Host name, a cross-site page)."""

    code = "forbidden"
    http_status = 403


class PayloadTooLargeError(ClientError):
    """A request body over the server's limit (refused before it is all read)."""

    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaTypeError(ClientError):
    code = "unsupported_media_type"
    http_status = 415


class NotFoundError(ClientError):
    """A named thing (model, version, endpoint, job) does not exist."""

    code = "not_found"
    http_status = 404


class ConflictError(ClientError):
    """The request conflicts with the current state (a name taken, a job that cannot stop)."""

    code = "conflict"
    http_status = 409


class QuotaExceededError(ClientError):
    """A limit on how many things may exist at once was reached."""

    code = "quota_exceeded"
    http_status = 400


class EulaNotAcceptedError(ClientError):
    """A gated model was used without accepting its end-user license agreement."""

    code = "eula_not_accepted"
    http_status = 403


class ContextLengthError(ClientError):
    """Prompt plus requested new tokens exceed the model's (or deployment's) context."""

    code = "context_length_exceeded"
    http_status = 413


class ArtifactNotAvailableError(ClientError):
    """A model's weights are not on this machine and may not be downloaded."""

    code = "artifact_not_available"
    http_status = 424


class UnsafeArtifactError(ClientError):
    """A model would need pickle weights or remote code, and the user has not opted in."""

    code = "unsafe_artifact"
    http_status = 422


class ModelLoadError(ServerError):
    """Weights were found but could not be loaded."""

    code = "model_load_failed"


class GenerationError(ServerError):
    """The forward pass itself failed."""

    code = "generation_failed"


class JobFailedError(SpringboardError):
    """A waited-for job ended Failed, Stopped or Expired: `job_id`, `status` and
    `status_message` say which and why (the job and its logs are kept)."""

    code = "job_failed"

    def __init__(self, job_id: str, status: str, status_message: str | None = None) -> None:
        reason = f": {status_message}" if status_message else ""
        super().__init__(
            f"job {job_id} ended {status}{reason}",
            field="job_id",
            value=job_id,
            fix=f"see `springboard jobs logs {job_id}`",
        )
        self.job_id = job_id
        self.status = status
        self.status_message = status_message


def shown(value: Any, limit: int = 80) -> str:
    """`repr(value)` for a message, cut to `limit` characters (a value may be megabytes)."""
    try:
        text = repr(value)
    except RecursionError:
        return "(a value nested too deeply to show)"
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


_UNION_MEMBERS = {"str", "int", "float", "bool", "none"}


def issues_from_pydantic(exc: Any, *, prefix: str = "", allowed: Any = None) -> list[Issue]:
    """Turn a `pydantic.ValidationError` into issues that name fields as the user typed them.

    `allowed(field_path)` may return the valid names to suggest for an unknown key.
    """
    issues: dict[tuple[str | None, str], Issue] = {}
    for err in exc.errors():
        # pydantic reports a failed union once per member (`str`, `list[str]`): drop those.
        loc = [
            str(p)
            for p in err["loc"]
            if str(p) not in _UNION_MEMBERS and not str(p).startswith(("list[", "dict["))
        ]
        name = prefix + ".".join(loc) if loc else (prefix.rstrip(".") or None)
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            names = allowed(name) if allowed else None
            issue = Issue(name, "unknown field", value, f"allowed: {names}" if names else None)
        elif err["type"] == "missing":
            issue = Issue(name, "is required", None)
        elif err["type"] == "value_error" and "error" in err.get("ctx", {}):
            # a validator's own words, without pydantic's "Value error, " in front
            issue = Issue(name, f"{err['ctx']['error']}; got {shown(value)}", value)
        else:
            issue = Issue(
                name, f"{err['msg'][0].lower()}{err['msg'][1:]}; got {shown(value)}", value
            )
        issues.setdefault((issue.field, issue.message), issue)
    return list(issues.values())
