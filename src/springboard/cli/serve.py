"""`springboard serve`: the control-plane HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind; beyond loopback needs an API key.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind; 0 picks a free one.")] = 8080,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="SPRINGBOARD_API_KEY", show_envvar=True, help="Require this key (as Authorization: Bearer KEY, or x-api-key: KEY) on every route but /ping.")] = None,
) -> None:
    """Serve the control-plane HTTP API: invocation jobs in the managed service REST shapes
    (a boto3 `bedrock` client works with endpoint_url). API docs at /docs."""
    from springboard.api.server import serve as run

    run(host=host, port=port, api_key=api_key)
