"""Endpoint lifecycle: deploy, list, describe, logs, delete.

An endpoint is a server process of its own (`serving.server`) plus a row in the store.
Statuses: `Creating` → `InService` | `Failed`, and `Deleting` while it drains — the state
machine in `store.endpoint_records` (`EndpointStatus`, `TRANSITIONS`), which refuses any
other change. Reading an endpoint checks that its process is still alive, so one that
died shows `Failed` with the last lines of its log — never a stale `InService`.

`deploy --env` variables that are not deployment settings (HF_TOKEN, HF_HOME, ...) reach
the server through its process environment only: the store, `describe` and the log keep
their names, never their values. The endpoint's folder and log are private to the user.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from springboard import permissions, processes
from springboard.catalog import Catalog, require_eula
from springboard.config import get_settings
from springboard.errors import ClientError, Issue, NotFoundError, ServerError, ValidationError
from springboard.http_server import configured_api_key, exposure_issue
from springboard.serving.settings import ENV_FIELDS, DeploymentSettings
from springboard.store import endpoint_records
from springboard.store.endpoint_records import EndpointStatus
from springboard.store.schema import REDACTED

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # the whole name: fullmatch
LIVE_STATUSES = tuple(s.value for s in endpoint_records.LIVE)


class EndpointInfo(BaseModel):
    """What `endpoints describe` shows (and `deploy --json` prints)."""

    name: str
    url: str | None
    status: EndpointStatus
    status_message: str | None
    model_id: str
    model_version: str
    pid: int | None
    settings: dict[str, str]
    log_path: str
    created_at: datetime
    updated_at: datetime
    replicas: list[dict[str, Any]] | None = None  # on a Ray cluster: each replica's state


class NameInUseError(ClientError):
    code = "conflict"
    http_status = 409


class EndpointFailedError(ServerError):
    code = "endpoint_failed"


def _info(row: dict[str, Any]) -> EndpointInfo:
    return EndpointInfo(
        name=row["name"],
        url=row["url"],
        status=row["status"],
        status_message=row["status_message"],
        model_id=row["model_id"],
        model_version=row["model_version"],
        pid=row["pid"],
        settings=_shown(row["env"]),
        log_path=row["log_path"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        replicas=_replicas(row["name"]),
    )


def _replicas(name: str) -> list[dict[str, Any]] | None:
    from springboard.cluster.serve_endpoint import replicas

    return replicas(name)


def _shown(env: dict[str, str]) -> dict[str, str]:
    """The stored variables, values only for deployment settings (rows written before
    values were redacted included)."""
    return {k: v if k in ENV_FIELDS else REDACTED for k, v in env.items()}


def _endpoint_dir(name: str) -> Path:
    home = get_settings().home
    return permissions.private_dir(home / "endpoints" / name, home)


def _alive(row: dict[str, Any]) -> bool:
    if not row.get("pid"):
        return row["status"] == EndpointStatus.CREATING  # not spawned yet
    return processes.alive(row["pid"], row.get("pid_started"))


def _reconcile(row: dict[str, Any]) -> dict[str, Any]:
    """Mark an endpoint whose process died as Failed, with the end of its log."""
    if row["status"] in LIVE_STATUSES and not _alive(row):
        tail = processes.log_tail(row["log_path"], 10)
        message = "the server process exited" + (f"; last log lines:\n{tail}" if tail else "")
        endpoint_records.transition(
            row["name"], EndpointStatus.FAILED, message=message, expected=LIVE_STATUSES
        )
        row = endpoint_records.get(row["name"]) or row
    return row


def _row(name: str) -> dict[str, Any]:
    row = endpoint_records.get(name)
    if row is None:
        known = [r["name"] for r in endpoint_records.list_all()]
        raise NotFoundError(
            f"no endpoint named '{name}'",
            field="name",
            value=name,
            fix=("endpoints: " + ", ".join(known))
            if known
            else "deploy one with `springboard deploy MODEL_ID`",
        )
    return row


def default_name(model_id: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{model_id[: 63 - len(stamp) - 1].rstrip('-')}-{stamp}"


def deploy(
    model_id: str,
    *,
    version: str = "*",
    name: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    env: dict[str, str] | None = None,
    accept_eula: bool = False,
    model_dir: str | None = None,
    wait: bool = True,
    timeout: float = 600.0,
    cluster: str | None = None,
    instance_count: int = 1,
    min_instances: int | None = None,
    max_instances: int | None = None,
) -> EndpointInfo:
    """Start an endpoint serving `model_id`; by default return once it is healthy. With a
    `cluster`, its `instance_count` replicas run on Ray Serve there (`cluster.serve_endpoint`),
    autoscaled between `min_instances` and `max_instances` when either is given."""
    from springboard.artifacts import resolve_model_dir
    from springboard.cluster.serve_endpoint import placement_for

    env = dict(env or {})
    spec = Catalog.load().get(model_id, version)
    require_eula(spec, accept_eula)  # before anything is resolved, downloaded or started
    name = name or default_name(spec.id)
    issues = []
    if not NAME_PATTERN.fullmatch(name):
        issues.append(
            Issue(
                "name",
                f"{name!r} is not a valid endpoint name",
                name,
                "use 1-63 letters, digits and hyphens, starting and ending with a letter or digit",
            )
        )
    if not 0 <= port <= 65535:
        issues.append(Issue("port", f"must be in 0..65535 (0 picks a free port); got {port}", port))
    api_key = env.pop("SPRINGBOARD_API_KEY", None) or configured_api_key()
    exposed = exposure_issue(host, api_key, field="host", ways="set SPRINGBOARD_API_KEY")
    if exposed:
        issues.append(exposed)
    if issues:
        raise ValidationError(issues, context="cannot deploy")
    on_cluster = placement_for(  # None: a server process here
        cluster, instance_count, min_instances=min_instances, max_instances=max_instances
    )
    settings = DeploymentSettings.from_env(env, spec)
    resolve_model_dir(spec, model_dir=model_dir)  # missing weights fail now, not in the log
    log_path = _endpoint_dir(name) / "server.log"
    try:
        endpoint_records.insert(
            {
                "name": name,
                "model_id": spec.id,
                "model_version": spec.version,
                "status": EndpointStatus.CREATING,
                "status_message": "starting the server process",
                "host": host,
                "port": port or None,
                "url": None,
                "pid": None,
                "pid_started": None,
                "env": {**settings.to_env(), **_redacted(_extra_env(env))},
                "model_dir": model_dir,
                "log_path": str(log_path),
            }
        )
    except endpoint_records.DuplicateNameError:
        existing = endpoint_records.get(name) or {}
        raise NameInUseError(
            f"the endpoint name '{name}' is in use ({existing.get('status', 'unknown')})",
            field="name",
            value=name,
            fix="pick another `name`, or delete the existing endpoint first",
        ) from None
    # variables that are not deployment settings (OMP_NUM_THREADS, HF_HOME, ...) reach the server
    child_env = {**os.environ, **_extra_env(env), "SPRINGBOARD_HOME": str(get_settings().home)}
    if api_key:
        child_env["SPRINGBOARD_API_KEY"] = api_key
    with open(log_path, "ab", opener=permissions.opener) as log:
        log.write(
            f"\n--- deploy {name}: {spec.id} {spec.version} at {datetime.now().isoformat()}\n".encode()
        )
    module = "springboard.serving.server"
    if on_cluster is not None:
        from springboard.cluster.serve_endpoint import save_placement

        save_placement(name, on_cluster)
        module = "springboard.cluster.serve_endpoint"
    pid, started = processes.spawn(module, [name], log_path=log_path, env=child_env)
    endpoint_records.update_row(name, pid=pid, pid_started=started)
    return wait_until_in_service(name, timeout) if wait else describe(name)


def _extra_env(env: dict[str, str]) -> dict[str, str]:
    """User variables that are not deployment settings: for the server's environment."""
    return {k: v for k, v in env.items() if k not in ENV_FIELDS}


def _redacted(env: dict[str, str]) -> dict[str, str]:
    """What is stored for them: the names only. A value may be a token, or a URL with a
    password in it, whatever the variable is called, so none is kept."""
    return dict.fromkeys(env, REDACTED)


def wait_until_in_service(name: str, timeout: float = 600.0, poll: float = 0.2) -> EndpointInfo:
    deadline = time.monotonic() + timeout
    while True:
        row = _reconcile(_row(name))
        if row["status"] == EndpointStatus.IN_SERVICE:
            return _info(row)
        if row["status"] == EndpointStatus.FAILED:
            raise EndpointFailedError(
                f"endpoint {name} failed to start: {row['status_message']}",
                field="name",
                value=name,
                fix=f"see its log: springboard endpoints logs {name}",
            )
        if time.monotonic() > deadline:
            raise EndpointFailedError(
                f"endpoint {name} is still {row['status']} after {timeout:g} s",
                field="name",
                value=name,
                fix=f"see its log: springboard endpoints logs {name}",
            )
        time.sleep(poll)


def describe(name: str) -> EndpointInfo:
    return _info(_reconcile(_row(name)))


def list_endpoints() -> list[EndpointInfo]:
    return [_info(_reconcile(row)) for row in endpoint_records.list_all()]


def log_path(name: str) -> Path:
    return Path(_row(name)["log_path"])


def delete(name: str, timeout: float = 60.0) -> None:
    """Drain in-flight requests, stop the process, and remove the record."""
    row = _reconcile(_row(name))
    if row["status"] != EndpointStatus.DELETING:  # a delete that was cut short may run again
        endpoint_records.require(name, EndpointStatus.DELETING, message="draining")
    if row.get("pid"):  # uvicorn finishes in-flight requests on SIGTERM, then exits
        processes.terminate(row["pid"], row.get("pid_started"), grace=timeout)
    endpoint_records.remove(name)


def url_of(name: str) -> str:
    """The URL of an endpoint that is InService (raise otherwise)."""
    info = describe(name)
    if info.status != EndpointStatus.IN_SERVICE or not info.url:
        raise ClientError(
            f"endpoint {name} is {info.status}, not InService"
            + (f": {info.status_message}" if info.status_message else ""),
            field="name",
            value=name,
            fix=f"check `springboard endpoints describe {name}`",
        )
    return info.url
