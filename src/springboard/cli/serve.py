"""`springboard serve`: the control-plane HTTP API.

The API key comes from the settings (`SPRINGBOARD_API_KEY`, as for every server and
client) or from a file only its owner can read (`--api-key-file`), never from the command
line, where every user of the machine sees it in `ps`.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated

import typer

from springboard.errors import Issue, ValidationError

SAFE_WAYS = (
    "set SPRINGBOARD_API_KEY in the server's environment, or pass --api-key-file "
    "PATH (a file holding the key, readable only by you: chmod 600 PATH)"
)


def read_key_file(path: Path) -> str:
    """The key in `path` (surrounding whitespace dropped). A file that other users could
    read or change is refused, as ssh refuses such a private key."""
    option = "--api-key-file"
    try:
        info = path.stat()
    except OSError as exc:
        raise ValidationError(
            [
                Issue(
                    option,
                    f"cannot read {path}: {exc.strerror}",
                    str(path),
                    "give a file that holds the key",
                )
            ],
            context="cannot serve",
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(
            [Issue(option, f"{path} is not a file", str(path), "give a file that holds the key")],
            context="cannot serve",
        )
    if info.st_mode & 0o077:
        raise ValidationError(
            [
                Issue(
                    option,
                    f"{path} is accessible to other users (mode {stat.S_IMODE(info.st_mode):o})",
                    str(path),
                    f"chmod 600 {path}",
                )
            ],
            context="cannot serve",
        )
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            [
                Issue(
                    option,
                    f"cannot read {path}: {exc}",
                    str(path),
                    "give a file that holds the key",
                )
            ],
            context="cannot serve",
        ) from None
    if not key:
        raise ValidationError(
            [Issue(option, f"{path} is empty", str(path), "write the key into it")],
            context="cannot serve",
        )
    return key


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; beyond loopback needs an API key.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind; 0 picks a free one.")] = 8080,
    api_key_file: Annotated[
        Path | None,
        typer.Option(
            "--api-key-file",
            help="Require the key in this file (readable only by you) as Authorization: Bearer KEY, or x-api-key: KEY, on every route but /ping. Without it, the SPRINGBOARD_API_KEY environment variable is used when set.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", hidden=True, help="Refused: other users see it in `ps`."),
    ] = None,
) -> None:
    """Serve the control plane: the web UI at /, and the HTTP API — invocation jobs in the
    managed service REST shapes (a boto3 `bedrock` client works with endpoint_url), the
    OpenAI files, batches and fine-tuning routes. API docs at /docs."""
    from springboard.api.server import serve as run
    from springboard.http_server import configured_api_key

    if api_key is not None:  # the value is not repeated: it is a secret
        raise ValidationError(
            [
                Issue(
                    "--api-key",
                    "a key on the command line is visible to "
                    "every user of this machine (ps, /proc)",
                    None,
                    SAFE_WAYS,
                )
            ],
            context="cannot serve",
        )
    key = read_key_file(api_key_file) if api_key_file else configured_api_key()
    run(host=host, port=port, api_key=key)
