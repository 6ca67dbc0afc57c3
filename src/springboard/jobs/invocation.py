"""Invocation jobs, Bedrock style: a JSON Lines file of model invocations in, one output
line per record and a manifest of counts out — the job's lifecycle.

`create` validates the request (name, timeout, model, locations, quota, client token) and
records the job; the scheduler starts at most N at once; `get`, `list_jobs`, `stop`,
`wait` and `summary` (the managed service's field names) follow it. The worker's side
(`run`) is the shared batch pipeline (`batch`: streaming, checkpoints, stop, resume,
expiry past `timeoutDurationInHours`) with the Bedrock-shaped record codec
(`invocation_codec`). Output goes to `<output>/<job-id>/NAME.out` plus
`manifest.json.out`.

Locations are local paths, `file://` URIs or any fsspec URL (`s3://...`), checked against
a `LocationPolicy` (HTTP callers: data roots and allowed schemes; the CLI and SDK: any)
by `batch_locations`, which also says how a remote input is streamed and a remote output
written exactly once. A remote location named over HTTP is never opened while the
request is answered: the worker lists, reads and uploads. The record and settings shapes
are `invocation_schema`, ids and ARNs `invocation_ids`; the HTTP shapes live in
`springboard.api`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from springboard.artifacts import storage
from springboard.artifacts.locations import LocationPolicy
from springboard.catalog import Catalog
from springboard.compiled.quantize import backend_issues
from springboard.config import get_settings
from springboard.errors import (
    ConflictError,
    Issue,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from springboard.jobs import batch_locations, service
from springboard.jobs.batch import RecordCodec, zero_counts
from springboard.jobs.batch_locations import OutputFolder, output_name
from springboard.jobs.invocation_codec import InvocationCodec
from springboard.jobs.invocation_ids import ARN_PATTERN, job_arn, new_job_id
from springboard.jobs.invocation_schema import (
    DEFAULT_TIMEOUT_HOURS,
    MAX_TIMEOUT_HOURS,
    MIN_TIMEOUT_HOURS,
    InvocationSettings,
    OpenAIBatch,
)
from springboard.jobs.lines import count_records
from springboard.jobs.models import Job
from springboard.jobs.paths import job_dir
from springboard.jobs.placement import placement, run_batch
from springboard.jobs.states import ACTIVE, TERMINAL, JobStatus
from springboard.jobs.worker import JobContext, Outcome
from springboard.prompting.template import Prompter

__all__ = ["create", "get", "job_arn", "list_jobs", "resolve_id", "run", "stop", "summary", "wait"]

log = logging.getLogger("springboard.jobs")

KIND = "invocation"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
INPUT_FIELD, OUTPUT_FIELD = "inputDataConfig", "outputDataConfig"


def resolve_id(identifier: str) -> str:
    """A job id from its ARN or its bare id."""
    from urllib.parse import unquote

    identifier = unquote(identifier)
    match = ARN_PATTERN.fullmatch(identifier)
    return match.group(1) if match else identifier


# -- lifecycle -----------------------------------------------------------------------------


def create(
    *,
    job_name: str,
    model_id: str,
    input_uri: str,
    output_uri: str,
    timeout_hours: int | None = None,
    client_token: str | None = None,
    role_arn: str | None = None,
    accept_eula: bool = False,
    prompter: Prompter | None = None,
    keep_prompt: bool = False,
    policy: LocationPolicy | None = None,
    launch: bool = True,
    openai: OpenAIBatch | None = None,
    cluster: str | None = None,
    instance_count: int = 1,
    backend: str = "torch",
    quantize: str | None = None,
) -> Job:
    """Validate an invocation job request, record it, and let the scheduler start it.

    With a `prompter`, each record's `modelInput` holds the template's fields (and any
    generation parameters of the completion shape) instead of a prompt. `policy` says where
    the locations may point (HTTP callers: `LocationPolicy.http()`); by default anywhere the
    user can read. A remote location named under the HTTP policy is not opened here (the
    worker lists and reads it); the CLI's and SDK's are listed now, so a missing bucket or
    key fails before the job exists."""
    from springboard.catalog import require_eula

    issues = []
    policy = policy or LocationPolicy.local_user()
    if not isinstance(job_name, str) or not NAME_PATTERN.fullmatch(job_name):
        issues.append(
            Issue(
                "jobName",
                f"{job_name!r} is not a valid job name",
                job_name,
                "use 1-63 letters, digits and hyphens, starting with a letter or digit",
            )
        )
    timeout = DEFAULT_TIMEOUT_HOURS if timeout_hours is None else timeout_hours
    if not isinstance(timeout, int) or not MIN_TIMEOUT_HOURS <= timeout <= MAX_TIMEOUT_HOURS:
        issues.append(
            Issue(
                "timeoutDurationInHours",
                f"must be a whole number of hours from {MIN_TIMEOUT_HOURS} to {MAX_TIMEOUT_HOURS}",
                timeout_hours,
            )
        )
    if client_token is not None and not 1 <= len(client_token) <= 256:
        issues.append(Issue("clientRequestToken", "must be 1-256 characters", client_token))
    checked, location_issues = batch_locations.check(
        input_uri, output_uri, policy=policy, input_field=INPUT_FIELD, output_field=OUTPUT_FIELD
    )
    issues += location_issues + backend_issues(backend, quantize)
    if issues or checked is None:
        raise ValidationError(issues, context="cannot create the invocation job")
    where = placement(cluster, instance_count)  # on a Ray cluster, or here (None)
    if client_token:
        same = job_records_find(client_token=client_token)
        if same:
            job = service.get(same[0]["id"])
            asked = {
                "jobName": job_name,
                "modelId": model_id,
                "inputDataConfig": input_uri,
                "outputDataConfig": output_uri,
                "timeoutDurationInHours": timeout,
            }
            had = {
                "jobName": job.name,
                "modelId": job.model_id,
                "inputDataConfig": job.settings.get("input_uri"),
                "outputDataConfig": job.settings.get("output_uri"),
                "timeoutDurationInHours": job.settings.get("timeout_hours"),
            }
            if asked["modelId"] != had["modelId"] and _same_model(model_id, job.model_id):
                asked["modelId"] = had["modelId"]  # an alias of the same model
            differ = sorted(k for k in asked if asked[k] != had[k])
            if differ:
                raise ConflictError(
                    f"clientRequestToken {client_token!r} was used for job "
                    f"{job.name} with other {', '.join(differ)}",
                    field="clientRequestToken",
                    value=client_token,
                    fix="use a new token for a new job",
                )
            return job  # the same request again: the same job, not a second one
    spec = Catalog.load().get(model_id)
    require_eula(spec, accept_eula)
    if job_records_find(name=job_name):
        raise ConflictError(
            f"an invocation job named {job_name!r} exists already",
            field="jobName",
            value=job_name,
            fix="pick another jobName",
        )
    active = [r for r in job_records_find() if r["status"] in {s.value for s in ACTIVE}]
    quota = get_settings().max_queued_invocation_jobs
    if len(active) >= quota:
        raise QuotaExceededError(
            f"{len(active)} invocation jobs are waiting or running; the limit is {quota}",
            field="jobName",
            value=job_name,
            fix="wait for one to end, or raise SPRINGBOARD_MAX_QUEUED_INVOCATION_JOBS",
        )
    job_id = new_job_id()
    locations = batch_locations.settle(checked, job_dir=lambda: job_dir(job_id), subfolder=job_id)
    now = datetime.now(UTC)
    settings = InvocationSettings(
        **locations.model_dump(),
        role_arn=role_arn,
        timeout_hours=timeout,
        deadline=now + timedelta(hours=timeout),
        keep_prompt=keep_prompt,
        prompt=prompter.to_dict() if prompter is not None else None,
        openai=openai,
        backend=backend,
        quantize=quantize,
        **where.model_dump(),
    )
    remote_input = not locations.files or any(storage.is_remote(f) for f in locations.files)
    total = 0 if remote_input else count_records(locations.files)  # remote: the worker counts
    return service.create(
        kind=KIND,
        name=job_name,
        model_id=spec.id,
        model_version=spec.version,
        inputs={"uri": input_uri, "files": locations.files},
        outputs={
            "uri": output_uri,
            "dir": batch_locations.final_folder(locations),
            "files": batch_locations.final_files(locations),
        },
        settings=settings.model_dump(mode="json"),
        client_token=client_token,
        job_id=job_id,
        counts=zero_counts(total),
        launch=launch,
    )


def _same_model(asked: str, recorded: str) -> bool:
    try:
        return Catalog.load().get(asked).id == recorded
    except NotFoundError:
        return False


def job_records_find(**filters: Any) -> list[dict[str, Any]]:
    from springboard.store import job_records

    return job_records.find(kind=KIND, **filters)


def get(identifier: str) -> Job:
    """The job, as `service.get` reports it (the same status `jobs describe` shows: a job
    still waiting past its deadline is Expired); never starts one."""
    job_id = resolve_id(identifier)
    try:
        job = service.get(job_id)
    except NotFoundError:
        job = None
    if job is None or job.kind != KIND:
        raise NotFoundError(
            f"no invocation job {identifier!r}",
            field="jobIdentifier",
            value=identifier,
            fix="list them with `springboard invocation-jobs list`",
        )
    return job


def list_jobs(
    *,
    status: str | None = None,
    name_contains: str | None = None,
    submit_time_after: datetime | None = None,
    submit_time_before: datetime | None = None,
) -> list[Job]:
    """Invocation jobs, oldest first, filtered like the managed service's list call;
    reconciled like `get`, never started."""
    if status is not None and status not in {s.value for s in JobStatus}:
        raise ValidationError(
            [
                Issue(
                    "statusEquals",
                    f"unknown status {status!r}",
                    status,
                    "one of " + ", ".join(s.value for s in JobStatus),
                )
            ]
        )
    jobs = service.list_jobs(kind=KIND, status=status)
    if name_contains:
        jobs = [j for j in jobs if name_contains in j.name]
    if submit_time_after:
        jobs = [j for j in jobs if _aware(j.created_at) > _aware(submit_time_after)]
    if submit_time_before:
        jobs = [j for j in jobs if _aware(j.created_at) < _aware(submit_time_before)]
    return jobs


def _aware(moment: datetime) -> datetime:
    """A naive time is taken as UTC (how the store and the managed service keep them)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stop(identifier: str) -> Job:
    job = get(identifier)
    if job.status in {s.value for s in TERMINAL} - {JobStatus.STOPPED.value}:
        raise ConflictError(
            f"job {job.id} is {job.status}; only a waiting or running job can be stopped",
            field="jobIdentifier",
            value=identifier,
        )
    return service.stop(job.id)


def wait(identifier: str, *, timeout: float | None = None, poll: float = 0.5) -> Job:
    return service.wait(resolve_id(identifier), timeout=timeout, poll=poll)


def summary(job: Job) -> dict[str, Any]:
    """The job in the managed service's field names (GetModelInvocationJob)."""
    settings = job.settings
    counts = job.counts or {}
    out: dict[str, Any] = {
        "jobArn": job_arn(job.id),
        "jobName": job.name,
        "modelId": job.model_id,
        "clientRequestToken": getattr(job, "client_token", None),
        "roleArn": settings.get("role_arn"),
        "status": job.status,
        "message": job.status_message,
        "submitTime": _iso(job.created_at),
        "lastModifiedTime": _iso(job.updated_at),
        "endTime": _iso(job.ended_at) if job.ended_at else None,
        "inputDataConfig": {
            "s3InputDataConfig": {"s3Uri": settings.get("input_uri"), "s3InputFormat": "JSONL"}
        },
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": settings.get("output_uri")}},
        "timeoutDurationInHours": settings.get("timeout_hours"),
        "jobExpirationTime": settings.get("deadline"),
        "totalRecordCount": counts.get("total", 0),
        "processedRecordCount": counts.get("processed", 0),
        "successRecordCount": counts.get("succeeded", 0),
        "errorRecordCount": counts.get("failed", 0),
        "inputTokenCount": counts.get("input_tokens", 0),
        "outputTokenCount": counts.get("output_tokens", 0),
        "jobId": job.id,
    }
    return {k: v for k, v in out.items() if v is not None}


def _iso(moment: datetime) -> str:
    return _aware(moment).isoformat().replace("+00:00", "Z")


# -- the worker's side -----------------------------------------------------------------------


def run(ctx: JobContext) -> Outcome:
    """The worker's side: load the model once, then the shared batch pipeline with the
    Bedrock-shaped codec; past its deadline the job ends Expired, keeping its output."""
    from springboard.inference import LoadOptions

    s = InvocationSettings.model_validate(ctx.row["settings"])
    files = batch_locations.input_files(s, INPUT_FIELD)
    output = OutputFolder(s, OUTPUT_FIELD)
    max_bytes = int(s.max_record_mb * 1024 * 1024)
    prompter = Prompter.from_dict(s.prompt) if s.prompt else None
    job_id, openai = ctx.job_id, s.openai

    def make_codec(generator: Any) -> RecordCodec:  # here, or in each actor on a cluster
        if openai is not None:
            from springboard.jobs.openai_batch_codec import OpenAIBatchCodec

            return OpenAIBatchCodec(generator, endpoint=openai.endpoint, max_bytes=max_bytes)
        return InvocationCodec(
            generator,
            job_id=job_id,
            max_bytes=max_bytes,
            keep_prompt=s.keep_prompt,
            prompter=prompter,
        )

    outcome = run_batch(
        ctx,
        s,
        make_codec=make_codec,
        model_dir=None,
        options=LoadOptions(
            max_batch_size=s.batch_size,
            backend=s.backend,
            quantize=s.quantize,
            parallel_batches=True,
        ),
        files=files,
        output=output,
        batch_size=s.batch_size,
        max_record_bytes=max_bytes,
        input_field=INPUT_FIELD,
        deadline=s.deadline,
        deadline_message=f"ran past timeoutDurationInHours "
        f"({s.timeout_hours} h); output so far kept",
    )
    if s.openai is not None:  # however it ended, what is done becomes the batch's files
        from springboard.jobs import openai_batches

        openai_batches.publish_files(ctx.job_id, [output.path(output_name(f)) for f in files])
    return outcome
