"""Where a batch job's records run: on this machine (the default) or on a Ray cluster.

`ClusterPlacement` is the part of a batch kind's recorded settings that says so (the
cluster's address and how many Generator copies, `instance_count`, with the CPUs and
GPUs each takes); `placement` checks a request's values when the job is submitted
(`ray` installed, the address well formed). `run_batch` is the one entry every batch kind's
worker side calls: locally it loads the Generator here and runs `BatchRunner` as ever; on
a cluster it hands the same runner a Ray mapper (`ray_records`), so the writer,
checkpoints, counts, stop and resume are the same code either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from springboard.errors import ClientError
from springboard.jobs.batch import BatchRunner, RecordCodec, load_generator
from springboard.jobs.worker import JobContext, Outcome

MakeCodec = Callable[[Any], RecordCodec]


class ClusterPlacement(BaseModel):
    """Where a batch job runs, as recorded with it."""

    model_config = ConfigDict(extra="forbid")

    cluster: str | None = Field(
        None,
        description="Ray cluster address (host:port, ray://host:port or auto); None: this machine.",
    )
    instance_count: int = Field(
        1, ge=1, le=1024, description="Generator copies (Ray actors) the records are spread over."
    )
    cpus_per_instance: float = Field(1.0, gt=0, description="CPUs Ray reserves for each copy.")
    gpus_per_instance: float = Field(0.0, ge=0, description="GPUs Ray reserves for each copy.")


def placement(
    cluster: str | None,
    instance_count: int = 1,
    *,
    cpus_per_instance: float = 1.0,
    gpus_per_instance: float = 0.0,
) -> ClusterPlacement:
    """A submitted job's placement, checked: the cluster named (or SPRINGBOARD_RAY_ADDRESS),
    `ray` importable when there is one, and more than one instance only on a cluster."""
    from springboard.cluster import address_of, require_ray

    address = address_of(cluster)
    if address is None and instance_count != 1:
        raise ClientError(
            f"instance_count {instance_count} needs a Ray cluster; on this machine a job "
            "runs one Generator",
            field="instance_count",
            value=instance_count,
            fix="name a cluster with `cluster` (or SPRINGBOARD_RAY_ADDRESS), or leave "
            "instance_count at 1",
        )
    if address is not None:
        require_ray()
    return ClusterPlacement(
        cluster=address,
        instance_count=instance_count,
        cpus_per_instance=cpus_per_instance,
        gpus_per_instance=gpus_per_instance,
    )


def run_batch(
    ctx: JobContext,
    where: ClusterPlacement,
    *,
    make_codec: MakeCodec,
    model_dir: str | None,
    options: Any,
    **runner: Any,
) -> Outcome:
    """Run a batch job's records where `where` says, through the one `BatchRunner`.
    `make_codec(generator)` builds the kind's codec (on a cluster: in each actor, beside
    its own Generator); `runner` are the rest of `BatchRunner`'s arguments."""
    if where.cluster is None:
        generator = load_generator(ctx, model_dir=model_dir, options=options)
        return BatchRunner(ctx, codec=make_codec(generator), generator=generator, **runner).run()
    from springboard.jobs.ray_records import run_on_cluster

    return run_on_cluster(
        ctx, where, make_codec=make_codec, model_dir=model_dir, options=options, **runner
    )
