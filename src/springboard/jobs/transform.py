"""Batch transform: run a model over JSON Lines (or text) files with no endpoint kept up.

`submit` checks everything it can before the job exists (model, EULA, weights, locations,
HYPER_PARAMS, options) and records a `transform` job; `run` is the worker's side: it
loads the model once and runs the shared batch pipeline (`batch`) with the transform
codec (`transform_codec`), writing `NAME.out` — one line per input line, same order,
each with the record's id and `generated_texts` or an `error`. Input and output are
local paths, `file://` URIs or any fsspec URL such as `s3://bucket/prefix/`
(`batch_locations` says how they are checked, read and written, and which files of an
input folder are read). An output folder that already holds `*.out` files is refused
unless `overwrite` (a file of the same name is then replaced, others are left); a resumed
job writes on into its own output.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pydantic
from pydantic import ConfigDict, Field

from springboard.artifacts import storage
from springboard.artifacts.locations import LocationPolicy
from springboard.catalog import Catalog, require_eula
from springboard.compiled.quantize import Quantize
from springboard.errors import ConflictError, Issue, ValidationError, issues_from_pydantic
from springboard.jobs import batch_locations, service
from springboard.jobs.batch import zero_counts
from springboard.jobs.batch_locations import BatchLocations, OutputFolder
from springboard.jobs.lines import count_records
from springboard.jobs.models import Job
from springboard.jobs.paths import job_dir
from springboard.jobs.placement import ClusterPlacement, placement, run_batch
from springboard.jobs.transform_codec import (
    CONTENT_TYPES,
    TransformCodec,
    parse_hyper_params,
)
from springboard.jobs.worker import JobContext, Outcome
from springboard.options import JSONLINES, TransformOptions, default_of, field_of
from springboard.prompting.template import Prompter

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ENV_KEYS = (
    "HYPER_PARAMS",
    "OPTION_DTYPE",
    "OPTION_N_POSITIONS",
    "OPTION_BACKEND",
    "OPTION_QUANTIZE",
)
DEFAULT_BATCH_SIZE = default_of(TransformOptions, "batch_size")  # options.py says why 64


class TransformSettings(BatchLocations, ClusterPlacement):
    """Everything a transform job needs, as recorded with it."""

    model_config = ConfigDict(extra="forbid")

    content_type: Literal["application/jsonlines", "text/plain"] = field_of(
        TransformOptions, "content_type"
    )
    batch_size: int = field_of(TransformOptions, "batch_size")
    max_payload_mb: float = field_of(TransformOptions, "max_payload_mb")
    hyper_params: dict[str, Any] = Field(default_factory=dict)
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"
    n_positions: int | None = Field(None, gt=0)
    backend: Literal["torch", "ctranslate2", "auto"] = "torch"
    quantize: Quantize = None  # ctranslate2's; checked against what this machine runs
    model_dir: str | None = None
    prompt: dict[str, Any] | None = Field(
        None, description="A prompt template and its examples (Prompter.to_dict())."
    )
    keep_prompt: bool = False


def submit(
    model_id: str,
    *,
    input: str,
    output: str,
    version: str = "*",
    env: dict[str, str] | None = None,
    content_type: str = default_of(TransformOptions, "content_type"),
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_payload_mb: float = default_of(TransformOptions, "max_payload_mb"),
    name: str | None = None,
    accept_eula: bool = False,
    model_dir: str | None = None,
    prompter: Prompter | None = None,
    keep_prompt: bool = False,
    overwrite: bool = False,
    policy: LocationPolicy | None = None,
    launch: bool = True,
    cluster: str | None = None,
    instance_count: int = 1,
    cpus_per_instance: float = 1.0,
) -> Job:
    """Validate a transform request and start it as a job. With a `prompter`, records are
    fields rendered through its template (JSON Lines only). `policy` says where `input`
    and `output` may point (an HTTP caller: `LocationPolicy.http()`, as for invocation
    jobs); by default anywhere the user can read and write. An `output` holding results
    of an earlier job (`*.out`) is refused unless `overwrite`."""
    from springboard.artifacts import resolve_model_dir

    env = dict(env or {})
    policy = policy or LocationPolicy.local_user()
    spec = Catalog.load().get(model_id, version)
    require_eula(spec, accept_eula)
    issues = [
        Issue("env", f"unknown variable {key}", key, "allowed: " + ", ".join(ENV_KEYS))
        for key in env
        if key not in ENV_KEYS
    ]
    if name is not None and not NAME_PATTERN.fullmatch(name):
        issues.append(
            Issue(
                "name",
                f"{name!r} is not a valid job name",
                name,
                "use 1-63 letters, digits and hyphens",
            )
        )
    if content_type not in CONTENT_TYPES:
        issues.append(
            Issue(
                "content_type",
                f"'{content_type}' is not supported",
                content_type,
                "use " + " or ".join(CONTENT_TYPES),
            )
        )
    if prompter is not None and content_type != JSONLINES:
        issues.append(
            Issue(
                "content_type",
                "a prompt template needs JSON Lines records (objects holding its fields)",
                content_type,
                f"use {JSONLINES}",
            )
        )
    if issues:
        raise ValidationError(issues, context="cannot start the transform")
    hyper = parse_hyper_params(env.get("HYPER_PARAMS"), spec.task)
    where = placement(cluster, instance_count, cpus_per_instance=cpus_per_instance)
    try:
        settings = TransformSettings(
            output_dir="",
            content_type=content_type,
            batch_size=batch_size,
            max_payload_mb=max_payload_mb,
            hyper_params=hyper,
            dtype=env.get("OPTION_DTYPE", "fp32").lower(),
            n_positions=env.get("OPTION_N_POSITIONS"),
            backend=env.get("OPTION_BACKEND", "torch").lower(),
            quantize=env.get("OPTION_QUANTIZE"),
            model_dir=model_dir,
            keep_prompt=keep_prompt,
            prompt=prompter.to_dict() if prompter is not None else None,
            **where.model_dump(),
        )
    except pydantic.ValidationError as exc:
        raise ValidationError(
            issues_from_pydantic(exc), context="cannot start the transform"
        ) from None
    checked, location_issues = batch_locations.check(
        input, output, policy=policy, input_field="input", output_field="output"
    )
    if checked is None:
        raise ValidationError(location_issues, context="cannot start the transform")
    earlier = [] if overwrite else batch_locations.earlier_results(checked)
    if earlier:
        shown = ", ".join(earlier[:3]) + (
            f" and {len(earlier) - 3} more" if len(earlier) > 3 else ""
        )
        raise ConflictError(
            f"{output} holds results of an earlier job ({shown})",
            field="output",
            value=output,
            fix="pass `overwrite` to replace them, or name another `output`",
        )
    resolve_model_dir(spec, model_dir=model_dir)  # missing weights fail now, not in the worker
    job_id = service.new_id("transform")
    locations = batch_locations.settle(checked, job_dir=lambda: job_dir(job_id))
    settings = settings.model_copy(update=locations.model_dump())
    remote_input = any(storage.is_remote(f) for f in locations.files) or not locations.files
    total = 0 if remote_input else count_records(locations.files)  # remote: the worker counts
    return service.create(
        kind="transform",
        name=name,
        model_id=spec.id,
        model_version=spec.version,
        inputs={"uri": input, "files": settings.files, "skipped": settings.skipped_inputs},
        outputs={
            "uri": output,
            "dir": batch_locations.final_folder(locations),
            "files": batch_locations.final_files(locations),
        },
        settings=settings.model_dump(),
        launch=launch,
        job_id=job_id,
        counts=zero_counts(total),
    )


def run(ctx: JobContext) -> Outcome:
    """The worker's side: load the model once, then the shared batch pipeline."""
    from springboard.inference import LoadOptions

    s = TransformSettings.model_validate(ctx.row["settings"])
    files = batch_locations.input_files(s, "input")
    output = OutputFolder(s, "output")
    options = LoadOptions(
        dtype=s.dtype,
        context_length=s.n_positions,
        max_batch_size=s.batch_size,
        backend=s.backend,
        quantize=s.quantize,
        parallel_batches=True,
    )
    max_bytes = int(s.max_payload_mb * 1024 * 1024)
    prompter = Prompter.from_dict(s.prompt) if s.prompt else None

    def make_codec(generator: Any) -> TransformCodec:  # here, or in each actor on a cluster
        return TransformCodec(
            generator,
            content_type=s.content_type,
            hyper=s.hyper_params,
            max_bytes=max_bytes,
            keep_prompt=s.keep_prompt,
            prompter=prompter,
        )

    return run_batch(
        ctx,
        s,
        make_codec=make_codec,
        model_dir=s.model_dir,
        options=options,
        files=files,
        output=output,
        batch_size=s.batch_size,
        max_record_bytes=max_bytes,
    )
