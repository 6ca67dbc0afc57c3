"""Submitting a training job: everything is checked before the job exists — model,
EULA, hyperparameters (every error at once), GPU-only options, the data's format and
amount (`minimums`), where a copy of the result goes — so a job that starts can train.
The work itself is `trainer.run`. The result is registered as `<base-id>-ft-<name>`;
without a name, `<base-id>-ft-<the job id's random part>`.

Data channels (`train`, `validation`) and `output` are locations: local paths, `file://`
URIs or any fsspec URL such as `s3://bucket/prefix/` (`artifacts.storage`). The
fine-tuned model is always saved under `$SPRINGBOARD_HOME/models/` and registered; with
`output`, its files are also uploaded to `<output>/<model-id>/` when training ends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from springboard.artifacts import storage
from springboard.catalog import Catalog, require_eula
from springboard.catalog.hyperparameters import validate
from springboard.errors import Issue, ValidationError
from springboard.jobs import service
from springboard.jobs.models import Job
from springboard.training import minimums
from springboard.training.config import TrainingConfig
from springboard.training.distributed import placement
from springboard.training.trainer import fine_tuned_id

NAME_PATTERN = re.compile(r"[a-z0-9](-*[a-z0-9]){0,40}")  # the whole name: fullmatch


def submit(
    model_id: str,
    *,
    train: str,
    validation: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    version: str = "*",
    name: str | None = None,
    accept_eula: bool = False,
    output: str | None = None,
    launch: bool = True,
    archive: str | None = None,
    compress_archive: bool = True,
    cluster: str | None = None,
    checkpoint_uri: str | None = None,
) -> Job:
    """`checkpoint_uri` (a folder every node reaches: a shared path, `s3://...`): each
    checkpoint is also copied there, and a newer one found there is resumed from
    (`training.checkpoint_sync`; the managed hub's `checkpoint_s3_uri`). `archive` (a folder, as the managed hub's `output_path`): the result is also
    written to `<archive>/<job name>/output/model.tar.gz` (`model/`, unpacked, without
    `compress_archive`) by `artifacts.model_archive`. `cluster` (else
    SPRINGBOARD_RAY_ADDRESS): train there under Ray Train, on `instance_count` workers
    (a hyperparameter every model takes; `training.distributed`)."""
    spec = Catalog.load().get(model_id, version)
    require_eula(spec, accept_eula)
    values, where = placement(hyperparameters or {}, cluster)
    hp = validate(spec, values)
    issues = []
    for h in spec.hyperparameters:
        if h.gpu_only and hp.get(h.name) not in (None, False, h.default):
            import torch

            if not torch.cuda.is_available():
                issues.append(
                    Issue(
                        h.name,
                        "needs a GPU, and this machine has none",
                        hp[h.name],
                        f"leave {h.name} at {h.default}",
                    )
                )
    if hp.get("int8_quantization") and not issues:
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            issues.append(
                Issue(
                    "int8_quantization",
                    "needs the bitsandbytes package",
                    True,
                    "pip install bitsandbytes, or leave int8_quantization at false",
                )
            )
        elif hp.get("peft_type") != "lora":
            issues.append(
                Issue(
                    "int8_quantization",
                    "8-bit weights can only be trained through LoRA adapters",
                    True,
                    "set the hyperparameter peft_type=lora",
                )
            )
    job_id = service.new_id("training")
    if name is None:  # the model is `<base>-ft-<the id's random part>`, not `-ft-ft-...`
        name, model_name = job_id, job_id.split("-", 1)[1]
    else:
        model_name = name
    model_id = fine_tuned_id(spec.id, model_name)
    if not NAME_PATTERN.fullmatch(name):
        issues.append(
            Issue(
                "name",
                f"{name!r} is not a valid job name",
                name,
                "use lowercase letters, digits and hyphens (it becomes part of the model id)",
            )
        )
    elif model_id in Catalog.load().ids():
        issues.append(
            Issue(
                "name",
                f"model {model_id} exists already",
                name,
                "pick another name",
            )
        )
    if output is not None:
        try:
            storage.require_writable(output, "output")
        except ValidationError as exc:
            issues += exc.issues
    if checkpoint_uri is not None:
        try:
            storage.require_writable(checkpoint_uri, "checkpoint_uri")
        except ValidationError as exc:
            issues += exc.issues
        if not storage.is_remote(checkpoint_uri):  # workers run elsewhere: no relative path
            checkpoint_uri = str(storage.local_path(checkpoint_uri).resolve())
    if issues:
        raise ValidationError(issues, context="cannot start training")
    config = TrainingConfig.from_hyperparameters(hp)
    minimums.require(
        config,
        minimums.measure(spec, config, train, "train"),
        minimums.measure(spec, config, validation, "validation", template_from=train)
        if validation
        else None,
        block=config.input_length(spec.context_length),
    )
    settings = {"train": train, "validation": validation, "hyperparameters": hp}
    if where.cluster is not None:  # trainer.run hands such a job to training.distributed
        settings.update(where.model_dump())
    if checkpoint_uri is not None:
        settings["checkpoint_uri"] = checkpoint_uri
    outputs = {"model_id": model_id}
    if output is not None:
        settings["output"] = outputs["uri"] = storage.join(output, model_id)
    if archive is not None:  # checked like `output` (the bucket exists / the folder is made)
        storage.require_writable(archive, "archive")
        packed = storage.join(archive, f"{name}/output/model")
        packed = f"{packed}.tar.gz" if compress_archive else f"{packed}/"
        settings["archive"] = outputs["archive"] = packed
    return service.create(
        kind="training",
        name=name,
        model_id=spec.id,
        model_version=spec.version,
        inputs={"train": train, "validation": validation},
        outputs=outputs,
        settings=settings,
        job_id=job_id,
        launch=launch,
    )
