"""The one settings object, read once from the environment.

Holds where Springboard keeps its state (`SPRINGBOARD_HOME`), which database it uses,
extra user catalog directories, and whether it may reach the network. It does not create
directories or open the database: `store` and `artifacts` do that on first use.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _split_paths(value: str) -> list[Path]:
    """The paths in an `os.pathsep`-separated list; empty parts are skipped."""
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


class Settings(BaseSettings):
    """Every setting Springboard reads from the environment (prefix `SPRINGBOARD_`)."""

    model_config = SettingsConfigDict(env_prefix="SPRINGBOARD_", extra="ignore")

    home: Path = Field(
        default=Path("~/.springboard"),
        description="Where state lives: state.db, models/, jobs/, endpoints/.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default a SQLite file `state.db` under home (WAL mode).",
    )
    catalog_path: str = Field(
        default="",
        description=f"Extra catalog directories of model spec JSON files, separated by '{os.pathsep}'.",
    )
    offline: bool = Field(
        default=True,
        description="When true (the default) nothing is downloaded: weights come from "
        "bundled files, local directories or the Hugging Face cache only.",
    )
    trust_remote_code: bool = Field(
        default=False, description="Allow model repos that ship their own Python code."
    )
    allow_pickle: bool = Field(
        default=False, description="Allow pickle (.bin/.pt) weights; safetensors only by default."
    )
    max_concurrent_invocation_jobs: int = Field(
        default=3,
        ge=1,
        description="Invocation jobs that run at once; later ones wait as Scheduled.",
    )
    max_queued_invocation_jobs: int = Field(
        default=20,
        ge=1,
        description="Invocation jobs that may be waiting or running at once; "
        "beyond it a new job is refused (ServiceQuotaExceededException).",
    )
    data_roots: str = Field(
        default="",
        description="Folders that input and output locations given through the HTTP APIs must "
        f"lie under, separated by '{os.pathsep}' (symlinks are followed before the check). "
        "Default: `data/` under home. The local CLI and SDK may use any path.",
    )
    allowed_schemes: str = Field(
        default="s3",
        description="URL schemes that HTTP callers may give as input or output locations, "
        "comma-separated (default `s3`; `file://` is a local path and follows data_roots). "
        "The local CLI and SDK may use any scheme fsspec can open.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Host names the control plane and endpoints answer to besides loopback "
        "names and the address they bind, comma-separated; `*` answers any (the check "
        "defends against DNS rebinding).",
    )
    api_max_body_kb: int = Field(
        default=1024,
        ge=1,
        description="Largest request body the control plane reads, in KiB; "
        "beyond it 413 before the rest is read.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="The key the control plane and endpoints require (as "
        "`Authorization: Bearer KEY` or `x-api-key: KEY`) on every route but /ping; unset: none.",
    )
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="torch/OpenMP threads for every job worker and "
        "endpoint server; unset: the thread budget, cores // heavy processes running.",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster jobs run on when no `--cluster` is given (`host:port`, "
        "`ray://host:port` or `auto`); unset: on this machine, as separate processes.",
    )
    prefork: bool = Field(
        default=True,
        description="Start job workers and endpoint servers by forking a process that has "
        "imported torch already (a zygote, Linux only; it exits after `prefork_idle` idle "
        "seconds): each starts ~4 s of CPU sooner. 0: start each as a new Python.",
    )
    prefork_idle: float = Field(
        default=300.0,
        gt=0,
        description="Seconds an idle zygote (see `prefork`) waits before it exits.",
    )
    runtime_dir: Path | None = Field(
        default=None,
        description="Owner-only folder of the zygotes' sockets and logs; default "
        "`$XDG_RUNTIME_DIR/springboard`, else `/tmp/springboard-UID`.",
    )
    progress_interval: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between the plain progress lines the CLI writes to stderr "
        "while it waits without a terminal; 0: only the line at the end.",
    )
    files_max_mb: int = Field(
        default=200,
        ge=1,
        description="Largest file the control plane's Files API (`POST /v1/files`) keeps, in MiB.",
    )
    region: str = Field(default="us-east-1", description="Region written into job ARNs.")
    account_id: str = Field(default="000000000000", description="Account written into job ARNs.")

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def catalog_dirs(self) -> list[Path]:
        return _split_paths(self.catalog_path)

    @property
    def data_root_dirs(self) -> list[Path]:
        """The data roots, resolved (symlinks followed)."""
        return [p.resolve() for p in _split_paths(self.data_roots)] or [self.home / "data"]

    @property
    def allowed_scheme_set(self) -> frozenset[str]:
        return frozenset(s.strip().lower() for s in self.allowed_schemes.split(",") if s.strip())

    @property
    def allowed_host_names(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'state.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first call."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
