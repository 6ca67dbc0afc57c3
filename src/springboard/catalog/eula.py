"""The gate in front of models that need an end-user license agreement accepted.

Checked before anything is downloaded or loaded. Acceptance is per action (deploy, train,
predict), as on managed hubs; nothing is remembered on disk.
"""

from __future__ import annotations

from springboard.catalog.spec import ModelSpec
from springboard.errors import EulaNotAcceptedError


def require_eula(spec: ModelSpec, accepted: bool) -> None:
    """Raise `EulaNotAcceptedError` when `spec` is gated and `accepted` is false."""
    if not spec.eula_required or accepted:
        return
    url = spec.license_url or "the model's license"
    raise EulaNotAcceptedError(
        f"{spec.id} is gated: its end-user license agreement ({spec.license}) must be "
        f"accepted first. Read it at {url}",
        field="accept_eula",
        value=False,
        fix="then pass `accept_eula` to accept it",
    )
