"""Deployment settings, read from the environment variables managed hubs use.

`OPTION_N_POSITIONS`, `OPTION_MAX_ROLLING_BATCH_SIZE`, `OPTION_DTYPE`,
`OPTION_TENSOR_PARALLEL_DEGREE`, `SAGEMAKER_MODEL_SERVER_TIMEOUT`,
`SAGEMAKER_MODEL_SERVER_WORKERS`, plus Springboard's own queue and payload limits and
the request limits (`SPRINGBOARD_MAX_TOP_K`, ...: what one request may ask for, described
in `inference.limits`). Validated once, at deploy time and again when the server starts,
with every bad value reported together.

`env_key_issues` refuses a variable in the managed hubs' or Springboard's namespaces
(`OPTION_*`, `SAGEMAKER_*`, `SPRINGBOARD_*`) that nothing reads, naming the nearest one
that is read: a typo such as `OPTION_MAX_ROLING_BATCH_SIZE` would otherwise reach the
server's environment and be ignored in silence. Springboard's process settings
(`config.Settings`) and the managed hub's container variables with no meaning here
(`PORTED_ENV`) pass. Other variables (`HF_TOKEN`, user variables) are not checked. This
module does not start anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from springboard.catalog import DeploymentPreset, ModelSpec
from springboard.config import Settings
from springboard.errors import Issue, ValidationError, issues_from_pydantic
from springboard.inference.limits import LIMIT_ENV, RequestLimits
from springboard.options import payload_limit_mb

# environment variable -> field
ENV_FIELDS: dict[str, str] = {
    "OPTION_N_POSITIONS": "n_positions",
    "OPTION_MAX_ROLLING_BATCH_SIZE": "max_rolling_batch_size",
    "OPTION_DTYPE": "dtype",
    "OPTION_TENSOR_PARALLEL_DEGREE": "tensor_parallel_degree",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "model_server_timeout",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "model_server_workers",
    "SPRINGBOARD_MAX_QUEUE_SIZE": "max_queue_size",
    "SPRINGBOARD_MAX_PAYLOAD_MB": "max_payload_mb",
    "SPRINGBOARD_BATCH_WAIT_MS": "batch_wait_ms",
    "SPRINGBOARD_STREAM_INTERVAL_MS": "stream_interval_ms",
    "OPTION_ROLLING_BATCH": "rolling_batch",
    "OPTION_CHAT_TEMPLATE": "chat_template",
    "OPTION_BACKEND": "backend",
    "OPTION_QUANTIZE": "quantize",
    **{var: name for name, var in LIMIT_ENV.items()},
}
FIELD_ENV = {v: k for k, v in ENV_FIELDS.items()}

# Namespaces where an unknown variable is a mistake: the managed hubs' and ours.
RESERVED_PREFIXES = ("OPTION_", "SAGEMAKER_", "SPRINGBOARD_")
# The managed hub's container variables that mean nothing here: accepted, so that an
# environment copied from a managed deployment ports, and passed along unread.
PORTED_ENV = frozenset(
    {
        "SAGEMAKER_PROGRAM",
        "SAGEMAKER_SUBMIT_DIRECTORY",
        "SAGEMAKER_CONTAINER_LOG_LEVEL",
        "SAGEMAKER_ENV",
        "SAGEMAKER_REGION",
        "SAGEMAKER_MODEL_SERVER_VMARGS",
    }
)


def _process_env_keys() -> frozenset[str]:
    """Springboard's process settings (`SPRINGBOARD_HOME`, ...), read in any case."""
    prefix = str(Settings.model_config.get("env_prefix") or "")
    return frozenset(f"{prefix}{name}".upper() for name in Settings.model_fields)


def known_env_keys() -> frozenset[str]:
    """The reserved-namespace variables something reads: the deployment settings above,
    Springboard's process settings and `PORTED_ENV`."""
    return frozenset(ENV_FIELDS) | _process_env_keys() | PORTED_ENV


def env_key_issues(env: Mapping[str, str]) -> list[Issue]:
    """One issue per `OPTION_*`/`SAGEMAKER_*`/`SPRINGBOARD_*` key (in any case) that
    nothing reads, naming the nearest known one. Deployment settings are read as
    spelled here (upper case); process settings in any case, as pydantic reads them."""
    known = known_env_keys()
    process = _process_env_keys()
    issues = []
    for key in env:
        upper = key.upper()
        if not upper.startswith(RESERVED_PREFIXES) or key in known or upper in process:
            continue
        prefix = next(p for p in RESERVED_PREFIXES if upper.startswith(p))
        same = sorted(k for k in known if k.startswith(prefix))
        nearest = _nearest(upper, prefix, same, known)
        fix = f"did you mean {nearest}?" if nearest else "known: " + ", ".join(same)
        issues.append(Issue(key, "is not a setting Springboard knows", key, fix))
    return issues


def _tail(key: str) -> str:
    prefix = next((p for p in RESERVED_PREFIXES if key.startswith(p)), "")
    return key[len(prefix) :]


def _nearest(key: str, prefix: str, same: list[str], known: frozenset[str]) -> str | None:
    """The known key `key` most likely meant, compared after the namespace (which would
    make every OPTION_ key look alike): in its own namespace, else the same name in
    another one (SPRINGBOARD_MAX_ROLLING_BATCH_SIZE -> OPTION_MAX_ROLLING_BATCH_SIZE)."""
    for candidates, cutoff in ((same, 0.6), (sorted(known - set(same)), 0.8)):
        tails = {_tail(k): k for k in candidates}
        close = difflib.get_close_matches(key[len(prefix) :], list(tails), n=1, cutoff=cutoff)
        if close:
            return tails[close[0]]
    return None


def _limit(name: str) -> Any:
    """The request limit's own field (type, default, bounds, description), described once."""
    return deepcopy(RequestLimits.model_fields[name])


class DeploymentSettings(BaseModel):
    """How an endpoint serves its model. Defaults come from the model's first preset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_positions: int | None = Field(
        None, gt=0, description="Context limit per request (prompt + new tokens)."
    )
    max_rolling_batch_size: int = Field(
        16, gt=0, le=1024, description="Most rows in one forward pass."
    )
    dtype: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="Weights dtype.")
    tensor_parallel_degree: int = Field(1, ge=1, description="Devices to shard the model over.")
    model_server_timeout: float = Field(
        60.0, gt=0, description="Seconds a request may take before 504."
    )
    model_server_workers: int = Field(
        1, ge=1, le=64, description="Threads running batches on the shared model."
    )
    max_queue_size: int = Field(
        256, ge=1, description="Requests waiting at most; beyond it 503 + Retry-After."
    )
    max_payload_mb: float = payload_limit_mb("Largest request body, in MB; beyond it 413.")
    batch_wait_ms: float = Field(
        2.0, ge=0, le=1000, description="How long a batch waits for more requests."
    )
    stream_interval_ms: float = Field(
        50.0,
        ge=0,
        le=1000,
        description="A streamed reply is written at most this often (its first token and "
        "its end at once); 0: each decoding step's tokens as they come. 50 ms (20 writes a "
        "second, smoother than reading speed) keeps streaming from costing a busy server "
        "throughput; only streams faster than 20 tokens/s are coalesced.",
    )
    rolling_batch: Literal["auto", "continuous", "dynamic"] = Field(
        "auto",
        description="continuous: requests join and leave the running batch between "
        "decoding steps (causal models); dynamic: whole batches of queued requests; auto: "
        "continuous where the model supports it.",
    )
    chat_template: str | None = Field(
        None,
        description="A Jinja chat template file for /v1/chat/completions, instead of "
        "the tokenizer's own.",
    )
    backend: Literal["torch", "ctranslate2", "auto"] = Field(
        "torch",
        description="torch (eager, every model), ctranslate2 (compiled for the CPU, from "
        "the compiled-model cache) or auto (the catalog preset's choice).",
    )
    quantize: str | None = Field(
        None,
        description="ctranslate2 quantization: float32 (default), int8, int8_float32, ... "
        "as the engine supports on this machine.",
    )
    max_top_k: int = _limit("max_top_k")
    max_return_sequences: int = _limit("max_return_sequences")
    max_beams: int = _limit("max_beams")
    max_inputs: int = _limit("max_inputs")
    max_prompt_chars: int = _limit("max_prompt_chars")

    @field_validator("chat_template")
    @classmethod
    def _readable_template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"{value} is not a readable file (give a Jinja chat template)")
        return str(path.resolve())

    @field_validator("backend", "quantize", mode="before")
    @classmethod
    def _lowered(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("backend")
    @classmethod
    def _batching_it_runs(cls, value: str, info: ValidationInfo) -> str:
        if value == "ctranslate2" and info.data.get("rolling_batch") == "continuous":
            raise ValueError(
                "batches whole requests (dynamic batching); OPTION_ROLLING_BATCH=continuous "
                "is the torch backend's (use OPTION_ROLLING_BATCH=auto or dynamic)"
            )
        return value

    @field_validator("quantize")
    @classmethod
    def _runnable_quantize(cls, value: str | None, info: ValidationInfo) -> str | None:
        from springboard.compiled.quantize import supported_quantizations

        if value is None:
            return None
        if info.data.get("backend") == "torch":
            raise ValueError(
                "applies to the ctranslate2 backend only (set OPTION_BACKEND=ctranslate2 "
                "or auto, or leave OPTION_QUANTIZE out)"
            )
        allowed = supported_quantizations()
        if value not in allowed:
            raise ValueError(
                "is not a quantization the ctranslate2 engine supports on this machine's "
                "CPU (use one of: " + ", ".join(allowed) + ")"
            )
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str], spec: ModelSpec | None = None) -> DeploymentSettings:
        """Read the settings from `env` (only the variables above), over the spec's preset.
        An unknown variable in a reserved namespace is refused with the rest."""
        unknown = env_key_issues(env)
        values: dict[str, Any] = {}
        preset = spec.deployment_presets[0] if spec and spec.deployment_presets else None
        if preset:
            values.update(max_rolling_batch_size=preset.max_batch_size, dtype=preset.dtype)
        for var, name in ENV_FIELDS.items():
            if var in env and env[var] != "":
                lowered = name in ("dtype", "rolling_batch")
                values[name] = env[var].strip().lower() if lowered else env[var]
        try:
            settings = cls.model_validate(values)
        except pydantic.ValidationError as exc:
            issues = issues_from_pydantic(exc)
            for issue in issues:
                issue.field = FIELD_ENV.get(issue.field or "", issue.field)
            raise ValidationError(unknown + issues, context="invalid deployment settings") from None
        if unknown:
            raise ValidationError(unknown, context="invalid deployment settings")
        settings.check_devices()
        return settings

    def request_limits(self) -> RequestLimits:
        """What one request to this endpoint may ask for."""
        return RequestLimits(**{name: getattr(self, name) for name in LIMIT_ENV})

    def check_devices(self) -> None:
        if self.tensor_parallel_degree == 1:
            return  # always possible; avoid importing torch just to count devices
        import torch

        devices = torch.cuda.device_count()
        if self.tensor_parallel_degree > max(devices, 1):
            raise ValidationError(
                [
                    Issue(
                        "OPTION_TENSOR_PARALLEL_DEGREE",
                        f"asks for {self.tensor_parallel_degree} devices but this machine has "
                        f"{devices} GPU(s)",
                        self.tensor_parallel_degree,
                        f"set it to at most {max(devices, 1)}",
                    )
                ]
            )

    def matching_preset(self, spec: ModelSpec) -> DeploymentPreset | None:
        """The catalog preset these settings equal, if any (it then starts as tested)."""
        context = self.n_positions or spec.context_length
        for preset in spec.deployment_presets:
            if (
                preset.context_length,
                preset.max_batch_size,
                preset.dtype,
                preset.tensor_parallel_degree,
            ) == (context, self.max_rolling_batch_size, self.dtype, self.tensor_parallel_degree):
                return preset
        return None

    def to_env(self) -> dict[str, str]:
        return {
            FIELD_ENV[name]: str(value)
            for name, value in self.model_dump().items()
            if value is not None
        }
