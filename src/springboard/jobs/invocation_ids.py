"""Names of invocation jobs and their records: 12-character job ids, the managed
service's job ARNs, and the 11-character id a record without one gets (the same on
every run of the job, so a resumed job names it the same way)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

from springboard.config import get_settings

ID_ALPHABET = string.ascii_lowercase + string.digits
RECORD_ID_ALPHABET = string.ascii_uppercase + string.digits
ARN_PATTERN = re.compile(r"^arn:aws:bedrock:[^:]*:[^:]*:model-invocation-job/([a-z0-9]{12})$")


def new_job_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def job_arn(job_id: str) -> str:
    settings = get_settings()
    return f"arn:aws:bedrock:{settings.region}:{settings.account_id}:model-invocation-job/{job_id}"


def record_id_for(job_id: str, file_name: str, index: int) -> str:
    """An 11-character id for a record that has none: the same on every run of the job."""
    number = int.from_bytes(
        hashlib.sha256(f"{job_id}/{file_name}/{index}".encode()).digest()[:8], "big"
    )
    chars = []
    for _ in range(11):
        number, digit = divmod(number, len(RECORD_ID_ALPHABET))
        chars.append(RECORD_ID_ALPHABET[digit])
    return "".join(chars)
