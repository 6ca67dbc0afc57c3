"""The endpoint server process: `python -m springboard.serving.server NAME`.

Started by `endpoints.deploy`, it reads its record from the store, binds its socket
(port 0 picks a free one) and records the URL, answers `/ping` with 503 while the model
loads in a background thread, then marks itself `InService`. A load failure is recorded
as `Failed` with the reason, and the process exits. SIGTERM drains in-flight requests
(uvicorn's graceful shutdown) before the batcher stops. The socket, the API key, the
guard and the error shapes are `springboard.http_server`'s, as the control plane's are;
torch's threads are the process's thread budget (`springboard.thread_budget`).
"""

from __future__ import annotations

import logging
import os
import threading

import uvicorn

from springboard import processes, thread_budget
from springboard.api.openai.router import create_router as openai_router
from springboard.api.openai.router import error_response as openai_error
from springboard.catalog import Catalog
from springboard.http_server import bind, configured_api_key, url_for, uvicorn_server
from springboard.serving.app import create_app
from springboard.serving.service import EndpointService
from springboard.serving.settings import DeploymentSettings
from springboard.store import endpoint_records

log = logging.getLogger("springboard.serving")


def _load(service: EndpointService, row: dict, server: uvicorn.Server) -> None:
    from springboard.artifacts import resolve_model_dir
    from springboard.inference import LoadOptions
    from springboard.inference.generator import create_generator

    name = service.name
    try:
        thread_budget.apply()  # torch/OpenMP threads for this process's life
        model_dir = resolve_model_dir(service.spec, model_dir=row.get("model_dir"))
        options = LoadOptions(
            dtype=service.settings.dtype,
            context_length=service.settings.n_positions,
            max_batch_size=service.settings.max_rolling_batch_size,
            limits=service.settings.request_limits(),
            backend=service.settings.backend,
            quantize=service.settings.quantize,
        )
        service.attach(create_generator(service.spec, model_dir, options))
    except Exception as exc:  # any load failure ends the endpoint with its reason recorded
        log.exception("loading %s failed", service.spec.id)
        service.load_error = str(exc)
        endpoint_records.update_row(
            name,
            status="Failed",
            status_message=f"model load failed: {exc}",
            only_if_status=("Creating",),
        )
        server.should_exit = True
        return
    endpoint_records.update_row(
        name, status="InService", status_message=None, only_if_status=("Creating",)
    )
    preset = service.settings.matching_preset(service.spec)
    log.info(
        "endpoint %s is InService: %s %s; settings %s%s",
        name,
        service.spec.id,
        service.spec.version,
        service.settings.model_dump(),
        f"; matches the catalog preset '{preset.name}'" if preset else "",
    )


def serve(name: str) -> int:
    row = endpoint_records.get(name)
    if row is None:
        log.error("no endpoint named %s in the store", name)
        return 2
    try:
        spec = Catalog.load().get(row["model_id"], row["model_version"])
        settings = DeploymentSettings.from_env(row["env"], spec)
        sock = bind(row["host"], row["port"] or 0)
    except Exception as exc:  # recorded for `endpoints describe`, then exit
        log.exception("endpoint %s could not start", name)
        endpoint_records.update_row(name, status="Failed", status_message=str(exc))
        return 1
    port = sock.getsockname()[1]
    url = url_for(row["host"], port)
    endpoint_records.update_row(name, port=port, url=url)
    log.info("endpoint %s listening on %s (pid %d)", name, url, os.getpid())
    service = EndpointService(name, spec, settings)
    # The process is where the protocols meet: the endpoint's own routes, and OpenAI's.
    app = create_app(
        service,
        api_key=configured_api_key(),
        host=row["host"],
        routers=[openai_router(service)],
        render_error=openai_error,
    )
    server = uvicorn_server(
        app, access_log=False, graceful_timeout=int(settings.model_server_timeout) + 5
    )
    threading.Thread(target=_load, args=(service, row, server), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        service.shutdown()
        log.info("endpoint %s stopped", name)
    return 1 if service.load_error else 0


def main() -> None:
    processes.entrypoint(serve, "python -m springboard.serving.server ENDPOINT_NAME")


if __name__ == "__main__":
    main()
