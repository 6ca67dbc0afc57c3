"""An endpoint on a Ray cluster: `python -m springboard.cluster.serve_endpoint NAME`.

Started by `endpoints.deploy(..., cluster=...)` in place of the local server process, it
is the endpoint's keeper on this machine: it joins the cluster, runs the endpoint as a Ray
Serve application of `instance_count` replicas behind the Serve proxy (head node only,
on the endpoint's host and port), records the URL and marks the endpoint InService once
every replica is up, then writes the replicas (state, node, process id) to
`replicas.json` in the endpoint's folder every few seconds (what `endpoints describe`
shows) until SIGTERM (`endpoints delete`), when it deletes the application and leaves
the cluster.

Each replica is Springboard's own endpoint: an `EndpointService` with its own Generator
and batcher, and the same app (`serving.app.create_app` with the OpenAI routes) a local
endpoint serves — not `@serve.batch`, which measured slower. Ray Serve replaces a replica
whose process or node died.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from springboard import processes
from springboard.config import get_settings

log = logging.getLogger("springboard.serving")

PLACEMENT_FILE, REPLICAS_FILE = "cluster.json", "replicas.json"
WATCH_SECONDS = 2.0


class EndpointPlacement(BaseModel):
    """Where an endpoint's replicas run (written by `deploy` beside its log)."""

    cluster: str
    instance_count: int = 1
    cpus_per_instance: float = 1.0
    min_instances: int | None = None  # with max_instances: Serve autoscales between them
    max_instances: int | None = None
    target_ongoing_requests: float = 2.0  # per replica, what the autoscaler aims for

    @property
    def autoscaling(self) -> dict[str, Any] | None:
        if self.min_instances is None and self.max_instances is None:
            return None
        return {
            "min_replicas": self.min_instances if self.min_instances is not None else 1,
            "initial_replicas": self.instance_count,
            "max_replicas": self.max_instances or self.instance_count,
            "target_ongoing_requests": self.target_ongoing_requests,
            "upscale_delay_s": 5.0,  # Serve's default (30 s) outlasts a burst of requests
        }


def endpoint_dir(name: str) -> Path:
    return get_settings().home / "endpoints" / name


def placement_for(
    cluster: str | None,
    instance_count: int = 1,
    *,
    min_instances: int | None = None,
    max_instances: int | None = None,
) -> EndpointPlacement | None:
    """A deploy request's placement, checked (None: a server process on this machine)."""
    from springboard.cluster.connection import address_of, require_ray
    from springboard.errors import ClientError

    address = address_of(cluster)
    low = min_instances if min_instances is not None else 1
    high = max_instances if max_instances is not None else max(instance_count, low)
    if not 0 <= low <= instance_count <= high:
        raise ClientError(
            f"instances must be min <= count <= max; got {min_instances}, "
            f"{instance_count}, {max_instances}",
            field="instance_count",
            value=instance_count,
            fix="set min_instances <= instance_count <= max_instances",
        )
    if address is None:
        if instance_count != 1 or min_instances is not None or max_instances is not None:
            raise ClientError(
                f"instance_count {instance_count} needs a Ray cluster; on this machine an "
                "endpoint is one server process",
                field="instance_count",
                value=instance_count,
                fix="name a cluster with `cluster` (or SPRINGBOARD_RAY_ADDRESS), or leave "
                "instance_count at 1",
            )
        return None
    require_ray()
    return EndpointPlacement(
        cluster=address,
        instance_count=instance_count,
        min_instances=min_instances,
        max_instances=max_instances,
    )


def save_placement(name: str, placement: EndpointPlacement) -> None:
    (endpoint_dir(name) / PLACEMENT_FILE).write_text(placement.model_dump_json())


def replicas(name: str) -> list[dict[str, Any]] | None:
    """The replicas its keeper last saw (None for an endpoint not on a cluster)."""
    path = endpoint_dir(name) / REPLICAS_FILE
    if not path.exists():
        return None
    try:
        return list(json.loads(path.read_text()))
    except (OSError, ValueError):  # being replaced this instant: shown next time
        return None


class EndpointReplica:
    """One replica: Springboard's endpoint service over its own Generator and batcher."""

    def __init__(
        self,
        name: str,
        spec: Any,
        env: dict[str, str],
        model_dir: str,
        api_key: str | None,
        host: str,
        threads: int,
    ) -> None:
        import torch

        from springboard.inference import LoadOptions
        from springboard.inference.generator import create_generator
        from springboard.serving.service import EndpointService
        from springboard.serving.settings import DeploymentSettings

        torch.set_num_threads(threads)
        settings = DeploymentSettings.from_env(env, spec)
        self.service = EndpointService(name, spec, settings)
        options = LoadOptions(
            dtype=settings.dtype,
            context_length=settings.n_positions,
            max_batch_size=settings.max_rolling_batch_size,
            limits=settings.request_limits(),
            backend=settings.backend,
            quantize=settings.quantize,
        )
        self.service.attach(create_generator(spec, model_dir, options))
        self.api_key, self.host = api_key, host

    def __serve_build_asgi_app__(self) -> Any:  # Ray Serve asks for the app after __init__
        from springboard.api.openai.router import create_router as openai_router
        from springboard.api.openai.router import error_response as openai_error
        from springboard.serving.app import create_app

        return create_app(
            self.service,
            api_key=self.api_key,
            host=self.host,
            routers=[openai_router(self.service)],
            render_error=openai_error,
        )

    def check_health(self) -> None:
        if not self.service.ready:
            raise RuntimeError("the model is not loaded")

    def __del__(self) -> None:
        self.service.shutdown()


def _serve_details() -> Any:
    """The Serve controller's details of the running instance (None when this Ray's client
    does not offer them: a private API that moved)."""
    try:
        from ray.serve.context import _get_global_client
        from ray.serve.schema import ServeInstanceDetails

        client = _get_global_client(raise_if_no_controller_running=False)
        return ServeInstanceDetails(**client.get_serve_details()) if client else None
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


def _proxy_port(asked: int) -> int:
    """The port Serve's proxy listens on: the one asked for, unless Serve was already
    running on this cluster (an earlier endpoint started it), whose port stays."""
    details = _serve_details()
    port = getattr(getattr(details, "http_options", None), "port", None)
    return int(port) if port else asked


def _replica_states(serve: Any, name: str) -> list[dict[str, Any]]:
    """Each replica of the application `name`: its deployment, state, id, node and process
    id, as the Serve controller details them (what `serve.status()` summarizes); only the
    states if this Ray's controller client does not offer the details."""
    details = _serve_details()
    if details is None:
        return _replica_counts(serve, name)
    app = details.applications.get(name)
    if app is None:
        return []
    return [
        {
            "deployment": deployment,
            "state": str(getattr(replica.state, "value", replica.state)),
            "replica_id": replica.replica_id,
            "node_id": replica.node_id,
            "node_ip": replica.node_ip,
            "pid": replica.pid,
        }
        for deployment, status in app.deployments.items()
        for replica in status.replicas
    ]


def _replica_counts(serve: Any, name: str) -> list[dict[str, Any]]:
    """The replicas' states alone, from `serve.status()`'s counts per state."""
    app = serve.status().applications.get(name)
    if app is None:
        return []
    out = []
    for deployment, status in app.deployments.items():
        for state, count in (status.replica_states or {}).items():
            out += [
                {"deployment": deployment, "state": str(getattr(state, "value", state))}
            ] * count
    return out


def _start_serve(http_options: dict[str, Any], attempts: int = 3) -> None:
    """`serve.start`, tried again when its HTTP proxy dies or is not ready in time: on a
    busy machine Serve's controller can kill a proxy that is slow to pass its first health
    check (`ActorDiedError: ... killed by ray.kill`), and the next start makes a new one."""
    from ray import serve
    from ray.exceptions import GetTimeoutError, RayActorError

    for attempt in range(1, attempts + 1):
        try:
            serve.start(http_options=http_options)
            return
        except (RayActorError, GetTimeoutError) as exc:
            if attempt == attempts:
                raise
            log.warning("Ray Serve's proxy did not start (%s); trying again", exc)


def serve_endpoint(name: str) -> int:
    """Deploy the endpoint's Serve application and watch it until SIGTERM."""
    from springboard.artifacts import resolve_model_dir
    from springboard.catalog import Catalog
    from springboard.cluster.connection import connected
    from springboard.http_server import configured_api_key
    from springboard.store import endpoint_records

    row = endpoint_records.get(name)
    if row is None:
        log.error("no endpoint named %s in the store", name)
        return 2
    stop = threading.Event()
    try:
        where = EndpointPlacement.model_validate_json(
            (endpoint_dir(name) / PLACEMENT_FILE).read_text()
        )
        spec = Catalog.load().get(row["model_id"], row["model_version"])
        model_dir = str(resolve_model_dir(spec, model_dir=row.get("model_dir")))
        with connected(where.cluster):
            from ray import serve

            # after ray.init, which installs its own: SIGTERM (endpoints delete) ends the
            # watch below, so the application is deleted before the process exits
            signal.signal(signal.SIGTERM, lambda *_: stop.set())

            asked = row["port"] or 8000
            _start_serve({"host": row["host"], "port": asked, "location": "HeadOnly"})
            port = _proxy_port(asked)
            if port != asked:  # one proxy per cluster: every application is served by it
                log.warning(
                    "Ray Serve already listens on port %d of this cluster (an earlier "
                    "endpoint started it); %s is served there, not on port %d",
                    port,
                    name,
                    asked,
                )
            deployment: Any = serve.deployment(
                serve.ingress()(EndpointReplica),
                name="endpoint",
                num_replicas=None if where.autoscaling else where.instance_count,
                autoscaling_config=where.autoscaling,
                ray_actor_options={"num_cpus": where.cpus_per_instance},
                # as many requests as a replica's batch holds (Serve's default is 5: a
                # replica would batch at most 5 of 16 clients' requests)
                max_ongoing_requests=_rolling_rows(spec, row["env"]),
                health_check_period_s=5,
            )
            app = deployment.bind(
                name,
                spec,
                row["env"],
                model_dir,
                configured_api_key(),
                row["host"],
                max(1, int(where.cpus_per_instance)),
            )
            log.info("deploying %s on %s: %d replicas", name, where.cluster, where.instance_count)
            serve.run(app, name=name, route_prefix=f"/{name}")
            url = f"http://{row['host']}:{port}/{name}"
            endpoint_records.update_row(
                name,
                url=url,
                port=port,
                status="InService",
                status_message=None,
                only_if_status=("Creating",),
            )
            log.info("endpoint %s is InService at %s", name, url)
            try:
                while not stop.is_set():
                    _write_replicas(name, _replica_states(serve, name))
                    stop.wait(WATCH_SECONDS)
            finally:
                serve.delete(name)
                (endpoint_dir(name) / REPLICAS_FILE).unlink(missing_ok=True)
                log.info("endpoint %s deleted from the cluster", name)
    except Exception as exc:  # recorded for `endpoints describe`, then exit
        log.exception("endpoint %s could not run on the cluster", name)
        endpoint_records.update_row(name, status="Failed", status_message=str(exc))
        return 1
    return 0


def _rolling_rows(spec: Any, env: dict[str, str]) -> int:
    """The rows a replica's continuous batch holds (its deployment settings)."""
    from springboard.serving.settings import DeploymentSettings

    return DeploymentSettings.from_env(env, spec).max_rolling_batch_size


def _write_replicas(name: str, states: list[dict[str, Any]]) -> None:
    path = endpoint_dir(name) / REPLICAS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(states))
    os.replace(tmp, path)


def main() -> None:
    processes.entrypoint(serve_endpoint, "python -m springboard.cluster.serve_endpoint NAME")


if __name__ == "__main__":
    main()
