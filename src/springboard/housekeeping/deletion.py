"""Delete one ended job, or one fine-tuned model, with the files Springboard keeps for it.

`delete_job` removes an ended job's record and its folder under home (log, metrics,
checkpoints, staging); the outputs the user asked for and a model the job registered
stay, and the result says where. `delete_model` removes a registered (fine-tuned) model's
record and its files under `models/`; catalog models are refused, and so is a model a
live endpoint serves. Afterwards the job's name, or the model's id, may be used again.

Order, so a crash mid-delete leaves what `prune` finishes: the record goes first (for a
job, a compare-and-set on its ended status, so a job resumed meanwhile is not touched),
then the files. A crash in between leaves a folder with no record, which `prune` removes
as an orphan; the other order could leave a record whose files are gone (a registered
model that cannot load, a job that cannot resume).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from springboard.config import get_settings
from springboard.errors import ConflictError, NotFoundError
from springboard.housekeeping import layout
from springboard.jobs.states import TERMINAL, JobStatus

ENDED = tuple(status.value for status in JobStatus if status in TERMINAL)


class Removed(BaseModel):
    what: str = Field(description="What the path held, e.g. `job folder`, `model files`.")
    path: str
    bytes: int = Field(description="Bytes freed.")


class Kept(BaseModel):
    what: str
    where: str = Field(description="A path, a location or a model id.")
    note: str = Field(description="Why it stays, and how to remove it if wanted.")


class JobDeletion(BaseModel):
    """What `delete_job` removed and what it left."""

    id: str
    kind: str
    name: str
    status: str
    removed: list[Removed]
    kept: list[Kept]
    bytes_freed: int


class ModelDeletion(BaseModel):
    """What `delete_model` removed and what it left."""

    id: str
    versions: list[str]
    removed: list[Removed]
    kept: list[Kept]
    bytes_freed: int


def _job_row(job_id: str) -> dict[str, Any]:
    """The job's record, by its id or a unique prefix of it (`jobs.service.resolve_id`)."""
    from springboard.jobs import service
    from springboard.store import job_records

    full = service.resolve_id(job_id)
    row = job_records.get(full)
    if row is None:  # deleted since it was resolved
        raise NotFoundError(f"no job '{job_id}'", field="job_id", value=job_id)
    return row


def _kept_for_job(row: dict[str, Any]) -> list[Kept]:
    from springboard.store import registered_models

    kept: list[Kept] = []
    outputs = row.get("outputs") or {}
    if outputs.get("dir"):
        kept.append(Kept(what="outputs", where=str(outputs["dir"]), note="yours: not deleted"))
    model_id = outputs.get("model_id") or (row.get("counts") or {}).get("model_id")
    if row["kind"] == "training" and model_id and registered_models.versions_of(model_id):
        kept.append(
            Kept(
                what="model",
                where=model_id,
                note=f"registered by this job: delete it with `springboard models delete {model_id}`",
            )
        )
    if row["kind"] == "training" and outputs.get("uri"):
        kept.append(Kept(what="model copy", where=str(outputs["uri"]), note="yours: not deleted"))
    return kept


def delete_job(job_id: str) -> JobDeletion:
    """Delete an ended job: its record, then its folder under home (see the module
    docstring for the order). A job still running is refused: stop it first."""
    from springboard.jobs import scheduler
    from springboard.store import job_records

    row = scheduler.reconcile(_job_row(job_id))  # a job whose worker died shows its end
    job_id = row["id"]
    if row["status"] not in ENDED:
        raise ConflictError(
            f"job {job_id} is {row['status']}; only an ended job can be deleted "
            f"({', '.join(ENDED)})",
            field="job_id",
            value=job_id,
            fix=f"stop it first with `springboard jobs stop {job_id}`, then delete it",
        )
    kept = _kept_for_job(row)
    if not job_records.delete_if_status(job_id, ENDED):
        current = (job_records.get(job_id) or {}).get("status")
        raise ConflictError(
            f"job {job_id} changed while it was being deleted (now {current})",
            field="job_id",
            value=job_id,
            fix="look at it with `springboard jobs describe`, then try again",
        )
    home = get_settings().home
    folder = layout.job_folder(home, job_id)
    removed = [Removed(what="job folder", path=str(folder), bytes=layout.remove(home, folder))]
    return JobDeletion(
        id=job_id,
        kind=row["kind"],
        name=row["name"],
        status=row["status"],
        removed=removed,
        kept=kept,
        bytes_freed=sum(r.bytes for r in removed),
    )


def _refuse_unregistered(model_id: str) -> None:
    """Raise the right error for an id that no training job registered."""
    import difflib

    from springboard.catalog.registry import file_specs
    from springboard.store import registered_models

    for spec in file_specs():
        if model_id == spec.id or model_id in spec.aliases:
            raise ConflictError(
                f"{spec.id} is a catalog model ({spec.source.describe()}); only fine-tuned "
                "models, registered by a training job, can be deleted",
                field="model_id",
                value=model_id,
                fix="a catalog entry comes from a spec file; weights in the Hugging Face "
                "cache are managed with `hf cache` tools",
            )
    registered = sorted({spec["id"] for spec in registered_models.list_registered()})
    close = difflib.get_close_matches(model_id, registered, n=3)
    raise NotFoundError(
        f"no fine-tuned model '{model_id}'",
        field="model_id",
        value=model_id,
        fix=f"did you mean {', '.join(close)}?"
        if close
        else (
            "fine-tuned models: " + ", ".join(registered) if registered else "none is registered"
        ),
    )


def _refuse_if_served(model_id: str) -> None:
    from springboard.serving import endpoints

    live = [
        e.name
        for e in endpoints.list_endpoints()  # reconciled: a dead server shows Failed
        if e.model_id == model_id and e.status in endpoints.LIVE_STATUSES
    ]
    if live:
        raise ConflictError(
            f"{model_id} is served by endpoint{'s' if len(live) > 1 else ''} {', '.join(live)}",
            field="model_id",
            value=model_id,
            fix="delete the endpoint first: "
            + "; ".join(f"`springboard endpoints delete {name}`" for name in live),
        )


def _model_folders(home: Path, model_id: str, specs: list[dict[str, Any]]) -> list[Path]:
    folders = [layout.model_folder(home, model_id)]
    for spec in specs:
        path = (spec.get("source") or {}).get("path")
        if path and Path(path) not in folders:
            folders.append(Path(path))
    return folders


def delete_model(model_id: str) -> ModelDeletion:
    """Delete a fine-tuned model: every version's record, then its files under
    `models/` (weights, tokenizer, adapter). Catalog models and models a live endpoint
    serves are refused."""
    from springboard.store import job_records, registered_models

    specs = registered_models.versions_of(model_id)
    if not specs:
        _refuse_unregistered(model_id)
    _refuse_if_served(model_id)
    home = get_settings().home
    registered_models.unregister(model_id)
    removed: list[Removed] = []
    kept: list[Kept] = []
    models_root = home / layout.MODELS
    for folder in _model_folders(home, model_id, specs):
        if folder.is_relative_to(models_root) and folder != models_root:
            if folder.exists() or folder.is_symlink():
                removed.append(
                    Removed(what="model files", path=str(folder), bytes=layout.remove(home, folder))
                )
        else:
            kept.append(
                Kept(
                    what="model files",
                    where=str(folder),
                    note="outside SPRINGBOARD_HOME/models: not deleted",
                )
            )
    compiled = home / layout.COMPILED / model_id  # its compiled variants (springboard.compiled)
    if compiled.is_dir():
        removed.append(
            Removed(
                what="compiled variants", path=str(compiled), bytes=layout.remove(home, compiled)
            )
        )
    for job_id in {(s.get("lineage") or {}).get("job_id") for s in specs} - {None}:
        job = job_records.get(str(job_id))
        if job is not None:
            kept.append(
                Kept(
                    what="training job",
                    where=job["id"],
                    note=f"keeps its name {job['name']!r} until it is deleted: "
                    f"`springboard jobs delete {job['id']}`",
                )
            )
            if (job.get("outputs") or {}).get("uri"):
                kept.append(
                    Kept(what="model copy", where=job["outputs"]["uri"], note="yours: not deleted")
                )
    return ModelDeletion(
        id=model_id,
        versions=sorted(str(s.get("version")) for s in specs),
        removed=removed,
        kept=kept,
        bytes_freed=sum(r.bytes for r in removed),
    )
