"""A training job on a Ray cluster: the same recipe under Ray Train's `TorchTrainer`, DDP.

`placement` takes the `instance_count` hyperparameter out of a request's values (it says
where the job runs, not how the model trains: no spec lists it and `TrainingConfig`
refuses it) and checks it with the cluster: an integer from 1 to `MAX_WORKERS`, more than
one only with a cluster (`--cluster` or SPRINGBOARD_RAY_ADDRESS), and `ray` installed when
there is a cluster (else `require_ray`'s install error). `training.jobs.submit` records
the result in the job's settings (`cluster`, `instance_count`), where `cluster status`
finds it.

`run_on_cluster` is the job worker's side (`trainer.run` sends a placed job here): this
process joins the cluster as its driver for the job's life and runs `TorchTrainer` with
`instance_count` workers (one CPU each, spread over the nodes; a GPU each and nccl when
the cluster has a GPU per worker, else gloo), one torch thread per worker. Each worker
runs `trainer.fit`, the local recipe unchanged — the HF Trainer sees the process group
Ray set up and trains under DDP, each worker on its share of every batch — with a
`WorkerContext` in place of the job's context:

- **metrics and progress**: only rank 0 reports, and not to the job store (a SQLite file
  on the driver's machine that other nodes cannot reach) but to a `Relay` actor; a thread
  of the driver drains it twice a second and writes the metrics and counts to the job, so
  `train --wait`, `jobs describe` and the metrics stream read as for a local job. The
  losses are each worker's mean averaged over the workers: `trainer.fit` turns off the HF
  Trainer's token averaging under DDP, which multiplied T5's loss by the worker count.
- **log**: rank 0's `springboard.training` messages (the data read, a checkpoint restored
  or resumed from) go through the relay to the job's log, marked `rank 0:`.
- **stop**: the driver passes the job's stop request to the relay; rank 0 reads it and
  broadcasts it to every worker at each step (a one-element collective), so all stop
  after the same step with a checkpoint, as a local job does.
- **checkpoints** are the HF Trainer's, written straight into the job's folder
  (`$SPRINGBOARD_HOME/jobs/ID/checkpoints`): rank 0 the weights and optimizer state,
  every rank its RNG state. `jobs resume` runs the job again and `fit` resumes from the
  newest one, as locally. On several machines that folder is shared when SPRINGBOARD_HOME
  is on a shared volume; else the job's `checkpoint_uri` (`s3://...`) carries them: each
  rank copies its part of every checkpoint there and restores the newest before training
  (`checkpoint_sync`).
- **waiting for CPUs**: when the cluster has fewer CPUs free than workers (an endpoint's
  replicas hold them, another job runs, an autoscaler has yet to add nodes), Ray would
  keep the workers pending without a word, and a stop could not reach workers that never
  started. So the driver waits itself: it logs how many CPUs are free and what
  Springboard runs on the cluster, starts the workers once enough are free, and ends the
  job as stopped if a stop comes first.
- **the result**: rank 0 writes the final weights (LoRA merged; the adapter beside) to
  the job's `final/` folder; the driver saves and registers them as `trainer.finish` does
  for a local job (same id, lineage, `output`/`archive` copies, checkpoint removal).

What it does not do: recover from a worker or
node lost mid-run (Ray Train's `max_failures` is 0: the job fails, and `jobs resume`
continues from the last checkpoint), or shard the model (`enable_fsdp` is not read).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from springboard.errors import Issue, ValidationError
from springboard.jobs.models import checked_counts
from springboard.jobs.states import JobStatus
from springboard.jobs.worker import JobContext, Outcome

log = logging.getLogger("springboard.training")

FIELD = "instance_count"
MAX_WORKERS = 256
POLL_SECONDS = 0.5  # how often the driver drains the relay, and rank 0 reads a stop
WAIT_SECONDS = 2.0  # how often a driver short of free CPUs looks again
FINAL = "final"  # the job's folder where rank 0 leaves the trained weights for the driver


class TrainingPlacement(BaseModel):
    """Where a training job runs, as recorded in its settings."""

    model_config = ConfigDict(extra="forbid")

    cluster: str | None = Field(None, description="Ray cluster address; None: this machine.")
    instance_count: int = Field(1, ge=1, le=MAX_WORKERS, description="Ray Train workers (DDP).")


def placement(
    hyperparameters: Mapping[str, Any], cluster: str | None
) -> tuple[dict[str, Any], TrainingPlacement]:
    """The hyperparameters without `instance_count`, and where the job runs: checked
    (an integer 1..MAX_WORKERS; more than one only on a cluster; `ray` installed for one)."""
    from springboard.cluster import address_of, require_ray

    values = dict(hyperparameters)
    raw = values.pop(FIELD, 1)
    count = _count(raw)
    address = address_of(cluster)
    if count is None:
        raise ValidationError(
            [Issue(FIELD, f"must be an integer from 1 to {MAX_WORKERS}; got {raw!r}", raw)],
            context="invalid hyperparameters",
        )
    if address is None and count > 1:
        raise ValidationError(
            [
                Issue(
                    FIELD,
                    f"{count} training workers need a Ray cluster; on this machine a job "
                    "trains in one process",
                    count,
                    "pass --cluster ADDRESS (or set SPRINGBOARD_RAY_ADDRESS), or leave "
                    "instance_count at 1",
                )
            ],
            context="cannot start training",
        )
    if address is not None:
        require_ray()
    return values, TrainingPlacement(cluster=address, instance_count=count)


def _count(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        count = int(str(raw).strip())
    except ValueError:
        return None
    return count if 1 <= count <= MAX_WORKERS else None


# -- on the cluster: the driver's relay ----------------------------------------------------


class Relay:
    """A Ray actor between rank 0 and the driver: events (metrics, counts, the outcome)
    one way, the stop request the other."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.stop = False

    def push(self, event: tuple[Any, ...]) -> None:
        self.events.append(event)

    def drain(self) -> list[tuple[Any, ...]]:
        out, self.events = self.events, []
        return out

    def request_stop(self) -> None:
        self.stop = True

    def stopping(self) -> bool:
        return self.stop


# -- on the cluster: each worker --------------------------------------------------------------


@dataclass
class WorkerContext(JobContext):
    """The job's context inside a Ray Train worker: rank 0 reports through the relay, the
    others keep quiet; stop is decided by rank 0 for all; `dir` is the job's folder."""

    relay: Any = None
    rank: int = 0
    world: int = 1
    base: Path = Path()
    _polled: float = 0.0
    _asked: bool = False

    @property
    def dir(self) -> Path:
        return self.base

    def stop_requested(self) -> bool:
        """Every rank calls this at the same points (each step's end, after training),
        so the broadcast below always meets its partners."""
        if self._stop:
            return True
        import ray
        import torch
        import torch.distributed as dist
        from ray.train.torch import get_device

        if self.rank == 0 and time.monotonic() - self._polled > POLL_SECONDS:
            self._polled = time.monotonic()
            self._asked = bool(ray.get(self.relay.stopping.remote()))
        flag = torch.tensor([int(self._asked)], device=get_device())
        if self.world > 1:
            dist.broadcast(flag, src=0)
        self._stop = bool(flag.item())
        return self._stop

    def save_counts(self, counts: dict[str, Any]) -> None:
        self.counts = checked_counts(self.row["kind"], counts)
        if self.rank == 0:
            self.relay.push.remote(("counts", self.counts))

    def metric(self, name: str, value: float, **extra: Any) -> None:
        if self.rank == 0:
            self.relay.push.remote(("metric", name, value, extra))


class _RelayHandler(logging.Handler):
    """Rank 0's `springboard.training` log records, passed to the driver (INFO and up)."""

    def __init__(self, relay: Any) -> None:
        super().__init__(logging.INFO)
        self.relay = relay

    def emit(self, record: logging.LogRecord) -> None:
        self.relay.push.remote(("log", record.levelno, record.getMessage()))


def _train_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: `trainer.fit` under DDP; rank 0 writes the result's files
    and tells the driver how it ended."""
    import ray
    import ray.train
    import torch

    from springboard.training import trainer

    torch.set_num_threads(config["threads"])
    context = ray.train.get_context()
    relay = config["relay"]
    ctx = WorkerContext(
        job_id=config["job_id"],
        row=config["row"],
        counts=dict(config["counts"]),
        relay=relay,
        rank=context.get_world_rank(),
        world=context.get_world_size(),
        base=Path(config["dir"]),
    )
    if ctx.rank == 0:  # what the recipe logs (data, resuming, ...) reaches the job's log
        logging.getLogger("springboard.training").addHandler(_RelayHandler(relay))
    try:
        fitted = trainer.fit(ctx, spec=config["spec"], base_dir=Path(config["base_dir"]))
    except Exception as exc:  # noqa: BLE001 (our errors do not unpickle across Ray; the reason does)
        reason = f"{type(exc).__name__}: {exc}"
        ray.get(relay.push.remote(("error", ctx.rank, reason)))
        raise RuntimeError(f"training worker {ctx.rank} failed: {reason}") from None
    if ctx.rank != 0:
        return
    if isinstance(fitted, Outcome):
        ray.get(relay.push.remote(("outcome", fitted.status.value, fitted.message)))
        return
    final = Path(config["dir"]) / FINAL
    shutil.rmtree(final, ignore_errors=True)
    model = fitted.model
    if fitted.lora:
        model.save_pretrained(final / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(final / "model", safe_serialization=True)
    fitted.tokenizer.save_pretrained(final / "model")
    done = {
        "final": fitted.final,
        "lineage_only": fitted.lineage_only,
        "lora": fitted.lora,
        "keep_checkpoints": fitted.keep_checkpoints,
        "workers": ctx.world,
    }
    ray.get(relay.push.remote(("fitted", done)))


@dataclass(frozen=True)
class _SavedFiles:
    """A model (or adapter) rank 0 saved, standing in for the model `trainer.finish` saves:
    `save_pretrained` copies its files; `merge_and_unload` is the merged model's files."""

    path: Path
    merged: Path | None = None

    def save_pretrained(self, target: str | Path, **_: Any) -> None:
        shutil.copytree(self.path, target, dirs_exist_ok=True)

    def merge_and_unload(self) -> _SavedFiles:
        return _SavedFiles(self.merged or self.path)


class _TokenizerInModel:
    """The tokenizer's files were saved with the model's, so they are copied with it."""

    def save_pretrained(self, target: str | Path, **_: Any) -> None:
        return None


# -- on the cluster: the driver -------------------------------------------------------------


SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def _worker_env() -> dict[str, str]:
    """Springboard's settings for the workers (the same home and options), but no secret:
    a runtime environment can be read by anyone who can read the cluster's state."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith("SPRINGBOARD_") and not any(word in k for word in SECRET_WORDS)
    }


def _absolute(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The data channels as absolute paths (a worker runs in a folder of Ray's choosing);
    a URL stays as it is."""
    from springboard.artifacts import storage

    return {
        key: str(storage.local_path(value))
        for key in ("train", "validation")
        if (value := settings.get(key)) and not storage.is_remote(value)
    }


def _pump(
    ctx: JobContext, relay: Any, events: list[tuple[Any, ...]], done: threading.Event
) -> None:
    """Until `done`: write rank 0's metrics and counts to the job; pass a stop request on."""
    import ray

    asked = False
    while True:
        finished = done.wait(POLL_SECONDS)
        for event in ray.get(relay.drain.remote()):
            if event[0] == "metric":
                _, name, value, extra = event
                ctx.metric(name, value, **extra)
            elif event[0] == "counts":
                ctx.save_counts({**ctx.counts, **event[1]})
            elif event[0] == "log":
                log.log(event[1], "rank 0: %s", event[2])
            else:
                events.append(event)
        if not asked and ctx.stop_requested():
            asked = True
            relay.request_stop.remote()
            log.info("stop requested: the workers stop after the current step")
        if finished:
            return


def _wait_for_cpus(ctx: JobContext, ray: Any, where: TrainingPlacement) -> bool:
    """Until the cluster has a CPU free for each worker (see the module doc); False when
    the job is stopped first."""
    from springboard.cluster.status import placed_jobs

    assert where.cluster is not None
    waited = False
    while (free := float(ray.available_resources().get("CPU", 0))) < where.instance_count:
        if ctx.stop_requested():
            log.info("stop requested while waiting for CPUs: no worker started")
            _done_waiting(ctx)
            return False
        if not waited:
            total = float(ray.cluster_resources().get("CPU", 0))
            others = [job for job in placed_jobs(where.cluster) if job.id != ctx.job_id]
            log.warning(
                "%d workers need %d free CPUs; of the cluster's %g%s, %g free now%s. The "
                "job waits until they are (`springboard jobs stop %s` ends the wait)",
                where.instance_count,
                where.instance_count,
                total,
                " (too few: nodes must join, an autoscaler's)"
                if total < where.instance_count
                else "",
                free,
                "; Springboard runs there: "
                + ", ".join(
                    f"{job.kind} {job.id} ({job.instance_count} copies, {job.status})"
                    for job in others
                )
                if others
                else "",
                ctx.job_id,
            )
            waited = True
        waiting_for = f"{where.instance_count} free CPUs ({free:g} free)"
        if ctx.counts.get("waiting_for") != waiting_for:  # for `train --wait`, `jobs describe`
            ctx.save_counts({**ctx.counts, "waiting_for": waiting_for})
        time.sleep(WAIT_SECONDS)
    if waited:
        log.info("%g CPUs free: starting the workers", free)
        _done_waiting(ctx)
    return True


def _done_waiting(ctx: JobContext) -> None:
    ctx.save_counts({k: v for k, v in ctx.counts.items() if k != "waiting_for"})


def run_on_cluster(ctx: JobContext) -> Outcome:
    """The training job on the cluster its settings name, `instance_count` workers."""
    from springboard.artifacts import resolve_model_dir
    from springboard.catalog import Catalog
    from springboard.cluster import connected
    from springboard.training import trainer

    settings = ctx.row["settings"]
    row = {**ctx.row, "settings": {**settings, **_absolute(settings)}}
    where = TrainingPlacement(
        cluster=settings["cluster"], instance_count=settings.get("instance_count", 1)
    )
    assert where.cluster is not None  # trainer.run sends only placed jobs here
    spec = Catalog.load().get(ctx.row["model_id"], ctx.row["model_version"])
    base_dir = resolve_model_dir(spec)
    started = time.monotonic()
    with connected(where.cluster) as ray:
        from ray.train import FailureConfig, RunConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        ctx.metric("cluster_connect_seconds", round(time.monotonic() - started, 3))
        resources = ray.cluster_resources()
        gpu = float(resources.get("GPU", 0)) >= where.instance_count
        if not _wait_for_cpus(ctx, ray, where):
            return Outcome(
                JobStatus.STOPPED,
                f"stopped while waiting for {where.instance_count} free CPUs on the cluster",
            )
        relay = ray.remote(num_cpus=0)(Relay).remote()
        log.info(
            "on the Ray cluster at %s: %d Ray Train workers, DDP over %s",
            where.cluster,
            where.instance_count,
            "nccl" if gpu else "gloo",
        )
        from ray.train import ScalingConfig

        run_dir = ctx.dir / "ray"
        job = TorchTrainer(
            _train_worker,
            train_loop_config={
                "job_id": ctx.job_id,
                "row": row,
                "counts": ctx.counts,
                "relay": relay,
                "dir": str(ctx.dir),
                "spec": spec,
                "base_dir": str(base_dir),
                "threads": 1,
            },
            scaling_config=ScalingConfig(
                num_workers=where.instance_count,
                use_gpu=gpu,
                resources_per_worker={"CPU": 1, **({"GPU": 1} if gpu else {})},
                placement_strategy="SPREAD",
            ),
            torch_config=TorchConfig(backend="nccl" if gpu else "gloo"),
            run_config=RunConfig(
                name=f"{ctx.job_id}-{int(time.time())}",
                storage_path=str(run_dir),
                failure_config=FailureConfig(max_failures=0),
                # Ray Train V2's RunConfig (the default here); the stubs name V1's
                worker_runtime_env={"env_vars": _worker_env()},  # type: ignore[call-arg]
            ),
        )
        events: list[tuple[Any, ...]] = []
        done = threading.Event()
        pump = threading.Thread(target=_pump, args=(ctx, relay, events, done), daemon=True)
        pump.start()
        failure: Exception | None = None
        try:
            job.fit()
        except Exception as exc:  # noqa: BLE001 (re-raised below unless a worker said why)
            failure = exc
        finally:
            done.set()
            pump.join()  # every event rank 0 sent is in `events` now
            shutil.rmtree(run_dir, ignore_errors=True)  # Ray Train's own run records
        if failure is not None:
            failed = [event for event in events if event[0] == "error"]
            if not failed:
                raise failure
            log.error("Ray Train failed: %s", failure)
            _, rank, reason = failed[0]
            return Outcome(JobStatus.FAILED, f"training worker {rank} failed: {reason}")
        log.info("Ray Train ran %.1f s", time.monotonic() - started)
    ended = {event[0]: event for event in events}
    if "outcome" in ended:
        _, status, message = ended["outcome"]
        return Outcome(JobStatus(status), message)
    if "fitted" not in ended:
        return Outcome(JobStatus.FAILED, "the Ray Train workers ended without a result")
    done_with = ended["fitted"][1]
    final = ctx.dir / FINAL
    fitted = trainer.Fitted(
        spec=spec,
        model=_SavedFiles(
            final / "adapter" if done_with["lora"] else final / "model", merged=final / "model"
        ),
        tokenizer=_TokenizerInModel(),
        lora=done_with["lora"],
        final=done_with["final"],
        lineage_only={**done_with["lineage_only"], "workers": done_with["workers"]},
        out_dir=ctx.dir / "checkpoints",
        keep_checkpoints=done_with["keep_checkpoints"],
    )
    try:
        return trainer.finish(ctx, fitted)
    finally:
        shutil.rmtree(final, ignore_errors=True)
