"""`springboard models list|describe` and `springboard hyperparameters`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from springboard.cli.output import console, emit_json

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
    json_out: JsonOpt = False,
) -> None:
    """List catalog models, optionally filtered by an expression."""
    from springboard.catalog import list_models as list_specs

    specs = list_specs(filter, all_versions=all_versions)
    if json_out:
        emit_json([_summary(s) for s in specs])
        return
    table = Table("version", "task", "params", "license", "eula", "train")
    table.add_column("id", no_wrap=True)
    table.columns.insert(0, table.columns.pop())
    for s in specs:
        table.add_row(
            s.id,
            s.version,
            s.task.value,
            s.parameters or "",
            s.license,
            "required" if s.eula_required else "",
            "yes" if s.training_supported else "",
        )
    console.print(table)
    console.print(f"{len(specs)} model(s)")


@app.command("describe")
def describe(model_id: str, version: VersionOpt = "*", json_out: JsonOpt = False) -> None:
    """Show a model card: license, EULA, task, sizes, defaults, hyperparameters, presets."""
    from springboard.catalog import get_model, retrieve_default

    spec = get_model(model_id, version)
    if json_out:
        emit_json(
            {
                **spec.model_dump(mode="json"),
                "default_hyperparameters": retrieve_default(spec.id, spec.version),
                "versions": _versions(spec.id),
            }
        )
        return
    console.rule(f"[bold]{spec.name}[/]  {spec.id} {spec.version}")
    rows = [
        ("task", spec.task.value),
        ("framework", spec.framework),
        ("parameters", spec.parameters or "?"),
        ("weights", f"{spec.weights_size_gib} GiB" if spec.weights_size_gib else "?"),
        ("source", spec.source.describe()),
        ("license", f"{spec.license} {spec.license_url or ''}"),
        ("EULA", "must be accepted (--accept-eula)" if spec.eula_required else "not required"),
        ("training", "supported" if spec.training_supported else "not supported"),
        ("context length", str(spec.context_length)),
        ("hardware", spec.hardware.instance_type),
        ("inference defaults", str(spec.default_inference_parameters)),
        ("versions", ", ".join(_versions(spec.id))),
    ]
    for key, value in rows:
        console.print(f"[bold]{key:>18}[/]  {value}", highlight=False)
    if spec.description:
        console.print(spec.description)
    if spec.deployment_presets:
        presets = Table(
            "preset",
            "context",
            "max batch",
            "dtype",
            "tp degree",
            "hardware",
            title="deployment presets",
        )
        for p in spec.deployment_presets:
            presets.add_row(
                p.name,
                str(p.context_length),
                str(p.max_batch_size),
                p.dtype,
                str(p.tensor_parallel_degree),
                p.hardware.instance_type,
            )
        console.print(presets)
    if spec.hyperparameters:
        console.print(_hyperparameter_table(spec))


def _versions(model_id: str) -> list[str]:
    from springboard.catalog import load_catalog

    return load_catalog().versions(model_id)


def _hyperparameter_table(spec: Any) -> Table:
    table = Table(
        "name", "type", "default", "range / choices", "description", title="hyperparameters"
    )
    for h in spec.hyperparameters:
        if h.choices is not None:
            allowed = " | ".join(str(c) for c in h.choices)
        else:
            low = "" if h.min is None else f"{h.min:g}"
            high = "" if h.max is None else f"{h.max:g}"
            allowed = f"[{low}, {high}]" if (low or high) else ""
        table.add_row(
            h.name,
            h.type,
            str(h.default),
            allowed,
            h.description + (" (GPU only)" if h.gpu_only else ""),
        )
    return table


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
        console.print(f"{spec.id} has no training hyperparameters (training not supported)")
        return
    console.print(_hyperparameter_table(spec))
