"""Run the control-plane API with uvicorn (`springboard serve`).

Loopback by default. Binding any other address needs an API key, and the refusal comes
before the socket is bound. Port 0 picks a free port; the URL is logged either way. The
socket, the key check and the uvicorn server are `springboard.http_server`'s, as an
endpoint server's are. Jobs created here run in their own worker processes, so stopping
the server (Ctrl-C, SIGTERM) leaves running jobs running.
"""

from __future__ import annotations

import logging

from springboard.config import get_settings
from springboard.errors import Issue, ValidationError
from springboard.http_server import bind, exposure_issue, url_for, uvicorn_server

log = logging.getLogger("springboard.api")


def check(host: str, port: int, api_key: str | None) -> None:
    """Every reason not to start, at once."""
    issues = []
    if not 0 <= port <= 65535:
        issues.append(Issue("port", "must be in 0..65535 (0 picks a free port)", port))
    exposed = exposure_issue(
        host, api_key, field="host", ways="set SPRINGBOARD_API_KEY or pass --api-key-file PATH"
    )
    if exposed:
        issues.append(exposed)
    if issues:
        raise ValidationError(issues, context="cannot serve")


def _data_roots() -> list[str]:
    """The data roots, the default one created (owner only) so it is there to copy into."""
    settings = get_settings()
    roots = settings.data_root_dirs
    if roots == [settings.home / "data"]:
        roots[0].mkdir(mode=0o700, parents=True, exist_ok=True)
    return [str(r) for r in roots]


def serve(host: str = "127.0.0.1", port: int = 8080, api_key: str | None = None) -> None:
    """Serve the API until interrupted; refuses a non-loopback host without an API key."""
    from springboard.api.app import create_app

    api_key = api_key or None
    check(host, port, api_key)
    sock = bind(host, port, field="port")
    url = url_for(host, sock.getsockname()[1])
    app = create_app(api_key=api_key, host=host)
    roots = _data_roots()
    server = uvicorn_server(app)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log.info(
        "Springboard control plane on %s (API docs at %s/docs)%s",
        url,
        url,
        "; API key required" if api_key else "",
    )
    log.info(
        "jobs created over HTTP read and write under %s only, or at %s",
        ", ".join(roots),
        ", ".join(f"{s}://" for s in sorted(get_settings().allowed_scheme_set)) or "no URL scheme",
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
