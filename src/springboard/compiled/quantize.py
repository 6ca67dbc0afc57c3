"""Which quantizations (CTranslate2 compute types) this machine can run, and the check
that refuses any other by naming the field and the allowed values.

The engine is imported only when asked, so a settings check that is given no
quantization stays cheap. This module does not convert or load anything.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

from springboard.errors import Issue, ValidationError

DEFAULT_QUANTIZE = "float32"  # same numbers as the torch path; int8 is opt-in
BACKEND = "ctranslate2"


@lru_cache(maxsize=1)
def supported_quantizations() -> tuple[str, ...]:
    """The compute types the engine supports on this machine's CPU, sorted."""
    import ctranslate2

    return tuple(sorted(ctranslate2.get_supported_compute_types("cpu")))


@lru_cache(maxsize=1)
def engine_version() -> str:
    import ctranslate2

    return str(ctranslate2.__version__)


def quantize_issue(value: str, field: str) -> Issue | None:
    """The problem with quantization `value` given as `field`, or None when it runs here."""
    allowed = supported_quantizations()
    if value in allowed:
        return None
    return Issue(
        field,
        f"is not a quantization the {BACKEND} engine supports on this machine's CPU; got {value!r}",
        value,
        "use one of: " + ", ".join(allowed),
    )


def check_quantize(value: str | None, field: str = "quantize") -> str:
    """`value` (the default when None), or `ValidationError` naming `field`."""
    value = (value or DEFAULT_QUANTIZE).strip().lower()
    issue = quantize_issue(value, field)
    if issue is not None:
        raise ValidationError([issue], context="invalid quantization")
    return value


def _checked(value: str | None) -> str | None:
    """A pydantic validator: None stays None (the default); else a runnable type."""
    if value is None:
        return None
    value = value.strip().lower()
    allowed = supported_quantizations()
    if value not in allowed:
        raise ValueError(
            f"is not a quantization the {BACKEND} engine supports on this machine's CPU "
            "(use one of: " + ", ".join(allowed) + ")"
        )
    return value


# A settings field holding a quantization (job settings, deployment settings).
Quantize = Annotated[str | None, AfterValidator(_checked)]


BACKENDS = ("torch", "ctranslate2", "auto")


def backend_issues(backend: str, quantize: str | None) -> list[Issue]:
    """Problems with a backend choice and its quantization, as a job request gives them
    (`backend`, `quantize`), reported with the request's other problems."""
    issues = []
    if backend not in BACKENDS:
        issues.append(
            Issue(
                "backend",
                f"is not a backend; got {backend!r}",
                backend,
                "use one of: " + ", ".join(BACKENDS),
            )
        )
    if quantize is not None:
        if backend == "torch":
            issues.append(
                Issue(
                    "quantize",
                    "applies to the ctranslate2 backend only",
                    quantize,
                    "choose the ctranslate2 backend, or leave quantize out",
                )
            )
        else:
            issue = quantize_issue(quantize.strip().lower(), "quantize")
            if issue is not None:
                issues.append(issue)
    return issues
