"""`springboard chat NAME`: talk to an endpoint in the terminal, replies streamed in.

Type a message and press Enter; `/reset` forgets the conversation, `/exit` (or Ctrl-D)
leaves. Ctrl-C while a reply streams stops that reply; at the prompt it leaves.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from springboard.cli.output import console


def chat(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    system: Annotated[
        str | None,
        typer.Option("--system", help="A system message to start the conversation with."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            "--temperature",
            help="Sampling temperature, 0-2 (0 is greedy; the endpoint's default is 1).",
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", help="Most tokens per reply (default: the rest of the context)."
        ),
    ] = None,
    top_p: Annotated[
        float | None, typer.Option("--top-p", help="Nucleus sampling mass, in (0, 1].")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for reproducible sampling.")
    ] = None,
    stop: Annotated[
        list[str] | None, typer.Option("--stop", help="Stop at this string (repeatable, up to 4).")
    ] = None,
) -> None:
    """Chat with an endpoint in the terminal: history kept, replies streamed as they are
    generated (/reset forgets, /exit leaves)."""
    from springboard.sdk.chat import ChatSession
    from springboard.serving.endpoints import url_of

    url_of(name)  # an endpoint that is not InService is refused before the first prompt
    session = ChatSession(
        name,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        top_p=top_p,
        seed=seed,
        stop=stop or None,
    )
    interactive = sys.stdin.isatty()
    if interactive:
        console.print(f"[dim]chatting with {name}: /reset forgets, /exit leaves[/]")
    while True:
        try:
            text = console.input("[bold]you>[/] ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and not text:
            break  # end of input
        text = text.strip()
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            session.reset()
            console.print("[dim]conversation forgotten[/]")
            continue
        if not text:
            continue
        console.print(f"[bold]{name}>[/]", end="")
        try:
            for piece in session.send(text):
                console.print(piece, end="", markup=False, highlight=False)
        except KeyboardInterrupt:
            console.print("\n[dim](reply stopped)[/]")
            continue
        console.print()
