"""The endpoint server process: `python -m springboard.serving.server NAME`.

Started by `endpoints.deploy`, it reads its record from the store, binds its socket
(port 0 picks a free one) and records the URL, answers `/ping` with 503 while the model
loads in a background thread, then marks itself `InService`. A load failure is recorded
as `Failed` with the reason, and the process exits. SIGTERM drains in-flight requests
(uvicorn's graceful shutdown) before the batcher stops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import uvicorn

from springboard import processes
from springboard.api.openai.router import create_router as openai_router
from springboard.api.openai.router import error_response as openai_error
from springboard.catalog import Catalog
from springboard.serving.app import create_app
from springboard.serving.service import InvocationService
from springboard.serving.settings import DeploymentSettings
from springboard.store import endpoint_records

log = logging.getLogger("springboard.serving")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it Nagle holds every small response ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _load(service: InvocationService, row: dict, server: uvicorn.Server) -> None:
    from springboard.artifacts import resolve_model_dir
    from springboard.inference import Generator, LoadOptions

    name = service.name
    try:
        model_dir = resolve_model_dir(service.spec, model_dir=row.get("model_dir"))
        options = LoadOptions(dtype=service.settings.dtype,
                              context_length=service.settings.n_positions,
                              max_batch_size=service.settings.max_rolling_batch_size,
                              limits=service.settings.request_limits())
        service.attach(Generator(service.spec, model_dir, options))
    except Exception as exc:  # any load failure ends the endpoint with its reason recorded
        log.exception("loading %s failed", service.spec.id)
        service.load_error = str(exc)
        endpoint_records.update_row(name, status="Failed", status_message=f"model load failed: {exc}",
                                    only_if_status=("Creating",))
        server.should_exit = True
        return
    endpoint_records.update_row(name, status="InService", status_message=None,
                                only_if_status=("Creating",))
    preset = service.settings.matching_preset(service.spec)
    log.info("endpoint %s is InService: %s %s; settings %s%s", name, service.spec.id,
             service.spec.version, service.settings.model_dump(),
             f"; matches the catalog preset '{preset.name}'" if preset else "")


def serve(name: str) -> int:
    row = endpoint_records.get(name)
    if row is None:
        log.error("no endpoint named %s in the store", name)
        return 2
    try:
        spec = Catalog.load().get(row["model_id"], row["model_version"])
        settings = DeploymentSettings.from_env(row["env"], spec)
        sock = _bind(row["host"], row["port"] or 0)
    except Exception as exc:  # recorded for `endpoints describe`, then exit
        log.exception("endpoint %s could not start", name)
        endpoint_records.update_row(name, status="Failed", status_message=str(exc))
        return 1
    port = sock.getsockname()[1]
    url = url_for(row["host"], port)
    endpoint_records.update_row(name, port=port, url=url)
    log.info("endpoint %s listening on %s (pid %d)", name, url, os.getpid())
    service = InvocationService(name, spec, settings)
    # The process is where the protocols meet: the endpoint's own routes, and OpenAI's.
    app = create_app(service, api_key=os.environ.get("SPRINGBOARD_API_KEY") or None,
                     host=row["host"], routers=[openai_router(service)],
                     render_error=openai_error)
    config = uvicorn.Config(app, log_level="info", access_log=False,
                            timeout_graceful_shutdown=int(settings.model_server_timeout) + 5,
                            timeout_keep_alive=30)
    server = uvicorn.Server(config)
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
