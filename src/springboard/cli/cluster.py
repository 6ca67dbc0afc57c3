"""`springboard cluster status`: the Ray cluster's nodes and what Springboard runs there."""

from __future__ import annotations

import typer

from springboard.cli.options import ClusterOpt, JsonOpt
from springboard.cli.output import Column, console, emit_json, print_table

app = typer.Typer(
    help="The Ray cluster jobs and endpoints run on (--cluster ADDRESS).", no_args_is_help=True
)


@app.command("status")
def status(cluster: ClusterOpt = None, json_out: JsonOpt = False) -> None:
    """Show the cluster's nodes (CPUs, GPUs, memory) and the Springboard jobs and endpoints on it."""
    from springboard.cluster import address_of, require_ray
    from springboard.cluster.status import status as cluster_status
    from springboard.errors import ClientError

    address = address_of(cluster)
    if address is None:
        raise ClientError(
            "no cluster named",
            field="cluster",
            fix="pass --cluster ADDRESS or set SPRINGBOARD_RAY_ADDRESS",
        )
    require_ray()
    found = cluster_status(address)
    if json_out:
        emit_json({**found.model_dump(mode="json"), "cpus": found.cpus, "gpus": found.gpus})
        return
    alive = sum(1 for n in found.nodes if n.alive)
    console.print(
        f"Ray {found.ray_version} at {found.address}: {alive} node{'' if alive == 1 else 's'}, "
        f"{found.cpus:g} CPUs, {found.gpus:g} GPUs",
        highlight=False,
        soft_wrap=True,
    )
    print_table(
        [
            Column("node", key=True),
            "address",
            "role",
            "state",
            Column("cpus", justify="right"),
            Column("in use", justify="right"),
            Column("gpus", justify="right"),
            Column("memory GB", justify="right"),
        ],
        [
            [
                n.node_id[:12],
                n.address,
                "head" if n.head else "worker",
                "alive" if n.alive else "dead",
                f"{n.cpus:g}",
                f"{n.cpus_in_use:g}",
                f"{n.gpus:g}",
                f"{n.memory_gb:g}",
            ]
            for n in found.nodes
        ],
    )
    if not found.jobs:
        console.print("Springboard runs nothing there now.", highlight=False)
        return
    print_table(
        [
            Column("job or endpoint", key=True),
            "kind",
            "status",
            "model",
            Column("instances", justify="right"),
        ],
        [[j.id, j.kind, j.status, j.model_id, j.instance_count] for j in found.jobs],
        title="Springboard on the cluster",
    )
