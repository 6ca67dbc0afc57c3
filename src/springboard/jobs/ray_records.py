"""A batch job's records on a Ray cluster: Ray Data over an actor pool of Generators.

`run_on_cluster` is the worker's side of a batch job placed on a cluster: the worker
process joins the cluster as its driver (and leaves it however the job ends), and runs
the one `BatchRunner` with a `RayMapper` in place of the local one. The runner still
reads the input, writes the output lines durably, checkpoints, counts, stops and resumes;
only `process_records` (decode, plan, generate, encode) runs on the cluster.

`RayMapper.map` turns the lines of one input file still to do into a Ray dataset, one
block per batch, maps it with `map_batches` over `instance_count` actors (each loads one
copy of the model, with the job's own codec, and uses one torch thread per CPU it
reserves), and yields the results back in input order (`preserve_order`: Ray Data
otherwise returns blocks as they finish). Ray restarts an actor whose process or node died
and runs its batch again; the runner writes a batch only once it is back, so every record
lands once.

What it does not do: read the input on the cluster's nodes (the driver reads it, so any
location the local path reads works, and the lines of the file in progress are held in
Ray's object store), or stream a file's lines into the pool before it is read whole.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from springboard.jobs.batch import RESULT_KEYS, BatchRunner, Mapped, process_records
from springboard.jobs.lines import Line, Oversized
from springboard.jobs.placement import ClusterPlacement, MakeCodec
from springboard.jobs.worker import JobContext, Outcome

log = logging.getLogger("springboard.jobs")


@dataclass(frozen=True)
class ModelRecipe:
    """What an actor needs to load the job's model: its spec, the directory of its files
    (resolved by the driver; on a cluster it must be a path every node sees), and the
    load options."""

    spec: Any
    model_dir: str
    options: Any

    def load(self) -> Any:
        from springboard.inference.generator import create_generator

        return create_generator(self.spec, self.model_dir, self.options)


@dataclass(frozen=True)
class ModelOnly:
    """The driver's stand-in for a Generator: codecs built on it may read `spec` (to name
    the model, or for the manifest) but never run a record (the actors do)."""

    spec: Any


class RecordActor:
    """One model copy on the cluster: maps a block of lines to their output lines."""

    def __init__(
        self, recipe: ModelRecipe, make_codec: MakeCodec, file_name: str, threads: int
    ) -> None:
        import ray
        import torch

        torch.set_num_threads(threads)
        self.node = ray.get_runtime_context().get_node_id()
        self.generator = recipe.load()
        self.codec = make_codec(self.generator)
        self.file_name = file_name

    def __call__(self, rows: dict[str, Any]) -> dict[str, list[Any]]:
        lines = [
            Line(int(index), bytes(data) if oversized < 0 else Oversized(int(oversized)), int(end))
            for index, data, oversized, end in zip(
                rows["index"], rows["data"], rows["oversized"], rows["end"], strict=True
            )
        ]
        counts = dict.fromkeys(RESULT_KEYS, 0)
        out = process_records(self.codec, self.generator, lines, self.file_name, counts)
        # a block's counts ride on its first row: summed over any rows, they stay exact
        zeros = [0] * (len(out) - 1)
        return {
            "line": [json.dumps(line, ensure_ascii=False) for line in out],
            "end": [line.end for line in lines],
            "node": [self.node] * len(out),
            **{key: [counts[key], *zeros] for key in RESULT_KEYS},
        }


def _row(line: Line) -> dict[str, Any]:
    oversized = line.data.size if isinstance(line.data, Oversized) else -1
    data = b"" if isinstance(line.data, Oversized) else line.data
    return {"index": line.index, "data": data, "oversized": oversized, "end": line.end}


def _spread() -> dict[str, Any]:
    """Each copy on another node while there are nodes (Ray packs them otherwise)."""
    return {"scheduling_strategy": "SPREAD"}


class RayMapper:
    """Maps each file's records on the connected cluster, in input order."""

    def __init__(
        self,
        *,
        recipe: ModelRecipe,
        make_codec: MakeCodec,
        where: ClusterPlacement,
        batch_size: int,
    ) -> None:
        self.recipe, self.make_codec, self.where = recipe, make_codec, where
        self.batch_size = batch_size

    def map(self, batches: Iterator[list[Line]], file_name: str) -> Iterator[Mapped]:
        import ray.data

        rows = [_row(line) for batch in batches for line in batch]
        if not rows:
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        # a block per batch, as the local path runs them; a file of fewer batches than
        # instances is split evenly over the instances instead, so none stands idle
        size = min(self.batch_size, math.ceil(len(rows) / self.where.instance_count))
        blocks = math.ceil(len(rows) / size)
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            RecordActor,
            fn_constructor_args=(
                self.recipe,
                self.make_codec,
                file_name,
                max(1, int(self.where.cpus_per_instance)),
            ),
            batch_size=size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.where.instance_count),
            num_cpus=self.where.cpus_per_instance,
            num_gpus=self.where.gpus_per_instance or None,
            ray_remote_args_fn=_spread,
        )
        log.info(
            "%s: %d records in %d blocks over %d Ray actors",
            file_name,
            len(rows),
            blocks,
            self.where.instance_count,
        )
        nodes: Counter[str] = Counter()
        for done in dataset.iter_batches(batch_size=size, batch_format="numpy"):
            nodes.update(str(node) for node in done["node"])
            yield Mapped(
                lines=[json.loads(text) for text in done["line"]],
                counts={key: int(done[key].sum()) for key in RESULT_KEYS},
                records=len(done["line"]),
                input_end=int(done["end"][-1]),
            )
        log.info(
            "%s: records per node: %s",
            file_name,
            ", ".join(f"{node[:12]} {count}" for node, count in nodes.most_common()),
        )


def run_on_cluster(
    ctx: JobContext,
    where: ClusterPlacement,
    *,
    make_codec: MakeCodec,
    model_dir: str | None,
    options: Any,
    **runner: Any,
) -> Outcome:
    """The job's records on the cluster at `where.cluster`, through the one `BatchRunner`;
    this process is the cluster's driver until the job ends."""
    from springboard.artifacts import resolve_model_dir
    from springboard.catalog import Catalog
    from springboard.cluster import connected

    assert where.cluster is not None  # run_batch sends only placed jobs here
    spec = Catalog.load().get(ctx.row["model_id"], ctx.row["model_version"])
    recipe = ModelRecipe(spec, str(resolve_model_dir(spec, model_dir=model_dir)), options)
    started = time.monotonic()
    with connected(where.cluster):
        ctx.metric("cluster_connect_seconds", round(time.monotonic() - started, 3))
        log.info(
            "on the Ray cluster at %s: %d instances, %g CPUs and %g GPUs each",
            where.cluster,
            where.instance_count,
            where.cpus_per_instance,
            where.gpus_per_instance,
        )
        mapper = RayMapper(
            recipe=recipe, make_codec=make_codec, where=where, batch_size=runner["batch_size"]
        )
        return BatchRunner(
            ctx, codec=make_codec(ModelOnly(spec)), generator=None, mapper=mapper, **runner
        ).run()
