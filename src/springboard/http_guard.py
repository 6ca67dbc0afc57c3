"""The checks every Springboard HTTP server makes before a route runs (one ASGI middleware).

Shared by the control plane (`springboard serve`) and the endpoint servers, in this order:
1. **Host**: only the server's own names (loopback names, the bound address, and
   `SPRINGBOARD_ALLOWED_HOSTS`), so a web page cannot reach a loopback server through DNS
   rebinding. A server bound to a wildcard address (which needs an API key) answers any
   name unless the setting lists them.
2. **Cross-site browser requests** to state-changing methods are refused: a
   `Sec-Fetch-Site` other than `same-origin`/`none`, or an `Origin` that is not the server's.
3. **The API key**, when one is set, on every path but the open ones (`/ping`):
   `Authorization: Bearer KEY` (scheme in any case) or `x-api-key: KEY` — also beside a
   SigV4 `Authorization` header, as boto3 sends it. A bare key in `Authorization` is refused.
4. **Content types a web page can send without asking** (`text/plain`, forms) are refused
   on a server without a key — except multipart uploads on the upload paths (`uploads`,
   e.g. `POST /v1/files`), which clients send that way; a browser sending one cross-site is
   stopped by check 2, as for `application/x-www-form-urlencoded`.
5. **The body** is read here, up to the limit (the upload limit on upload paths): a larger
   `Content-Length` is refused before reading, and a chunked body is refused as soon as it
   passes the limit, so the server never holds more than the limit. The route then reads
   the buffered body as usual.

Refusals are typed errors; the server's own `render` turns them into its wire shape. This
module does not know any route or protocol.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from springboard.errors import (
    ForbiddenError,
    PayloadTooLargeError,
    SpringboardError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Body types a web page may send anywhere without a CORS preflight. Without a key these
# are refused; application/x-www-form-urlencoded (curl's default for -d) is let through:
# browsers that send it cross-site are stopped by the Origin / Sec-Fetch-Site check.
BROWSER_SIMPLE_TYPES = ("text/plain", "multipart/form-data")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def allowed_hosts(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The Host names a server bound to `bind_host` answers to; None means any.

    `extra` comes from SPRINGBOARD_ALLOWED_HOSTS; `*` there, or a wildcard bind with
    nothing listed, answers any name."""
    extra = [h.strip().lower() for h in extra if h.strip()]
    if "*" in extra or (is_wildcard(bind_host) and not extra):
        return None
    names = {*LOOPBACK_NAMES, bind_host.strip("[]").lower(), *extra}
    return frozenset(names)


def host_name(header: str) -> str:
    """The name in a Host header or an origin's netloc, without the port or brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.index("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def key_matches(headers: dict[str, str], api_key: str) -> bool:
    """True when the request carries `api_key` as a bearer token or in `x-api-key`."""
    given = []
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        given.append(credentials.strip())
    if headers.get("x-api-key", "").strip():
        given.append(headers["x-api-key"].strip())
    expected = api_key.encode()
    return any(hmac.compare_digest(g.encode(), expected) for g in given)


@dataclass(frozen=True)
class GuardPolicy:
    """What one server accepts."""

    api_key: str | None
    hosts: frozenset[str] | None  # None: any Host
    max_body_bytes: int
    open_paths: frozenset[str] = frozenset({"/ping"})
    limit_hint: str = "send a smaller body"  # how to raise the limit, for the 413 message
    uploads: tuple[tuple[str, int, str], ...] = ()  # (path, its body limit, its hint)

    def limit_for(self, path: str) -> tuple[int, str]:
        """The body limit on `path`, and how to raise it."""
        for upload_path, limit, hint in self.uploads:
            if path == upload_path:
                return limit, hint
        return self.max_body_bytes, self.limit_hint

    def check_headers(self, method: str, path: str, headers: dict[str, str]) -> None:
        """Raise the first refusal these headers earn (before any body is read)."""
        host = host_name(headers.get("host", ""))
        if self.hosts is not None and host not in self.hosts:
            raise ForbiddenError(
                f"this server does not answer to the Host {host or '(none)'!r}",
                field="Host",
                value=host,
                fix="use the URL the server printed, or add the name to SPRINGBOARD_ALLOWED_HOSTS",
            )
        state_changing = method not in SAFE_METHODS
        if state_changing:
            self._check_same_origin(headers)
        if self.api_key and path not in self.open_paths and not key_matches(headers, self.api_key):
            raise UnauthorizedError(
                "a valid API key is required",
                field="Authorization",
                fix="send 'Authorization: Bearer $SPRINGBOARD_API_KEY' or "
                "'x-api-key: $SPRINGBOARD_API_KEY'",
            )
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        upload = kind == "multipart/form-data" and any(path == p for p, _, _ in self.uploads)
        if state_changing and not self.api_key and kind in BROWSER_SIMPLE_TYPES and not upload:
            raise UnsupportedMediaTypeError(
                f"{kind} is accepted only by a server with an API key (a web page can send "
                "it to this machine without asking)",
                field="Content-Type",
                value=kind,
                fix="send application/json (or application/x-text for plain text)",
            )
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > self.limit_for(path)[0]:
            raise self.too_large(int(length), path, declared=True)

    def _check_same_origin(self, headers: dict[str, str]) -> None:
        site = headers.get("sec-fetch-site", "").strip().lower()
        if site and site not in ("same-origin", "none"):
            raise ForbiddenError(
                f"cross-site requests are refused (Sec-Fetch-Site: {site})",
                field="Origin",
                value=site,
                fix="call the API from a program, or from a page this server serves",
            )
        origin = headers.get("origin")
        if origin is None:
            return
        netloc = urlsplit(origin.strip()).netloc.lower()
        if not netloc or netloc != headers.get("host", "").strip().lower():
            raise ForbiddenError(
                f"cross-site requests are refused (Origin: {origin})",
                field="Origin",
                value=origin,
                fix="call the API from a program, or from a page this server serves",
            )

    def too_large(self, size: int, path: str, *, declared: bool) -> PayloadTooLargeError:
        """The refusal of a body of `size` bytes (`declared` by Content-Length, or read so far)."""
        limit, hint = self.limit_for(path)
        told = f"is {size} bytes" if declared else f"passed {size} bytes while being read"
        return PayloadTooLargeError(
            f"the request body {told}; this server reads at most {limit} here",
            field="body",
            value=size,
            fix=hint,
        )


class HttpGuard:
    """ASGI middleware applying a `GuardPolicy`; `render(error, path)` shapes a refusal as
    the server's own error response for that path (a Starlette `Response`)."""

    def __init__(
        self, app: ASGIApp, *, policy: GuardPolicy, render: Callable[[SpringboardError, str], Any]
    ) -> None:
        self.app, self.policy, self.render = app, policy, render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        try:
            self.policy.check_headers(scope["method"], scope["path"], headers)
            body = await self._read_body(receive, scope["path"])
        except SpringboardError as exc:
            await self.render(exc, scope["path"])(scope, receive, send)
            return
        if body is None:  # the client went away while sending
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive, path: str) -> bytes | None:
        limit = self.policy.limit_for(path)[0]
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self.policy.too_large(size, path, declared=False)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives the buffered body once, then the client's own (which
    then only says when the client disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
