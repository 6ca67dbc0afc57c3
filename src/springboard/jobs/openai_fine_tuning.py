"""OpenAI fine-tuning jobs (`POST /v1/fine_tuning/jobs` and friends) as Springboard
training jobs.

`create` takes OpenAI's request — `model` (a catalog model that supports training),
`training_file` / `validation_file` (uploaded with purpose `fine-tune`),
`hyperparameters` (`n_epochs`, `batch_size`, `learning_rate_multiplier`; or the same under
`method.supervised`), `suffix`, `seed`, `metadata` — maps it onto the model's own
hyperparameters (`epochs` or `epoch`, `batch_size` or `per_device_train_batch_size`,
`learning_rate` = its default times the multiplier, `seed`; chat files set `chat_dataset` and
prompt/completion files `instruction_tuned` on causal models) and submits a training
job. `to_object`, `events` and `checkpoints` show it in OpenAI's shapes;
`fine_tuned_model` is the registered model id, which batches and deployments take.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from springboard.catalog import Catalog
from springboard.errors import ConflictError, Issue, NotFoundError, ValidationError
from springboard.files import service as files
from springboard.jobs import paths, service
from springboard.jobs.models import Job
from springboard.jobs.openai_ids import job_for
from springboard.jobs.pages import page
from springboard.store import job_records

PREFIX = "ftjob-"
HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier")
# OpenAI's name -> the catalog's names for it, by model family.
NAMES = {
    "n_epochs": ("epochs", "epoch"),
    "batch_size": ("batch_size", "per_device_train_batch_size"),
}
STATUSES = {
    "Submitted": "queued",
    "InProgress": "running",
    "Stopping": "cancelled",
    "Stopped": "cancelled",
    "Completed": "succeeded",
    "PartiallyCompleted": "succeeded",
    "Failed": "failed",
    "Expired": "failed",
}


def _hyperparameters(
    spec: Any, given: dict[str, Any] | None, seed: int | None, chat: bool, issues: list[Issue]
) -> dict[str, Any]:
    """The catalog hyperparameters for OpenAI's."""
    known = {h.name: h for h in spec.hyperparameters}
    out: dict[str, Any] = {}
    for key, value in (given or {}).items():
        if key not in HYPERPARAMETERS:
            issues.append(
                Issue(
                    f"hyperparameters.{key}",
                    "is not supported",
                    value,
                    "allowed: " + ", ".join(HYPERPARAMETERS),
                )
            )
            continue
        if value == "auto" or value is None:
            continue
        if key == "learning_rate_multiplier":
            if not isinstance(value, int | float) or value <= 0:
                issues.append(
                    Issue(f"hyperparameters.{key}", "must be a positive number or auto", value)
                )
                continue
            out["learning_rate"] = known["learning_rate"].default * value
            continue
        name = next((n for n in NAMES[key] if n in known), None)
        if name is None:
            issues.append(Issue(f"hyperparameters.{key}", f"{spec.id} has no such setting", value))
        else:
            out[name] = value
    if seed is not None:
        out["seed"] = seed
    if spec.task.value == "text-generation":
        flag = "chat_dataset" if chat else "instruction_tuned"
        if flag in known:
            out[flag] = True
    return out


def _first_line(file_id: str) -> dict[str, Any]:
    for raw in files.content(file_id).splitlines():
        if raw.strip():
            line: dict[str, Any] = json.loads(raw)
            return line
    return {}


def _training_file(file_id: str | None, field: str) -> str | None:
    if file_id is None:
        return None
    try:
        file = files.get(file_id)
    except NotFoundError as exc:
        exc.field = field
        raise
    if file.purpose != "fine-tune":
        raise ValidationError(
            [Issue(field, f"is a {file.purpose} file", file_id, "upload it with purpose fine-tune")]
        )
    return str(files.as_jsonl(file_id))


def create(
    *,
    model: str,
    training_file: str,
    validation_file: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    method: dict[str, Any] | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    metadata: dict[str, str] | None = None,
    accept_eula: bool = False,
) -> dict[str, Any]:
    """Check the request, map it, and submit the training job."""
    from springboard.training import jobs as training_jobs

    issues: list[Issue] = []
    try:
        spec = Catalog.load().get(model)
    except NotFoundError as exc:
        exc.field = "model"
        raise
    if method is not None:
        if method.get("type") != "supervised":
            issues.append(
                Issue("method.type", "only supervised fine-tuning is supported", method.get("type"))
            )
        hyperparameters = {
            **(hyperparameters or {}),
            **((method.get("supervised") or {}).get("hyperparameters") or {}),
        }
    if suffix is not None and (not suffix.replace("-", "").isalnum() or len(suffix) > 40):
        issues.append(Issue("suffix", "must be up to 40 letters, digits and hyphens", suffix))
    train = _training_file(training_file, "training_file")
    validation = _training_file(validation_file, "validation_file")
    chat = "messages" in _first_line(training_file)
    if chat and spec.task.value != "text-generation":
        issues.append(
            Issue(
                "training_file",
                f"holds chat messages; {spec.id} is a {spec.task.value} model",
                training_file,
                "give prompt/completion lines",
            )
        )
    hp = _hyperparameters(spec, hyperparameters, seed, chat, issues)
    if issues:
        raise ValidationError(issues, context="cannot create the fine-tuning job")
    name = f"{suffix}-{secrets.token_hex(3)}" if suffix else None  # None: MODEL-ft-<hex>
    assert train is not None
    job = training_jobs.submit(
        spec.id,
        train=train,
        validation=validation,
        hyperparameters=hp,
        name=name,
        accept_eula=accept_eula,
    )
    row = job_records.get(job.id) or {}
    job_records.update_columns(  # the worker reads only its own keys of the settings
        job.id,
        {
            "settings": {
                **(row.get("settings") or {}),
                "openai": {
                    "training_file": training_file,
                    "validation_file": validation_file,
                    "suffix": suffix,
                    "metadata": metadata,
                    "seed": seed,
                },
            }
        },
    )
    return to_object(service.get(job.id))


def _job(job_id: str) -> Job:
    return job_for(
        job_id,
        prefix=PREFIX,
        kind="training",
        what="fine-tuning job",
        field="fine_tuning_job_id",
        fix="list them with GET /v1/fine_tuning/jobs",
    )


def get(job_id: str) -> dict[str, Any]:
    return to_object(_job(job_id))


def cancel(job_id: str) -> dict[str, Any]:
    job = _job(job_id)
    if job.done:
        raise ConflictError(
            f"fine-tuning job {job_id} has ended ({STATUSES.get(job.status, 'failed')})",
            field="fine_tuning_job_id",
            value=job_id,
        )
    return to_object(service.stop(job.id))


def list_jobs(*, after: str | None = None, limit: int = 20) -> tuple[list[dict[str, Any]], bool]:
    jobs = [
        j for j in reversed(service.list_jobs(kind="training")) if "openai" in (j.settings or {})
    ]
    found, more = page(
        jobs, lambda j: f"{PREFIX}{j.id}", after=after, limit=limit, what="fine-tuning job"
    )
    return [to_object(j) for j in found], more


def _ts(moment: Any) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _openai_hyperparameters(spec_hp: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    epochs = next(
        (spec_hp.get(n, defaults.get(n)) for n in NAMES["n_epochs"] if n in defaults), None
    )
    batch = next(
        (spec_hp.get(n, defaults.get(n)) for n in NAMES["batch_size"] if n in defaults), None
    )
    rate = spec_hp.get("learning_rate", defaults.get("learning_rate"))
    base = defaults.get("learning_rate")
    return {
        "n_epochs": epochs,
        "batch_size": batch,
        "learning_rate_multiplier": round(rate / base, 6) if rate and base else None,
    }


def to_object(job: Job) -> dict[str, Any]:
    """The fine-tuning job object OpenAI's API returns."""
    openai = job.settings["openai"]
    try:
        spec = Catalog.load().get(job.model_id, job.model_version)
        defaults = {h.name: h.default for h in spec.hyperparameters}
    except NotFoundError:
        defaults = {}
    status = STATUSES.get(job.status, "failed")
    hp = _openai_hyperparameters(job.settings.get("hyperparameters") or {}, defaults)
    return {
        "id": f"{PREFIX}{job.id}",
        "object": "fine_tuning.job",
        "model": job.model_id,
        "created_at": _ts(job.created_at),
        "finished_at": _ts(job.ended_at) if job.done else None,
        "fine_tuned_model": (job.outputs or {}).get("model_id") if status == "succeeded" else None,
        "organization_id": "springboard",
        "result_files": [],
        "status": status,
        "validation_file": openai.get("validation_file"),
        "training_file": openai["training_file"],
        "hyperparameters": hp,
        "method": {"type": "supervised", "supervised": {"hyperparameters": hp}},
        "trained_tokens": (job.counts or {}).get("trained_tokens"),
        "error": (
            {"code": "training_failed", "message": job.status_message or "failed", "param": None}
            if status == "failed"
            else None
        ),
        "seed": openai.get("seed")
        if openai.get("seed") is not None
        else (job.settings.get("hyperparameters") or {}).get("seed"),
        "estimated_finish": None,
        "integrations": [],
        "metadata": openai.get("metadata"),
        "user_provided_suffix": openai.get("suffix"),
        "springboard_job_id": job.id,
    }


def _event(
    job: Job, n: int, created: Any, message: str, kind: str = "message", data: Any = None
) -> dict[str, Any]:
    return {
        "object": "fine_tuning.job.event",
        "id": f"ftevent-{job.id}-{n}",
        "created_at": int(created) if isinstance(created, int | float) else _ts(created),
        "level": "error" if "failed" in message.lower() else "info",
        "message": message,
        "data": data,
        "type": kind,
    }


def events(
    job_id: str, *, after: str | None = None, limit: int = 20
) -> tuple[list[dict[str, Any]], bool]:
    """The job's events, newest first: created, started, each logged loss, each checkpoint
    saved, the result."""
    job = _job(job_id)
    out = [_event(job, 0, job.created_at, f"Created fine-tuning job: {PREFIX}{job.id}")]
    if job.started_at is not None:
        out.append(_event(job, 1, job.started_at, "Fine-tuning job started"))
    steps: dict[int, dict[str, Any]] = {}
    saved: list[dict[str, Any]] = []
    for point in paths.read_metrics(job.id):
        if point.get("step") is None:
            continue
        if point.get("metric_name") == "checkpoint":
            saved.append(point)
        elif point.get("metric_name") in ("train_loss", "val_loss"):
            entry = steps.setdefault(
                int(point["step"]), {"step": int(point["step"]), "at": point["timestamp"]}
            )
            entry[point["metric_name"]] = point["value"]
    total = (job.counts or {}).get("total_steps")
    timeline: list[tuple[float, str, str, Any]] = []
    for step, entry in sorted(steps.items()):
        losses = ", ".join(
            f"{k.replace('_', ' ')}={entry[k]:.4f}"
            for k in ("train_loss", "val_loss")
            if k in entry
        )
        data = {k: v for k, v in entry.items() if k != "at"}
        timeline.append((entry["at"], f"Step {step}/{total or '?'}: {losses}", "metrics", data))
    for point in saved:
        message = f"Checkpoint created at step {int(point['step'])}"
        timeline.append((point["timestamp"], message, "message", {"step": int(point["step"])}))
    for n, (at, message, kind, data) in enumerate(sorted(timeline, key=lambda t: t[0]), 2):
        out.append(_event(job, n, at, message, kind, data))
    status = STATUSES.get(job.status, "failed")
    if job.done and job.ended_at is not None:
        n = len(out) + 2
        if status == "succeeded":
            model = (job.outputs or {}).get("model_id")
            out.append(_event(job, n, job.ended_at, f"New fine-tuned model created: {model}"))
            out.append(_event(job, n + 1, job.ended_at, "The job has successfully completed"))
        elif status == "cancelled":
            out.append(_event(job, n, job.ended_at, "The job was cancelled"))
        else:
            out.append(
                _event(job, n, job.ended_at, f"The job failed: {job.status_message or ''}".strip())
            )
    out.reverse()
    return page(out, lambda e: str(e["id"]), after=after, limit=limit, what="event")


def checkpoints(job_id: str) -> list[dict[str, Any]]:
    """The checkpoints the job keeps (`keep_checkpoints`, or while it runs), newest first."""
    job = _job(job_id)
    folder = paths.job_dir(job.id) / "checkpoints"
    found = []
    if folder.is_dir():
        for path in folder.glob("checkpoint-*"):
            step = path.name.removeprefix("checkpoint-")
            if step.isdigit():
                found.append(
                    {
                        "object": "fine_tuning.job.checkpoint",
                        "id": f"ftckpt-{job.id}-{step}",
                        "created_at": int(path.stat().st_mtime),
                        "fine_tuned_model_checkpoint": str(path),
                        "step_number": int(step),
                        "metrics": {},
                        "fine_tuning_job_id": f"{PREFIX}{job.id}",
                    }
                )
    return sorted(found, key=lambda c: -c["step_number"])
