"""Invocation jobs over HTTP in the managed service's control-plane shapes.

`POST /model-invocation-job` (CreateModelInvocationJob), `GET
/model-invocation-job/{jobIdentifier}` (Get...), `GET /model-invocation-jobs` (List...)
and `POST /model-invocation-job/{jobIdentifier}/stop` (Stop...). `jobIdentifier` is the
job's ARN (percent-encoded, as boto3 sends it, or not) or its bare 12-character id.

Each route parses, calls `springboard.jobs.invocation` and renders. Errors leave as the
service sends them: header `x-amzn-errortype: <Name>` and body `{"message": ...}`, with
the status code its service model gives each name, so boto3 raises its own modelled
exceptions (`client.exceptions.ValidationException`, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from springboard.artifacts.locations import LocationPolicy
from springboard.errors import (
    ClientError,
    ConflictError,
    EulaNotAcceptedError,
    Issue,
    NotFoundError,
    QuotaExceededError,
    SpringboardError,
    ValidationError,
)

router = APIRouter(tags=["model invocation jobs"])

JobStatusName = Literal[
    "Submitted",
    "InProgress",
    "Completed",
    "Failed",
    "Stopping",
    "Stopped",
    "PartiallyCompleted",
    "Expired",
    "Validating",
    "Scheduled",
]
ACCEPT_EULA_HEADER = "x-springboard-accept-eula"


# -- errors --------------------------------------------------------------------------------

# (name, HTTP status) as botocore's bedrock service model declares them.
VALIDATION = ("ValidationException", 400)
NOT_FOUND = ("ResourceNotFoundException", 404)
CONFLICT = ("ConflictException", 400)
QUOTA = ("ServiceQuotaExceededException", 400)
ACCESS_DENIED = ("AccessDeniedException", 403)
INTERNAL = ("InternalServerException", 500)


def error_kind(exc: BaseException) -> tuple[str, int]:
    """The service's error name and status code for a Springboard error."""
    if isinstance(exc, ValidationError):
        return VALIDATION
    if isinstance(exc, NotFoundError):
        return NOT_FOUND
    if isinstance(exc, ConflictError):  # IllegalTransitionError is one
        return CONFLICT
    if isinstance(exc, QuotaExceededError):
        return QUOTA
    if isinstance(exc, EulaNotAcceptedError):
        return ACCESS_DENIED
    if isinstance(exc, ClientError) and exc.http_status in (401, 403):  # key, Host, Origin
        return ACCESS_DENIED[0], exc.http_status
    if isinstance(exc, ClientError) and exc.http_status in (413, 415):  # body refused unread
        return VALIDATION[0], exc.http_status
    if isinstance(exc, ClientError):  # e.g. weights not on this machine: fixable by the caller
        return VALIDATION
    return INTERNAL


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        issues = [i.describe() for i in exc.issues]
        if len(issues) == 1:
            return issues[0]
        return f"{len(issues)} problems: " + "; ".join(
            f"({n}) {text}" for n, text in enumerate(issues, 1)
        )
    if isinstance(exc, EulaNotAcceptedError):
        return (
            f"{exc.message}; then send the header '{ACCEPT_EULA_HEADER}: true' with "
            "the create request"
        )
    if isinstance(exc, SpringboardError):
        text = str(exc)
        return text if not exc.field or exc.field in text else f"{exc.field}: {text}"
    return "internal error (the server's log has the detail)"


def error_response(exc: BaseException) -> JSONResponse:
    name, status = error_kind(exc)
    return error_reply(name, status, error_message(exc))


def error_reply(name: str, status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"message": message}, status_code=status, headers={"x-amzn-errortype": name}
    )


def request_issues(errors: list[dict[str, Any]]) -> list[Issue]:
    """FastAPI's request validation errors as issues naming the service's fields."""
    from springboard.errors import issues_from_pydantic

    issues: list[Issue] = []
    rest = []
    for error in errors:
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "")
            issues.append(
                Issue(
                    None,
                    f"the request body is not valid JSON ({detail})",
                    fix="send one JSON object",
                )
            )
        else:  # drop the "body" / "query" / "path" prefix of the location
            rest.append({**error, "loc": tuple(error.get("loc", ()))[1:]})

    class _Errors:  # what issues_from_pydantic reads
        @staticmethod
        def errors() -> list[dict[str, Any]]:
            return rest

    for issue in issues_from_pydantic(_Errors(), allowed=_allowed_fields):
        if issue.field is None and issue.message == "is required":
            issue.message = "the request needs a JSON body"
        issues.append(issue)
    return issues


def _allowed_fields(path: str | None) -> str | None:
    """The fields CreateModelInvocationJob accepts beside the unknown one at `path`."""
    import types
    import typing

    model: Any = CreateModelInvocationJobRequest
    for part in (path or "").split(".")[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        model = (
            typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else annotation
        )
    fields = getattr(model, "model_fields", None)
    return ", ".join(fields) if fields else None


# -- request and response shapes -------------------------------------------------------------


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class S3InputDataConfig(_Shape):
    s3Uri: str = Field(
        min_length=1,
        max_length=1024,
        description="The input: a JSON Lines "
        "file or a folder of them, under a data root (SPRINGBOARD_DATA_ROOTS) or "
        "with an allowed scheme (SPRINGBOARD_ALLOWED_SCHEMES, default s3://).",
    )
    s3InputFormat: Literal["JSONL"] | None = None
    s3BucketOwner: str | None = Field(None, max_length=12, description="Accepted, ignored.")


class InputDataConfig(_Shape):
    s3InputDataConfig: S3InputDataConfig


class S3OutputDataConfig(_Shape):
    s3Uri: str = Field(
        min_length=1,
        max_length=1024,
        description="Where `<job id>/NAME.out` and the manifest go; the same rules as the input.",
    )
    s3EncryptionKeyId: str | None = Field(None, max_length=2048, description="Accepted, ignored.")
    s3BucketOwner: str | None = Field(None, max_length=12, description="Accepted, ignored.")


class OutputDataConfig(_Shape):
    s3OutputDataConfig: S3OutputDataConfig


class Tag(_Shape):
    key: str = Field(min_length=1, max_length=128)
    value: str = Field(max_length=256)


class VpcConfig(_Shape):
    subnetIds: list[Annotated[str, Field(max_length=32)]] = Field(max_length=16)
    securityGroupIds: list[Annotated[str, Field(max_length=32)]] = Field(max_length=5)


class CreateModelInvocationJobRequest(_Shape):
    jobName: str = Field(max_length=63, description="1-63 letters, digits and hyphens.")
    roleArn: str | None = Field(
        None, max_length=2048, description="Recorded with the job; Springboard assumes no role."
    )
    clientRequestToken: str | None = Field(
        None,
        max_length=256,
        description="The same token again returns the same job instead of a second one.",
    )
    modelId: str = Field(
        max_length=2048, description="A catalog model id or alias, e.g. springboard-tiny-llama."
    )
    inputDataConfig: InputDataConfig
    outputDataConfig: OutputDataConfig
    timeoutDurationInHours: int | None = Field(None, description="24-168; default 24.")
    tags: list[Tag] | None = Field(None, max_length=200, description="Accepted, ignored.")
    vpcConfig: VpcConfig | None = Field(None, description="Accepted, ignored.")
    modelInvocationType: Literal["InvokeModel"] | None = Field(
        None, description="Only InvokeModel-style records are run."
    )


class CreateModelInvocationJobResponse(BaseModel):
    jobArn: str


class _S3InputOut(BaseModel):
    s3Uri: str | None = None
    s3InputFormat: str | None = None


class _InputOut(BaseModel):
    s3InputDataConfig: _S3InputOut


class _S3OutputOut(BaseModel):
    s3Uri: str | None = None


class _OutputOut(BaseModel):
    s3OutputDataConfig: _S3OutputOut


class ModelInvocationJobSummary(BaseModel):
    """GetModelInvocationJob's answer, and one entry of the list. Times are ISO 8601 UTC."""

    jobArn: str
    jobName: str
    modelId: str
    clientRequestToken: str | None = None
    roleArn: str | None = None
    status: JobStatusName
    message: str | None = None
    submitTime: str
    lastModifiedTime: str | None = None
    endTime: str | None = None
    inputDataConfig: _InputOut
    outputDataConfig: _OutputOut
    timeoutDurationInHours: int | None = None
    jobExpirationTime: str | None = None
    totalRecordCount: int = 0
    processedRecordCount: int = 0
    successRecordCount: int = 0
    errorRecordCount: int = 0
    inputTokenCount: int = Field(0, description="Springboard: prompt tokens so far.")
    outputTokenCount: int = Field(0, description="Springboard: generated tokens so far.")
    jobId: str = Field(description="Springboard: the bare 12-character id.")


class ListModelInvocationJobsResponse(BaseModel):
    invocationJobSummaries: list[ModelInvocationJobSummary]
    nextToken: str | None = None


# -- helpers ----------------------------------------------------------------------------------


def _summary(job: Any) -> dict[str, Any]:
    from springboard.jobs import invocation

    out = invocation.summary(job)
    expires = out.get("jobExpirationTime")
    if isinstance(expires, str):  # recorded by pydantic: make it the same form as the rest
        out["jobExpirationTime"] = _iso(datetime.fromisoformat(expires))
    return out


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _job(identifier: str) -> Any:
    """The job, or a not-found error that names `jobIdentifier`."""
    from springboard.jobs import invocation

    try:
        return invocation.get(identifier)
    except NotFoundError:
        raise NotFoundError(
            f"no model invocation job {identifier!r}",
            field="jobIdentifier",
            value=identifier,
            fix="give the jobArn that "
            "CreateModelInvocationJob returned, or the job's 12-character id; "
            "list them with GET /model-invocation-jobs",
        ) from None


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ValidationError(
            [
                Issue(
                    "nextToken",
                    "is not a token this API returned",
                    token,
                    "send the nextToken of the previous answer unchanged, "
                    "or leave it out for the first page",
                )
            ]
        ) from None


JobIdentifier = Annotated[
    str,
    Path(
        alias="jobIdentifier",
        max_length=1011,
        description=("The job's ARN (percent-encoded or not) or its bare 12-character id."),
    ),
]


# -- routes -----------------------------------------------------------------------------------


@router.post(
    "/model-invocation-job",
    response_model=CreateModelInvocationJobResponse,
    summary="CreateModelInvocationJob: submit a batch of model invocations",
)
def create_model_invocation_job(
    body: CreateModelInvocationJobRequest,
    accept_eula: Annotated[
        bool,
        Header(
            alias=ACCEPT_EULA_HEADER,
            description=("Springboard: accept a gated model's EULA for this job."),
        ),
    ] = False,
) -> dict[str, str]:
    from springboard.jobs import invocation

    job = invocation.create(
        job_name=body.jobName,
        model_id=body.modelId,
        input_uri=body.inputDataConfig.s3InputDataConfig.s3Uri,
        output_uri=body.outputDataConfig.s3OutputDataConfig.s3Uri,
        timeout_hours=body.timeoutDurationInHours,
        client_token=body.clientRequestToken,
        role_arn=body.roleArn,
        accept_eula=accept_eula,
        policy=LocationPolicy.http(),
    )
    return {"jobArn": invocation.job_arn(job.id)}


@router.get(
    "/model-invocation-job/{jobIdentifier:path}",
    response_model=ModelInvocationJobSummary,
    response_model_exclude_none=True,
    summary="GetModelInvocationJob: a job's status, locations and counts",
)
def get_model_invocation_job(job_identifier: JobIdentifier) -> dict[str, Any]:
    return _summary(_job(job_identifier))


@router.get(
    "/model-invocation-jobs",
    response_model=ListModelInvocationJobsResponse,
    response_model_exclude_none=True,
    summary="ListModelInvocationJobs: jobs, filtered, sorted and paged",
)
def list_model_invocation_jobs(
    status_equals: Annotated[JobStatusName | None, Query(alias="statusEquals")] = None,
    name_contains: Annotated[str | None, Query(alias="nameContains", max_length=63)] = None,
    submit_time_after: Annotated[datetime | None, Query(alias="submitTimeAfter")] = None,
    submit_time_before: Annotated[datetime | None, Query(alias="submitTimeBefore")] = None,
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=1000)] = 1000,
    next_token: Annotated[
        str | None, Query(alias="nextToken", min_length=1, max_length=2048)
    ] = None,
    sort_by: Annotated[Literal["CreationTime"], Query(alias="sortBy")] = "CreationTime",
    sort_order: Annotated[
        Literal["Ascending", "Descending"], Query(alias="sortOrder")
    ] = "Descending",
) -> dict[str, Any]:
    from springboard.jobs import invocation

    offset = decode_token(next_token) if next_token else 0
    jobs = invocation.list_jobs(
        status=status_equals,
        name_contains=name_contains,
        submit_time_after=_utc(submit_time_after) if submit_time_after else None,
        submit_time_before=_utc(submit_time_before) if submit_time_before else None,
    )
    jobs.sort(key=lambda j: (_utc(j.created_at), j.id), reverse=sort_order == "Descending")
    page = jobs[offset : offset + max_results]
    out: dict[str, Any] = {"invocationJobSummaries": [_summary(j) for j in page]}
    if offset + max_results < len(jobs):
        out["nextToken"] = encode_token(offset + max_results)
    return out


@router.post(
    "/model-invocation-job/{jobIdentifier:path}/stop",
    response_model=dict,
    summary="StopModelInvocationJob: stop after the current batch (output kept)",
)
def stop_model_invocation_job(job_identifier: JobIdentifier) -> dict[str, Any]:
    from springboard.jobs import invocation

    invocation.stop(_job(job_identifier).id)
    return {}
