"""Run the control-plane API with uvicorn (`springboard serve`).

Loopback by default. Binding any other address needs an API key, and the refusal comes
before the socket is bound. Port 0 picks a free port; the URL is logged either way. Jobs
created here run in their own worker processes, so stopping the server (Ctrl-C, SIGTERM)
leaves running jobs running.
"""

from __future__ import annotations

import logging
import socket

from springboard.config import get_settings
from springboard.errors import Issue, ValidationError
from springboard.http_guard import is_loopback

log = logging.getLogger("springboard.api")


def check(host: str, port: int, api_key: str | None) -> None:
    """Every reason not to start, at once."""
    issues = []
    if not 0 <= port <= 65535:
        issues.append(Issue("--port", "must be in 0..65535 (0 picks a free port)", port))
    if not is_loopback(host) and not api_key:
        issues.append(Issue("--host", f"binding {host} exposes the API beyond this machine, "
                            "and it has no API key", host,
                            "set SPRINGBOARD_API_KEY or pass --api-key-file PATH (clients send it as "
                            "'Authorization: Bearer KEY' or 'x-api-key: KEY'), or keep the "
                            "default 127.0.0.1"))
    if issues:
        raise ValidationError(issues, context="cannot serve")


def _bind(host: str, port: int) -> socket.socket:
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ValidationError([Issue("--port", f"cannot bind {host}:{port}: {exc.strerror}",
                                     port, "pick another port, or 0 for a free one")],
                              context="cannot serve") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _data_roots() -> list[str]:
    """The data roots, the default one created (owner only) so it is there to copy into."""
    settings = get_settings()
    roots = settings.data_root_dirs
    if roots == [settings.home / "data"]:
        roots[0].mkdir(mode=0o700, parents=True, exist_ok=True)
    return [str(r) for r in roots]


def url_for(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(host: str = "127.0.0.1", port: int = 8080, api_key: str | None = None) -> None:
    """Serve the API until interrupted; refuses a non-loopback host without an API key."""
    import uvicorn

    from springboard.api.app import create_app

    api_key = api_key or None
    check(host, port, api_key)
    sock = _bind(host, port)
    url = url_for(host, sock.getsockname()[1])
    app = create_app(api_key=api_key, host=host)
    roots = _data_roots()
    config = uvicorn.Config(app, log_level="info", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("Springboard control plane on %s (API docs at %s/docs)%s", url, url,
             "; API key required" if api_key else "")
    log.info("jobs created over HTTP read and write under %s only, or at %s",
             ", ".join(roots), ", ".join(f"{s}://" for s in sorted(
                 get_settings().allowed_scheme_set)) or "no URL scheme")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
