"""`springboard models list|describe` and `springboard hyperparameters`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from springboard.cli.options import AcceptEulaOpt, QuantizeOpt
from springboard.cli.output import (
    Column,
    QuietOpt,
    check_quiet,
    console,
    emit_json,
    err_console,
    print_fields,
    print_ids,
    print_table,
)

app = typer.Typer(help="Browse the model catalog.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
VersionOpt = Annotated[
    str,
    typer.Option(
        "--version", "-v", help="Exact version, * for the latest, 1.* for the latest 1.x."
    ),
]


def _summary(spec: Any) -> dict[str, Any]:
    return {
        **spec.filter_fields(),
        "description": spec.description,
        "license_url": spec.license_url,
        "aliases": spec.aliases,
    }


@app.command("list")
def list_models(
    filter: Annotated[
        str | None,
        typer.Option(
            "--filter", "-f", help='e.g. "task == text2text and training_supported == true"'
        ),
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="One row per version.")
    ] = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """List catalog models, optionally filtered by an expression. Piped, a tab-separated
    table with a header line; -q prints the ids alone."""
    from springboard.catalog import list_models as list_specs

    check_quiet(quiet, json_out)
    specs = list_specs(filter, all_versions=all_versions)
    if json_out:
        emit_json([_summary(s) for s in specs])
        return
    if quiet:
        print_ids(dict.fromkeys(s.id for s in specs))  # once each, with --all-versions too
        return
    print_table(
        [
            Column("id", key=True),
            Column("version", key=True),
            Column("task"),
            Column("params", drop=2),
            Column("license", drop=1),
            Column("eula"),
            Column("train"),
        ],
        [
            (
                s.id,
                s.version,
                s.task.value,
                s.parameters or "",
                s.license,
                "required" if s.eula_required else "",
                "yes" if s.training_supported else "",
            )
            for s in specs
        ],
    )
    if console.is_terminal:  # a count under the table; piped output stays a table alone
        console.print(f"{len(specs)} model(s)")


@app.command("describe")
def describe(model_id: str, version: VersionOpt = "*", json_out: JsonOpt = False) -> None:
    """Show a model card: license, EULA, task, sizes, defaults, hyperparameters, presets."""
    from springboard.catalog import get_model, retrieve_default
    from springboard.compiled import variants

    spec = get_model(model_id, version)
    if json_out:
        emit_json(
            {
                **spec.model_dump(mode="json"),
                "default_hyperparameters": retrieve_default(spec.id, spec.version),
                "versions": _versions(spec.id),
                "compiled": [v.summary() for v in variants(spec.id, spec.version)],
            }
        )
        return
    console.print(spec.name, style="bold", highlight=False, markup=False, soft_wrap=True)
    print_fields(
        {
            "id": spec.id,
            "version": spec.version,
            "task": spec.task.value,
            "framework": spec.framework,
            "parameters": spec.parameters,
            "weights": f"{spec.weights_size_gib} GiB" if spec.weights_size_gib else None,
            "source": spec.source.describe(),
            "license": f"{spec.license} {spec.license_url or ''}".strip(),
            "EULA": "must be accepted (--accept-eula)" if spec.eula_required else "not required",
            "training": "supported" if spec.training_supported else "not supported",
            "context length": spec.context_length,
            "hardware": spec.hardware.instance_type,
            "inference defaults": spec.default_inference_parameters,
            "versions": _versions(spec.id),
        }
    )
    if spec.description:
        console.print()
        console.print(spec.description, highlight=False, markup=False)
    if spec.deployment_presets:
        console.print()
        print_table(
            [
                Column("preset", key=True),
                Column("context", justify="right"),
                Column("max batch", justify="right"),
                Column("dtype"),
                Column("tp degree", justify="right"),
                Column("hardware", key=True),
            ],
            [
                (
                    p.name,
                    p.context_length,
                    p.max_batch_size,
                    p.dtype,
                    p.tensor_parallel_degree,
                    p.hardware.instance_type,
                )
                for p in spec.deployment_presets
            ],
            title="deployment presets",
        )
    _print_compiled(spec)
    if spec.hyperparameters:
        console.print()
        _print_hyperparameters(spec, title="hyperparameters")


def _print_compiled(spec: Any) -> None:
    """The compiled variants of this version in the cache (read only; none: nothing)."""
    from springboard.compiled import variants

    found = variants(spec.id, spec.version)
    if not found:
        return
    console.print()
    print_table(
        [
            Column("backend", key=True),
            Column("quantization", key=True),
            Column("engine"),
            Column("size", justify="right"),
            Column("compiled in", justify="right"),
            Column("path", drop=1),
        ],
        [
            (
                v.backend,
                v.quantization,
                v.engine_version,
                f"{v.size_bytes / 2**20:.1f} MiB",
                f"{v.seconds:.1f} s" if v.seconds is not None else "",
                str(v.path),
            )
            for v in found
        ],
        title="compiled variants",
    )


@app.command("compile")
def compile_model(
    model_id: str,
    version: VersionOpt = "*",
    quantize: QuantizeOpt = None,
    accept_eula: AcceptEulaOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Compile a model for the ctranslate2 backend into the compiled-model cache, so a
    deployment loads it at once (a cached variant with unchanged weights is kept)."""
    from springboard.artifacts import resolve_model_dir
    from springboard.catalog import get_model, require_eula
    from springboard.compiled import compile_model as compile_variant

    spec = get_model(model_id, version)
    require_eula(spec, accept_eula)
    with err_console.status(f"compiling {spec.id} {spec.version}..."):
        variant = compile_variant(
            spec, resolve_model_dir(spec), quantize, on_progress=err_console.print
        )
    summary = {"model_id": spec.id, "version": spec.version, "cache_hit": variant.cache_hit}
    summary.update(variant.summary())
    if json_out:
        emit_json(summary)
        return
    print_fields(summary)


def _versions(model_id: str) -> list[str]:
    from springboard.catalog import load_catalog

    return load_catalog().versions(model_id)


def _default(value: Any) -> str:
    """A default as it is typed in `--hyperparameter K=V` (`false`, not `False`)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return str(value)


def _allowed(h: Any) -> str:
    if h.choices is not None:
        return " | ".join(str(c) for c in h.choices)
    low = "" if h.min is None else f"{h.min:g}"
    high = "" if h.max is None else f"{h.max:g}"
    return f"[{low}, {high}]" if (low or high) else ""


def _print_hyperparameters(spec: Any, *, title: str | None = None) -> None:
    print_table(
        [
            Column("name", key=True),
            Column("type"),
            Column("default"),
            Column("range / choices"),
            Column("description"),
        ],
        [
            (
                h.name,
                h.type,
                _default(h.default),
                _allowed(h),
                h.description + (" (GPU only)" if h.gpu_only else ""),
            )
            for h in spec.hyperparameters
        ],
        title=title,
    )


def hyperparameters(model_id: str, version: VersionOpt = "*", json_out: JsonOpt = False) -> None:
    """Show a model's training hyperparameters with their defaults and allowed values."""
    from springboard.catalog import get_model

    spec = get_model(model_id, version)
    if json_out:
        emit_json(
            {
                "model_id": spec.id,
                "version": spec.version,
                "defaults": {h.name: h.default for h in spec.hyperparameters},
                "schema": [h.model_dump(mode="json") for h in spec.hyperparameters],
            }
        )
        return
    if not spec.hyperparameters:
        console.print(
            f"{spec.id} has no training hyperparameters (training not supported)",
            highlight=False,
            soft_wrap=True,
        )
        return
    _print_hyperparameters(spec)
