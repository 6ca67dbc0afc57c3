"""A training job's checkpoints kept at a shared location too: `checkpoint_uri`, a folder
every node (and the next job) can reach — a local path on a shared volume, `file://`, or
any fsspec URL such as `s3://bucket/prefix/`. SageMaker's `checkpoint_s3_uri`.

- `restore` (before training): when the location holds a newer complete checkpoint than
  the job's own folder (`$SPRINGBOARD_HOME/jobs/ID/checkpoints`), it is copied there, so
  training resumes from it: a job resumed on another node, or a new job given the same
  location (a spot-style restart), continues where the last one left off.
- `publish` (after the trainer saved a checkpoint, before training goes on): its files go
  to `<checkpoint_uri>/checkpoint-N/`, `trainer_state.json` last, so a checkpoint without
  that file is incomplete there as it is locally (`checkpoints.newest`). Under DDP
  (`training.distributed`) rank 0 uploads the weights, optimizer and state, each rank its
  own RNG state, and rank 0 writes `trainer_state.json` once all have (a barrier), so a
  node's folder need not be shared. Checkpoints the trainer no longer keeps are then
  removed from the location.
- `remove` (after success, unless `keep_checkpoints`): the location's checkpoints go, as
  the local ones do.

What it does not do: copy in the background while training runs (an upload is part of
the step that saved), or arbitrate two jobs writing the same location at once.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from springboard.artifacts import storage

log = logging.getLogger("springboard.training")

FIELD = "checkpoint_uri"
STATE = "trainer_state.json"  # the trainer writes it last: its presence means complete
PREFIX = "checkpoint-"


def _step(name: str) -> int | None:
    number = name[len(PREFIX) :] if name.startswith(PREFIX) else ""
    return int(number) if number.isdigit() else None


def _local_steps(out_dir: Path) -> dict[int, Path]:
    """The complete checkpoints in the job's own folder, by step."""
    if not out_dir.is_dir():
        return {}
    found = {_step(p.name): p for p in out_dir.iterdir() if (p / STATE).is_file()}
    return {step: path for step, path in found.items() if step is not None}


def remote_steps(uri: str) -> dict[int, str]:
    """The complete checkpoints at `uri`, by step (their folders' locations)."""
    found = {}
    for name in storage.list_folders(uri, FIELD):
        step = _step(name)
        folder = storage.join(uri, name)
        if step is not None and storage.exists(storage.join(folder, STATE), FIELD):
            found[step] = folder
    return found


def _ranks() -> tuple[int, int, Callable[[], None] | None]:
    """This process's rank, the world size, and a barrier (under DDP; else 0, 1, None)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), dist.barrier
    return 0, 1, None


def restore_all(uri: str, out_dir: Path) -> None:
    """`restore` on every rank: rank 0 first, the others after it (on a folder they share
    they then find the checkpoint there already)."""
    rank, world, barrier = _ranks()
    if rank == 0:
        restore(uri, out_dir)
    if world > 1 and barrier is not None:
        barrier()
    if rank != 0:
        restore(uri, out_dir)


def restore(uri: str, out_dir: Path) -> int | None:
    """Copy the location's newest complete checkpoint into `out_dir` when it is newer than
    the newest there; its step, or None when nothing was copied."""
    remote = remote_steps(uri)
    if not remote:
        return None
    step = max(remote)
    if step <= max(_local_steps(out_dir), default=-1):
        return None
    target = out_dir / f"{PREFIX}{step}"
    partial = out_dir / f".{PREFIX}{step}.part"  # never taken for a checkpoint if cut off
    shutil.rmtree(partial, ignore_errors=True)
    storage.download_tree(remote[step], partial, FIELD)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    log.info("restored %s%d from %s", PREFIX, step, uri)
    return step


def _rng_rank(name: str) -> int | None:
    """The rank of a DDP worker's RNG state file (`rng_state_3.pth`), else None."""
    stem = name.removesuffix(".pth")
    number = stem.removeprefix("rng_state_") if stem != name else ""
    return int(number) if number.isdigit() else None


def publish(checkpoint: Path, uri: str) -> None:
    """Upload the checkpoint the trainer just saved in `checkpoint` (every rank calls it)."""
    rank, world, barrier = _ranks()
    folder = storage.join(uri, checkpoint.name)
    for file in sorted(p for p in checkpoint.rglob("*") if p.is_file()):
        relative = file.relative_to(checkpoint).as_posix()
        owner = (_rng_rank(file.name) or 0) if world > 1 else 0
        if relative == STATE or owner != rank:
            continue
        storage.upload(file, storage.join(folder, relative), FIELD)
    if world > 1 and barrier is not None:
        barrier()  # every rank's files are there before the checkpoint is complete
    if rank != 0:
        return
    storage.upload(checkpoint / STATE, storage.join(folder, STATE), FIELD)
    _prune(uri, keep={*_local_steps(checkpoint.parent), _step(checkpoint.name)})
    log.info("copied %s to %s", checkpoint.name, uri)


def remove(uri: str) -> None:
    """Remove the location's checkpoints (a successful job's, unless kept)."""
    _prune(uri, keep=set())
    log.info("removed the checkpoints in %s", uri)


def _prune(uri: str, keep: set[int | None]) -> None:
    """Remove the checkpoints at `uri` whose steps are not in `keep`."""
    for name in storage.list_folders(uri, FIELD):
        step = _step(name)
        if step is not None and step not in keep:
            storage.remove_tree(storage.join(uri, name), FIELD)
