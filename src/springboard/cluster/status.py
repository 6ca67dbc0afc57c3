"""What a Ray cluster has and what Springboard runs on it (`springboard cluster status`).

Joins the cluster briefly as a driver and reads its nodes (address, alive, CPUs, GPUs,
memory, what is in use), and lists from Springboard's own store the jobs placed on that
cluster that have not ended, and the endpoints whose replicas run there. It reads only:
it starts and stops nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from springboard.cluster.connection import connected


class NodeStatus(BaseModel):
    node_id: str
    address: str
    alive: bool
    head: bool = False
    cpus: float = 0
    cpus_in_use: float = 0
    gpus: float = 0
    memory_gb: float = 0


class PlacedJob(BaseModel):
    """A Springboard job or endpoint that runs (or waits to run) on the cluster."""

    id: str
    kind: str
    status: str
    model_id: str
    instance_count: int


class ClusterStatus(BaseModel):
    address: str
    ray_version: str
    nodes: list[NodeStatus] = Field(default_factory=list)
    jobs: list[PlacedJob] = Field(default_factory=list)

    @property
    def cpus(self) -> float:
        return sum(n.cpus for n in self.nodes if n.alive)

    @property
    def gpus(self) -> float:
        return sum(n.gpus for n in self.nodes if n.alive)


def _node(raw: dict[str, Any], available: dict[str, float]) -> NodeStatus:
    total = raw.get("Resources") or {}
    cpus = float(total.get("CPU", 0))
    return NodeStatus(
        node_id=raw["NodeID"],
        address=f"{raw.get('NodeManagerAddress')}:{raw.get('NodeManagerPort')}",
        alive=bool(raw.get("Alive")),
        head="node:__internal_head__" in total,
        cpus=cpus,
        cpus_in_use=max(0.0, cpus - available.get("CPU", cpus)) if raw.get("Alive") else 0,
        gpus=float(total.get("GPU", 0)),
        memory_gb=round(float(total.get("memory", 0)) / 1024**3, 2),
    )


def placed_jobs(address: str) -> list[PlacedJob]:
    """Springboard's jobs that have not ended and were placed on `address`."""
    from springboard.jobs.states import TERMINAL
    from springboard.store import job_records

    ended = {s.value for s in TERMINAL}
    out = []
    for row in job_records.find():
        settings = row.get("settings") or {}
        if row["status"] in ended or settings.get("cluster") != address:
            continue
        out.append(
            PlacedJob(
                id=row["id"],
                kind=row["kind"],
                status=row["status"],
                model_id=row["model_id"],
                instance_count=int(settings.get("instance_count") or 1),
            )
        )
    return out + placed_endpoints(address)


def placed_endpoints(address: str) -> list[PlacedJob]:
    """Springboard's endpoints whose replicas run on `address` (kind `endpoint`)."""
    from springboard.cluster.serve_endpoint import PLACEMENT_FILE, EndpointPlacement, endpoint_dir
    from springboard.store import endpoint_records

    out = []
    for row in endpoint_records.list_all():
        path = endpoint_dir(row["name"]) / PLACEMENT_FILE
        if not path.exists():
            continue
        where = EndpointPlacement.model_validate_json(path.read_text())
        if where.cluster == address:
            out.append(
                PlacedJob(
                    id=row["name"],
                    kind="endpoint",
                    status=str(row["status"]),
                    model_id=row["model_id"],
                    instance_count=where.instance_count,
                )
            )
    return out


def status(address: str) -> ClusterStatus:
    """The cluster's nodes and Springboard's work on it."""
    with connected(address) as ray:
        per_node = _available_per_node()
        nodes = [_node(raw, per_node.get(raw["NodeID"], {})) for raw in ray.nodes()]
        version = ray.__version__
    return ClusterStatus(
        address=address,
        ray_version=version,
        nodes=sorted(nodes, key=lambda n: (not n.head, not n.alive, n.address)),
        jobs=placed_jobs(address),
    )


def _available_per_node() -> dict[str, dict[str, float]]:
    """Each node's free resources (Ray keeps them per node under the GCS's `node:` keys)."""
    try:
        from ray._private.state import available_resources_per_node

        raw = available_resources_per_node()
    except ImportError:  # a Ray without it (a private module): in-use figures stay 0
        return {}
    return {node_id: dict(resources) for node_id, resources in raw.items()}
