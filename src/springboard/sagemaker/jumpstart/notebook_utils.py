"""`jumpstart.notebook_utils.list_jumpstart_models`, as the managed SDK's: catalog model ids
matching a filter expression (the catalog's filter language, which is JumpStart's:
`task == text2text and training_supported == true`), sorted."""

from __future__ import annotations

from typing import Any

from springboard.sdk.arguments import managed_hub_arguments


@managed_hub_arguments("jumpstart.notebook_utils.list_jumpstart_models")
def list_jumpstart_models(
    filter: str | None = None,  # the managed SDK's name, though a builtin
    *,
    list_versions: bool = False,
    list_old_models: bool = False,
) -> list[Any]:
    """Model ids (with `list_versions`, (id, version) pairs: every version with
    `list_old_models`, else the latest)."""
    from springboard.catalog import list_models

    specs = list_models(str(filter) if filter is not None else None, all_versions=list_old_models)
    if list_versions:
        return sorted((s.id, s.version) for s in specs)
    return sorted({s.id for s in specs})
