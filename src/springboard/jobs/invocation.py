"""Invocation jobs, Bedrock style: a JSON Lines file of model invocations in, one output
line per record and a manifest of counts out.

Input records are `{"recordId": ..., "modelInput": {...}}` (a missing recordId gets a
generated 11-character id, the same on every run). `modelInput` is one of the shapes the
model's catalog entry accepts (`accepted_shapes`): the completion shape (`prompt`,
`temperature`, `max_tokens`, `num_generations`, `p`, `k`, `stop_sequences`, and
Springboard's `seed`), or Springboard's own text2text / text-generation payloads. Output
goes to `<output>/<job-id>/NAME.out` — `{"recordId", "modelInput", "modelOutput"}` or
`{"recordId", "modelInput", "error": {"errorCode", "errorMessage"}}` — and
`manifest.json.out` holds the record and token counts.

`create` validates the request (name, timeout, model, locations, quota, client token) and
records the job; the scheduler starts at most N at once. The worker side reuses the
batch loop of transform jobs (streaming, checkpoints, stop, resume), and ends the job
`Expired` when it runs past `timeoutDurationInHours`. Locations are fsspec URIs checked
against a `LocationPolicy` (HTTP callers: data roots and allowed schemes; the CLI: any):
local paths and `file://` work as they are; other schemes (e.g. `s3://` with s3fs
installed) are only named at create and are listed, staged through the job's directory
and uploaded by the worker. The HTTP shapes live in `springboard.api`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import string
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from springboard.artifacts.locations import Location, LocationPolicy
from springboard.catalog import Catalog, ModelSpec, Task
from springboard.config import get_settings
from springboard.errors import (ClientError, ConflictError, GenerationError, Issue,
                                NotFoundError, QuotaExceededError, ValidationError,
                                issues_from_pydantic)
from springboard.jobs import scheduler, service
from springboard.jobs.batch import Batch, BatchRunner
from springboard.jobs.models import Job
from springboard.jobs.records import Oversized, count_records, load_record
from springboard.jobs.states import ACTIVE, TERMINAL, JobStatus, transition
from springboard.jobs.worker import JobContext, Outcome
from springboard.prompting.template import Prompter, prompt_key

log = logging.getLogger("springboard.jobs")

KIND = "invocation"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ID_ALPHABET = string.ascii_lowercase + string.digits
RECORD_ID_ALPHABET = string.ascii_uppercase + string.digits
ARN_PATTERN = re.compile(r"^arn:aws:bedrock:[^:]*:[^:]*:model-invocation-job/([a-z0-9]{12})$")
MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS, DEFAULT_TIMEOUT_HOURS = 24, 168, 24
BATCH_SIZE = 16
MAX_RECORD_MB = 6.0  # a longer line gets an error line and is never parsed (as transform jobs)
MANIFEST = "manifest.json.out"


class CompletionInput(BaseModel):
    """The completion `modelInput` shape. Defaults are the managed service's."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)
    temperature: float = Field(0.9, ge=0, le=5)
    max_tokens: int = Field(20, ge=1, le=4096)
    num_generations: int = Field(1, ge=1, le=5)
    p: float = Field(0.75, gt=0, le=1)
    k: int = Field(0, ge=0, le=500)
    stop_sequences: list[str] = Field([], max_length=4)
    seed: int | None = Field(None, ge=0, description="Springboard: seed this record's sampling.")

    @model_validator(mode="after")
    def _greedy_is_one(self) -> "CompletionInput":
        if self.temperature == 0 and self.num_generations > 1:
            raise ValueError("num_generations > 1 needs temperature > 0 (temperature 0 is "
                             "greedy: every generation would be the same)")
        return self

    def payload(self, task: Task) -> dict[str, Any]:
        """The same request as the Generator's payload for `task`."""
        params: dict[str, Any] = {"max_new_tokens": self.max_tokens,
                                  "num_return_sequences": self.num_generations}
        if self.temperature > 0:
            params.update(do_sample=True, temperature=self.temperature, top_p=self.p)
            if self.k:
                params["top_k"] = self.k
            if self.seed is not None:
                params["seed"] = self.seed
        if self.stop_sequences:
            params["stop"] = self.stop_sequences
        if task is Task.TEXT2TEXT:
            return {"text_inputs": self.prompt, **params}
        return {"inputs": self.prompt, "parameters": params}


class InvocationSettings(BaseModel):
    """Everything an invocation job needs, as recorded with it."""

    model_config = ConfigDict(extra="forbid")

    input_uri: str
    output_uri: str
    output_dir: str            # where NAME.out files are written (staged if remote)
    remote_output: str | None  # fsspec URI to upload to at the end, when not local
    files: list[str]           # local input files; empty for a remote input (listed when run)
    location_policy: str = "local"  # the LocationPolicy it was created under, re-applied when run
    role_arn: str | None = None
    timeout_hours: int
    deadline: datetime
    batch_size: int = BATCH_SIZE
    max_record_mb: float = MAX_RECORD_MB
    prompt: dict[str, Any] | None = None  # a prompt template and its examples (Prompter.to_dict())
    keep_prompt: bool = False


# -- URIs ----------------------------------------------------------------------------------

def _filesystem(uri: str, field: str) -> Any:
    """The fsspec filesystem and path of a remote URI (only the worker opens one)."""
    import fsspec

    _require_backend(uri, field)
    return fsspec.core.url_to_fs(uri)


def _require_backend(uri: str, field: str) -> None:
    """Refuse a scheme whose fsspec backend is not installed, without opening anything."""
    import fsspec

    scheme = uri.split("://", 1)[0]
    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as exc:
        raise ValidationError([Issue(field, f"cannot open {scheme}:// locations: {exc}", uri,
                                     f"install the fsspec backend for {scheme} (s3: pip install "
                                     "s3fs), or use a local path")]) from None


def _local_files(location: Location, policy: LocationPolicy, field: str) -> list[str]:
    """The data files of a local input (a file, or a folder's files, sorted), each inside
    the policy's roots once its symlinks are followed."""
    path = location.path
    assert path is not None
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise ValidationError([Issue(field, f"{path} holds no files", location.uri)])
    else:
        raise ValidationError([Issue(field, f"{path} does not exist", location.uri,
                                     "give a JSON Lines file or a folder of them")])
    for file in files:
        policy.require_inside(file, field, str(file))
    return [str(f) for f in files]


def _remote_files(uri: str, field: str) -> list[str]:
    """The data files of a remote input, listed by the worker (never in a request)."""
    fs, path = _filesystem(uri, field)
    if not fs.exists(path):
        raise ValidationError([Issue(field, f"{uri} does not exist", uri)])
    if fs.isfile(path):
        return [uri]
    protocol = uri.split("://", 1)[0]
    return sorted(f"{protocol}://{p}" for p in fs.ls(path, detail=False)
                  if not Path(p).name.startswith("."))


def _stage(files: list[str], into: Path, policy: LocationPolicy) -> list[str]:
    """Local copies of the input files: local ones are checked again (a symlink may have
    changed since the job was created) and used in place; remote ones are copied into the
    job's directory."""
    staged = []
    for uri in files:
        location = policy.check(uri, "inputDataConfig")
        if location.is_local:
            staged.append(str(location.path))
            continue
        fs, path = _filesystem(uri, "inputDataConfig")
        into.mkdir(parents=True, exist_ok=True)
        target = into / Path(path).name
        if not target.exists():
            fs.get(path, str(target))
        staged.append(str(target))
    return staged


# -- ids -----------------------------------------------------------------------------------

def new_job_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def job_arn(job_id: str) -> str:
    settings = get_settings()
    return f"arn:aws:bedrock:{settings.region}:{settings.account_id}:model-invocation-job/{job_id}"


def record_id_for(job_id: str, file_name: str, index: int) -> str:
    """An 11-character id for a record that has none: the same on every run of the job."""
    number = int.from_bytes(hashlib.sha256(f"{job_id}/{file_name}/{index}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(11):
        number, digit = divmod(number, len(RECORD_ID_ALPHABET))
        chars.append(RECORD_ID_ALPHABET[digit])
    return "".join(chars)


def resolve_id(identifier: str) -> str:
    """A job id from its ARN or its bare id."""
    from urllib.parse import unquote

    identifier = unquote(identifier)
    match = ARN_PATTERN.fullmatch(identifier)
    return match.group(1) if match else identifier


# -- lifecycle -----------------------------------------------------------------------------

def create(*, job_name: str, model_id: str, input_uri: str, output_uri: str,
           timeout_hours: int | None = None, client_token: str | None = None,
           role_arn: str | None = None, accept_eula: bool = False,
           prompter: Prompter | None = None, keep_prompt: bool = False,
           policy: LocationPolicy | None = None, launch: bool = True) -> Job:
    """Validate an invocation job request, record it, and let the scheduler start it.

    With a `prompter`, each record's `modelInput` holds the template's fields (and any
    generation parameters of the completion shape) instead of a prompt. `policy` says where
    the locations may point (HTTP callers: `LocationPolicy.http()`); by default anywhere the
    user can read. Remote locations are only named here: the worker opens them."""
    from springboard.catalog import require_eula

    issues = []
    policy = policy or LocationPolicy.local_user()
    if not isinstance(job_name, str) or not NAME_PATTERN.fullmatch(job_name):
        issues.append(Issue("jobName", f"{job_name!r} is not a valid job name", job_name,
                            "use 1-63 letters, digits and hyphens, starting with a letter or digit"))
    timeout = DEFAULT_TIMEOUT_HOURS if timeout_hours is None else timeout_hours
    if not isinstance(timeout, int) or not MIN_TIMEOUT_HOURS <= timeout <= MAX_TIMEOUT_HOURS:
        issues.append(Issue("timeoutDurationInHours", f"must be a whole number of hours from "
                            f"{MIN_TIMEOUT_HOURS} to {MAX_TIMEOUT_HOURS}", timeout_hours))
    if client_token is not None and not 1 <= len(client_token) <= 256:
        issues.append(Issue("clientRequestToken", "must be 1-256 characters", client_token))
    files: list[str] = []
    try:
        source = policy.check(input_uri, "inputDataConfig")
        if source.is_local:
            files = _local_files(source, policy, "inputDataConfig")
        else:
            _require_backend(input_uri, "inputDataConfig")
    except ValidationError as exc:
        issues += exc.issues
    try:
        target = policy.check(output_uri, "outputDataConfig")
        if not target.is_local:
            _require_backend(output_uri, "outputDataConfig")
    except ValidationError as exc:
        issues += exc.issues
    if issues:
        raise ValidationError(issues, context="cannot create the invocation job")
    if client_token:
        same = job_records_find(client_token=client_token)
        if same:
            job = service.get(same[0]["id"])
            asked = {"jobName": job_name, "modelId": model_id, "inputDataConfig": input_uri,
                     "outputDataConfig": output_uri, "timeoutDurationInHours": timeout}
            had = {"jobName": job.name, "modelId": job.model_id,
                   "inputDataConfig": job.settings.get("input_uri"),
                   "outputDataConfig": job.settings.get("output_uri"),
                   "timeoutDurationInHours": job.settings.get("timeout_hours")}
            if asked["modelId"] != had["modelId"] and _same_model(model_id, had["modelId"]):
                asked["modelId"] = had["modelId"]  # an alias of the same model
            differ = sorted(k for k in asked if asked[k] != had[k])
            if differ:
                raise ConflictError(f"clientRequestToken {client_token!r} was used for job "
                                    f"{job.name} with other {', '.join(differ)}",
                                    field="clientRequestToken", value=client_token,
                                    fix="use a new token for a new job")
            return job  # the same request again: the same job, not a second one
    spec = Catalog.load().get(model_id)
    require_eula(spec, accept_eula)
    if job_records_find(name=job_name):
        raise ConflictError(f"an invocation job named {job_name!r} exists already",
                            field="jobName", value=job_name, fix="pick another jobName")
    active = [r for r in job_records_find() if r["status"] in {s.value for s in ACTIVE}]
    quota = get_settings().max_queued_invocation_jobs
    if len(active) >= quota:
        raise QuotaExceededError(f"{len(active)} invocation jobs are waiting or running; the "
                                 f"limit is {quota}", field="jobName", value=job_name,
                                 fix="wait for one to end, or raise "
                                 "SPRINGBOARD_MAX_QUEUED_INVOCATION_JOBS")
    job_id = new_job_id()
    if target.path is None:
        from springboard.jobs.paths import job_dir

        output_dir = job_dir(job_id) / "output"
    else:
        output_dir = target.path / job_id
    output_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    settings = InvocationSettings(
        input_uri=input_uri, output_uri=output_uri, output_dir=str(output_dir),
        remote_output=None if target.is_local else f"{output_uri.rstrip('/')}/{job_id}",
        files=files, role_arn=role_arn, timeout_hours=timeout,
        deadline=now + timedelta(hours=timeout), keep_prompt=keep_prompt,
        prompt=prompter.to_dict() if prompter is not None else None,
        location_policy=policy.name)
    total = count_records([Path(f) for f in files]) if source.is_local else 0
    return service.create(
        kind=KIND, name=job_name, model_id=spec.id, model_version=spec.version,
        inputs={"uri": input_uri, "files": files},
        outputs={"uri": output_uri, "dir": str(output_dir),
                 "files": [str(output_dir / f"{Path(f).name}.out") for f in files]},
        settings=settings.model_dump(mode="json"), client_token=client_token, job_id=job_id,
        counts=_zero_counts(total), launch=launch)


def _same_model(asked: str, recorded: str) -> bool:
    try:
        return Catalog.load().get(asked).id == recorded
    except NotFoundError:
        return False


def _zero_counts(total: int) -> dict[str, int]:
    return {"total": total, "processed": 0, "succeeded": 0, "failed": 0,
            "input_tokens": 0, "output_tokens": 0}


def job_records_find(**filters: Any) -> list[dict[str, Any]]:
    from springboard.store import job_records

    return job_records.find(kind=KIND, **filters)


def _expire_overdue(row: dict[str, Any]) -> None:
    """A job still waiting past its deadline expires without running."""
    deadline = (row.get("settings") or {}).get("deadline")
    if row["status"] in (JobStatus.SUBMITTED.value, JobStatus.SCHEDULED.value) and deadline \
            and datetime.fromisoformat(deadline) < datetime.now(UTC):
        transition(row["id"], JobStatus.EXPIRED, ended_at=datetime.now(UTC),
                   message="expired before a slot freed up (timeoutDurationInHours)")


def get(identifier: str) -> Job:
    job_id = resolve_id(identifier)
    try:
        job = service.get(job_id)
    except NotFoundError:
        job = None
    if job is None or job.kind != KIND:
        raise NotFoundError(f"no invocation job {identifier!r}", field="jobIdentifier",
                            value=identifier, fix="list them with `springboard invocation-jobs list`")
    _expire_overdue(job.model_dump())
    return service.get(job_id)


def list_jobs(*, status: str | None = None, name_contains: str | None = None,
              submit_time_after: datetime | None = None,
              submit_time_before: datetime | None = None) -> list[Job]:
    """Invocation jobs, oldest first, filtered like the managed service's list call."""
    if status is not None and status not in {s.value for s in JobStatus}:
        raise ValidationError([Issue("statusEquals", f"unknown status {status!r}", status,
                                     "one of " + ", ".join(s.value for s in JobStatus))])
    for row in job_records_find():
        _expire_overdue(row)
    scheduler.admit(KIND)
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
        raise ConflictError(f"job {job.id} is {job.status}; only a waiting or running job can "
                            "be stopped", field="jobIdentifier", value=identifier)
    return service.stop(job.id)


def wait(identifier: str, *, timeout: float | None = None, poll: float = 0.5) -> Job:
    return service.wait(resolve_id(identifier), timeout=timeout, poll=poll)


def summary(job: Job) -> dict[str, Any]:
    """The job in the managed service's field names (GetModelInvocationJob)."""
    settings = job.settings
    counts = job.counts or {}
    out: dict[str, Any] = {
        "jobArn": job_arn(job.id), "jobName": job.name, "modelId": job.model_id,
        "clientRequestToken": getattr(job, "client_token", None),
        "roleArn": settings.get("role_arn"), "status": job.status, "message": job.status_message,
        "submitTime": _iso(job.created_at), "lastModifiedTime": _iso(job.updated_at),
        "endTime": _iso(job.ended_at) if job.ended_at else None,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": settings.get("input_uri"),
                                                  "s3InputFormat": "JSONL"}},
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

class _Runner(BatchRunner):
    """Runs one invocation job: records in the accepted shapes through the Generator."""

    def __init__(self, ctx: JobContext) -> None:
        from springboard.artifacts import resolve_model_dir
        from springboard.inference import Generator, LoadOptions

        self.settings = InvocationSettings.model_validate(ctx.row["settings"])
        policy = LocationPolicy.named(self.settings.location_policy)
        listed = self.settings.files or _remote_files(self.settings.input_uri, "inputDataConfig")
        files = _stage(listed, ctx.dir / "input", policy)
        super().__init__(ctx, files, self.settings.output_dir, self.settings.batch_size,
                         int(self.settings.max_record_mb * 1024 * 1024))
        if not self.counts.get("total"):
            self.counts["total"] = count_records([Path(f) for f in files])
            ctx.save_counts(self.counts)
        self.spec: ModelSpec = Catalog.load().get(ctx.row["model_id"], ctx.row["model_version"])
        started = time.monotonic()
        self.generator = Generator(self.spec, resolve_model_dir(self.spec),
                                   LoadOptions(max_batch_size=self.settings.batch_size))
        self.prompter = Prompter.from_dict(self.settings.prompt) if self.settings.prompt else None
        ctx.metric("model_load_seconds", round(time.monotonic() - started, 3))

    def interrupted(self) -> Outcome | None:
        if datetime.now(UTC) > self.settings.deadline:
            return Outcome(JobStatus.EXPIRED, f"ran past timeoutDurationInHours "
                           f"({self.settings.timeout_hours} h); output so far kept")
        return super().interrupted()

    def finished(self, outcome: Outcome) -> Outcome:
        manifest = {
            "totalRecordCount": self.counts["total"], "processedRecordCount": self.counts["processed"],
            "successRecordCount": self.counts["succeeded"], "errorRecordCount": self.counts["failed"],
            "inputTokenCount": self.counts["input_tokens"],
            "outputTokenCount": self.counts["output_tokens"]}
        (Path(self.settings.output_dir) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if self.settings.remote_output:
            fs, path = _filesystem(self.settings.remote_output, "outputDataConfig")
            fs.put(self.settings.output_dir.rstrip("/") + "/", path, recursive=True)
        return outcome

    def _parse(self, line: bytes | Oversized, index: int,
               file_name: str) -> tuple[str, Any, Any, Any]:
        """(recordId, modelInput, completion input or None, parsed request). A line that is
        too long or not JSON gets an error without its content (it may be anything)."""
        fallback = record_id_for(self.ctx.job_id, file_name, index)
        if isinstance(line, Oversized):
            raise _RecordFailure(fallback, None, ClientError(
                f"line {index + 1} is {line.size} bytes; the limit is {self.max_record_bytes}",
                field="record", value=line.size, fix="split the prompt over several records"))
        try:
            record = load_record(line, index)
        except ClientError as exc:
            exc.fix = 'one {"recordId", "modelInput"} object per line'
            raise _RecordFailure(fallback, None, exc) from None
        if not isinstance(record, dict):
            raise _RecordFailure(fallback, None, ClientError(
                f"line {index + 1} is not a JSON object", field="record"))
        record_id = str(record.get("recordId") or fallback)
        model_input = record.get("modelInput")
        if not isinstance(model_input, dict):
            raise _RecordFailure(record_id, model_input, ClientError(
                "modelInput is missing or not an object", field="modelInput",
                value=model_input, fix=f"send one of: {', '.join(self.spec.accepted_shapes)}"))
        sent = model_input if self.prompter is None else self._render(record_id, model_input)
        shape = "completion" if "prompt" in sent else \
            "text2text" if "text_inputs" in sent else \
            "text-generation" if "inputs" in sent else None
        if shape not in self.spec.accepted_shapes:
            raise _RecordFailure(record_id, model_input, ClientError(
                f"{self.spec.id} does not accept the {shape or 'given'} shape of modelInput",
                field="modelInput.prompt" if shape is None else "modelInput", value=shape,
                fix="accepted shapes: " + ", ".join(self.spec.accepted_shapes) +
                " (completion needs `prompt`, text2text `text_inputs`, text-generation `inputs`)"))
        try:
            completion = CompletionInput.model_validate(sent) if shape == "completion" else None
            payload = completion.payload(self.generator.task) if completion else sent
            request = self.generator.parse(payload)
        except pydantic.ValidationError as exc:
            issues = issues_from_pydantic(exc)
            for issue in issues:
                if issue.message == "unknown field":
                    issue.fix = "allowed: " + ", ".join(CompletionInput.model_fields)
                issue.field = f"modelInput.{issue.field}" if issue.field else "modelInput"
            raise _RecordFailure(record_id, model_input, ValidationError(issues)) from None
        except ClientError as exc:
            raise _RecordFailure(record_id, model_input, exc) from None
        return record_id, model_input, completion, request

    def _render(self, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A record of template fields as a modelInput in the completion shape (or, for a
        model without it, the model's own)."""
        key = "prompt" if "completion" in self.spec.accepted_shapes else prompt_key(self.spec.task)
        try:
            return self.prompter.payload({"id": record_id, **fields}, key,  # type: ignore[union-attr]
                                         where=f"record {record_id}")
        except ValidationError as exc:
            for issue in exc.issues:
                issue.field = f"modelInput.{issue.field}" if issue.field else "modelInput"
            raise _RecordFailure(record_id, fields, ValidationError(exc.issues)) from None

    def process(self, batch: Batch, file_name: str) -> list[dict[str, Any]]:
        parsed: list[tuple[str, Any, Any, Any, list[Any] | None, ClientError | None]] = []
        for index, line in batch:
            try:
                record_id, model_input, completion, request = self._parse(line, index, file_name)
                items = self.generator.plan(request.prompts, request.params)
                parsed.append((record_id, model_input, completion, request, items, None))
            except _RecordFailure as failure:
                parsed.append((failure.record_id, failure.model_input, None, None, None, failure.error))
            except ClientError as exc:  # e.g. the prompt is longer than the context
                parsed.append((record_id, model_input, None, None, None, exc))
            except RecursionError:  # parsed, but too deep for the checks (and to echo)
                parsed.append((record_id_for(self.ctx.job_id, file_name, index), None, None,
                               None, None, ClientError("the record nests too deeply",
                                                       field="modelInput", fix="flatten it")))
        per_record = self.execute([p[4] for p in parsed])
        lines = []
        for (record_id, model_input, completion, request, _, error), results in zip(
                parsed, per_record, strict=True):
            if isinstance(results, GenerationError):
                error = results
            if error is not None or results is None:
                self.counts["failed"] += 1
                error = error or ClientError("nothing to run")
                lines.append({"recordId": record_id, "modelInput": model_input,
                              "error": {"errorCode": error.http_status, "errorMessage": str(error)}})
                continue
            self.counts["succeeded"] += 1
            self.counts["input_tokens"] += sum(r.input_tokens for r in results)
            self.counts["output_tokens"] += sum(sum(r.output_tokens) for r in results)
            line = {"recordId": record_id, "modelInput": model_input,
                    "modelOutput": self._output(record_id, completion, request, results)}
            if self.settings.keep_prompt:
                line["prompt"] = request.prompts[0]
            lines.append(line)
        return lines

    @staticmethod
    def _output(record_id: str, completion: CompletionInput | None, request: Any,
                results: list[Any]) -> Any:
        if completion is None:
            from springboard.inference.payloads import render_response

            return render_response(request, results)
        result = results[0]
        return {"generations": [
            {"id": f"{record_id}-{i}", "text": text, "finish_reason": reason,
             "token_count": tokens}
            for i, (text, reason, tokens) in enumerate(zip(
                result.texts, result.finish_reasons, result.output_tokens, strict=True))],
            "prompt": completion.prompt}


class _RecordFailure(Exception):
    def __init__(self, record_id: str, model_input: Any, error: ClientError) -> None:
        super().__init__(str(error))
        self.record_id, self.model_input, self.error = record_id, model_input, error


def run(ctx: JobContext) -> Outcome:
    return _Runner(ctx).run()
