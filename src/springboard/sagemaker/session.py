"""`Session` and `get_execution_role`, as the managed SDK's, for what notebooks ask of them:
a default bucket, a region, a role ARN, uploads and job logs.

`default_bucket()` is `SPRINGBOARD_DEFAULT_BUCKET` (or the `default_bucket` given) — an
`s3://` bucket reached with the standard AWS settings — and otherwise a folder under
home, `$SPRINGBOARD_HOME/buckets/default`, returned as its absolute path: a notebook's
`f"s3://{bucket}/prefix"` then reads `s3:///…/buckets/default/prefix`, which every call in
this namespace takes as that local folder (`uris.localize`). There is no IAM here: the
role is a placeholder ARN that nothing checks.
"""

from __future__ import annotations

from typing import Any

from springboard import permissions
from springboard.config import get_settings
from springboard.sagemaker.settings import sagemaker_settings
from springboard.sdk.arguments import managed_hub_arguments

ROLE_NAME = "springboard-local"


def _role_arn() -> str:
    return f"arn:aws:iam::{get_settings().account_id}:role/{ROLE_NAME}"


class Session:
    """`Session().default_bucket()`, `.boto_region_name`, `.upload_data(...)`."""

    @managed_hub_arguments("sagemaker.Session")
    def __init__(
        self, *, default_bucket: str | None = None, default_bucket_prefix: str | None = None
    ) -> None:
        self._default_bucket = default_bucket
        self.default_bucket_prefix = default_bucket_prefix

    @property
    def boto_region_name(self) -> str:
        return get_settings().region

    def default_bucket(self) -> str:
        """The configured bucket's name, or the local bucket folder's absolute path."""
        name = self._default_bucket or sagemaker_settings().default_bucket
        if name:
            return name
        home = get_settings().home
        folder = permissions.private_dir(home / "buckets" / "default", home)
        return str(folder)

    def get_caller_identity_arn(self) -> str:
        return _role_arn()

    def upload_data(
        self,
        path: str,
        bucket: str | None = None,
        key_prefix: str = "data",
        callback: Any = None,
        extra_args: Any = None,
    ) -> str:
        """Upload a file or a folder to `s3://<bucket>/<key_prefix>`; returns its URI."""
        from springboard.sagemaker.s3 import S3Uploader

        return S3Uploader.upload(path, f"s3://{bucket or self.default_bucket()}/{key_prefix}")

    def logs_for_job(
        self,
        job_name: str,
        wait: bool = False,
        poll: int = 10,
        log_type: str = "All",
        timeout: Any = None,
    ) -> None:
        """Print the training job's log (following it until it ends with `wait`)."""
        from springboard.sagemaker.analytics import job_named
        from springboard.sagemaker.estimator import print_log

        print_log(job_named(job_name).id, follow=wait)


def get_execution_role(sagemaker_session: Any = None, use_default: bool = False) -> str:
    """A placeholder role ARN: nothing checks roles here."""
    return _role_arn()
