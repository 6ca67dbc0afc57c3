"""CLI options read from the typed option models, so a flag's help and default are the
field's own and cannot drift from the SDK's or the docs' (docs/cli.md is generated from
`--help`).

    batch_size: Annotated[int, option_from(TransformOptions, "batch_size", "--batch-size")] \\
        = default_of(TransformOptions, "batch_size")

typer wants the default as the parameter's own (with `Annotated`), so `default_of` gives
it; `option_from` gives the flag names and the help. Validation stays the library's.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import BaseModel

from springboard.options import default_of

# Options many commands share, declared once (so their help reads the same everywhere).
WaitOpt = Annotated[bool, typer.Option("--wait", help="Show progress and wait until the job ends.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AcceptEulaOpt = Annotated[bool, typer.Option("--accept-eula", help="Accept the model's EULA.")]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on this Ray cluster (host:port, ray://host:port or auto; default "
        "SPRINGBOARD_RAY_ADDRESS); without one, on this machine. Needs springboard-llm[ray].",
    ),
]
InstanceCountOpt = Annotated[
    int,
    typer.Option(
        "--instance-count", min=1, help="Model copies on the cluster (one Ray actor each)."
    ),
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="torch (eager, every model), ctranslate2 (compiled for the CPU, cached) or auto "
        "(the catalog preset's choice).",
    ),
]
QuantizeOpt = Annotated[
    str | None,
    typer.Option(
        "--quantize",
        help="With the ctranslate2 backend: float32 (default), int8, int8_float32, ... as "
        "the engine supports on this machine.",
    ),
]


def backend_env(backend: str, quantize: str | None) -> dict[str, str]:
    """--backend / --quantize as the job settings (OPTION_BACKEND, OPTION_QUANTIZE) they
    set; the flags win over the same variables given with --env."""
    env = {} if backend == "torch" else {"OPTION_BACKEND": backend}
    return env | ({"OPTION_QUANTIZE": quantize} if quantize else {})


__all__ = ["default_of", "option_from"]


def option_from(
    model: type[BaseModel],
    name: str,
    *flags: str,
    help: str | None = None,
    also: str = "",
    **extra: Any,
) -> Any:
    """A `typer.Option` for `model`'s field `name` under `flags`, its help the field's
    description (or `help`), followed by `also` (what only the CLI needs said)."""
    text = help if help is not None else model.model_fields[name].description or ""
    return typer.Option(*flags, help=f"{text} {also}".strip(), **extra)
