"""`springboard deploy`, `springboard invoke` and `springboard endpoints ...`."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Annotated

import typer

from springboard.cli.options import AcceptEulaOpt, ClusterOpt, InstanceCountOpt, JsonOpt
from springboard.cli.output import (
    Column,
    QuietNamesOpt,
    check_quiet,
    console,
    emit_json,
    err_console,
    print_ids,
    print_table,
    show,
)
from springboard.cli.predict import read_payload, read_payload_text
from springboard.cli.prompts import (
    ExamplesOpt,
    KeepPromptOpt,
    ShotsOpt,
    TemplateOpt,
    prompter_from,
    with_prompt,
)
from springboard.errors import Issue, ValidationError

app = typer.Typer(help="Manage endpoints: list, describe, logs, delete.", no_args_is_help=True)


def parse_env(pairs: list[str], option: str = "--env") -> dict[str, str]:
    """KEY=VALUE options into a dict; every malformed one is reported."""
    env, issues = {}, []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            issues.append(
                Issue(option, f"'{pair}' is not KEY=VALUE", pair, f"e.g. {option} NAME=VALUE")
            )
        else:
            env[key.strip()] = value
    if issues:
        raise ValidationError(issues)
    return env


def deploy(
    model_id: Annotated[
        str | None,
        typer.Argument(
            help="Catalog model id (or alias); with --model-data, the id to register the archive under (default: model-<digest>)."
        ),
    ] = None,
    model_data: Annotated[
        str | None,
        typer.Option(
            "--model-data",
            help="Deploy a model archive: a model.tar.gz (a Hugging Face model folder; safetensors unless SPRINGBOARD_ALLOW_PICKLE=1), a local path or s3://..., registered as a model first.",
        ),
    ] = None,
    version: Annotated[
        str, typer.Option("--version", "-v", help="Model version (*, 1.*, 1.2.0).")
    ] = "*",
    name: Annotated[
        str | None, typer.Option("--name", help="Endpoint name (default: model id + time).")
    ] = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to bind; beyond loopback needs SPRINGBOARD_API_KEY."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind; 0 picks a free one.")] = 0,
    env: Annotated[
        list[str],
        typer.Option(
            "--env",
            "-e",
            help="Deployment setting KEY=VALUE (repeatable), e.g. OPTION_MAX_ROLLING_BATCH_SIZE=8. Other variables (HF_TOKEN=...) reach the server's environment only; their values are not stored.",
        ),
    ] = [],  # noqa: B006 (typer's default for a repeatable option; never mutated)
    accept_eula: AcceptEulaOpt = False,
    model_dir: Annotated[
        str | None, typer.Option("--model-dir", help="Serve the weights in this directory.")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return at once, while the model loads.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for InService.")
    ] = 600.0,
    cluster: ClusterOpt = None,
    instance_count: InstanceCountOpt = 1,
    min_instances: Annotated[
        int | None,
        typer.Option("--min-instances", min=0, help="On a cluster: autoscale down to this many."),
    ] = None,
    max_instances: Annotated[
        int | None,
        typer.Option("--max-instances", min=1, help="On a cluster: autoscale up to this many."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start an endpoint (its own server process) and wait until it is healthy."""
    from springboard.artifacts.model_archive import model_to_deploy
    from springboard.cli.progress import waiting_status
    from springboard.serving import endpoints

    settings = parse_env(env)
    model_id = model_to_deploy(model_id, model_data)
    # a spinner only while a person watches the wait
    waiting = (
        contextlib.nullcontext()
        if no_wait or json_out
        else waiting_status(
            f"deploying {model_id}: starting the server and loading the model "
            "(a compiled backend converts it first, once; the endpoint's log shows it)..."
        )
    )
    with waiting:
        info = endpoints.deploy(
            model_id,
            version=version,
            name=name,
            host=host,
            port=port,
            env=settings,
            accept_eula=accept_eula,
            model_dir=model_dir,
            wait=not no_wait,
            timeout=timeout,
            cluster=cluster,
            instance_count=instance_count,
            min_instances=min_instances,
            max_instances=max_instances,
        )
    show(
        info,
        as_json=json_out,
        line=f"endpoint [bold]{info.name}[/] is {info.status} at {info.url or '(starting)'}",
    )


def invoke(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    payload: Annotated[
        str,
        typer.Argument(help="The request: inline JSON (or text), @file, or - to read stdin."),
    ],
    content_type: Annotated[
        str,
        typer.Option(
            "--content-type",
            "-t",
            help="application/json, application/jsonlines or application/x-text.",
        ),
    ] = "application/json",
    prompt_template: TemplateOpt = None,
    examples: ExamplesOpt = None,
    shots: ShotsOpt = None,
    keep_prompt: KeepPromptOpt = False,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="Print the text as it is generated (a JSON payload; --json prints each streamed line).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Send a request to an endpoint and print the answer. With --prompt-template, PAYLOAD is
    a record of fields, rendered here (client-side) into the endpoint's payload."""
    from springboard.serving import client

    prompter = prompter_from(prompt_template, examples, shots)
    body: object = None
    prompt = None
    if prompter is not None:
        from springboard.sdk.predictor import endpoint_request

        body, prompt = endpoint_request(name, prompter, read_payload(payload, option="PAYLOAD"))
        content_type = "application/json"
    elif content_type.startswith("application/json") and content_type != "application/jsonlines":
        body = read_payload(payload, option="PAYLOAD")
    else:
        body = read_payload_text(payload, option="PAYLOAD")
    started = time.perf_counter()
    if stream:
        _print_stream(name, body, json_out, started)
        return
    response = client.invoke(name, body, content_type=content_type)  # type: ignore[arg-type]
    answer = with_prompt(client.decode(response), prompt if keep_prompt else None)
    if json_out:
        emit_json(answer)
        return
    if sys.stdout.isatty():
        console.print_json(data=answer)
    else:  # piped stdout is data: plain JSON, unwrapped
        emit_json(answer)
    # informational, so stderr: `invoke ... | jq .` sees only the response body
    err_console.print(
        f"[dim]{(time.perf_counter() - started) * 1000:.0f} ms, "
        f"tokens in {response.headers.get('x-springboard-input-tokens', '?')} / "
        f"out {response.headers.get('x-springboard-output-tokens', '?')}, "
        f"request {response.headers.get('x-request-id', '?')}[/]",
        soft_wrap=True,  # the request id stays on one line
    )


def _print_stream(name: str, body: object, json_out: bool, started: float) -> None:
    """Each streamed piece as it comes (a sequence after the first starts on a new line)."""
    from springboard.serving import client

    if not isinstance(body, dict):
        raise ValidationError(
            [
                Issue(
                    "PAYLOAD",
                    "--stream takes one JSON object",
                    None,
                    'e.g. \'{"inputs": "Q: 2 + 3?\\nA:"}\'',
                )
            ]
        )
    shown, tokens, first_token = -1, 0, None
    for line in client.stream_invoke(name, body):
        if json_out:
            emit_json(line)
            continue
        first_token = first_token or time.perf_counter()
        if line["index"] != shown:
            console.print(
                ("\n" if shown >= 0 else "")
                + (f"[dim][{line['index']}][/] " if line["index"] or shown >= 0 else ""),
                end="",
            )
            shown = line["index"]
        console.print(line["token"]["text"], end="", markup=False, highlight=False)
        tokens += line.get("details", {}).get("generated_tokens", 0)
    if not json_out:
        console.print()
        err_console.print(
            f"[dim]{(time.perf_counter() - started) * 1000:.0f} ms, first text "
            f"after {((first_token or started) - started) * 1000:.0f} ms, "
            f"{tokens} tokens out[/]"
        )


@app.command("list")
def list_endpoints(quiet: QuietNamesOpt = False, json_out: JsonOpt = False) -> None:
    """List endpoints with their status and URL (piped: tab-separated, with a header line;
    -q: the names alone)."""
    from springboard.serving import endpoints

    check_quiet(quiet, json_out)
    infos = endpoints.list_endpoints()
    if json_out:
        emit_json([i.model_dump(mode="json") for i in infos])
    elif quiet:
        print_ids(i.name for i in infos)
    else:
        print_table(
            [Column("name", key=True), "status", "model", Column("url", key=True)],
            [(i.name, i.status, f"{i.model_id} {i.model_version}", i.url or "") for i in infos],
        )


@app.command("describe")
def describe(name: str, json_out: JsonOpt = False) -> None:
    """Show an endpoint: status, model, URL, settings, log file."""
    from springboard.serving import endpoints

    show(endpoints.describe(name), as_json=json_out)


@app.command("logs")
def logs(
    name: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many last lines.")] = 50,
) -> None:
    """Print an endpoint's server log (tail it with --follow)."""
    from springboard.cli.tail import tail
    from springboard.serving import endpoints

    tail(endpoints.log_path(name), lines=lines, follow=follow)


@app.command("delete")
def delete(name: str, json_out: JsonOpt = False) -> None:
    """Drain in-flight requests, stop the server process, remove the endpoint."""
    from springboard.serving import endpoints

    endpoints.delete(name)
    if json_out:
        emit_json({"name": name, "deleted": True})
        return
    console.print(f"endpoint [bold]{name}[/] deleted", highlight=False, soft_wrap=True)
