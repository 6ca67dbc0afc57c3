"""Screenshots of every screen of the web UI, for docs/ui.md (committed under docs/img/ui/).

Starts `springboard serve` on a free loopback port over a fresh temporary home, then drives
Debian's chromium through Playwright over the bundled models, as a person would: the
catalog (filtered), a model page, deploy springboard-tiny-t5 and answer in its playground,
deploy springboard-tiny-llama and chat, a batch transform to Completed, a short training
job with its loss chart, a self-consistency run and its report (accuracy against N), the
job list, the forms, and the login page of a server with an API key. Endpoints are deleted and the server stopped at the end. Offline; a few minutes
on a laptop (the training job is 12 steps).

    .venv/bin/python scripts/ui_screenshots.py [--out docs/img/ui] [--skip-training]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
EXAMPLES = REPO / "examples" / "question-generation"
WAIT_MS = 180_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(home: Path, api_key: str | None = None) -> Iterator[str]:
    """`springboard serve` over `home` on a free port; its URL while it runs."""
    port = free_port()
    env = {**os.environ, "SPRINGBOARD_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("SPRINGBOARD_API_KEY", None)
    if api_key:
        env["SPRINGBOARD_API_KEY"] = api_key
    log = open(home / "serve.log", "wb")  # noqa: SIM115 (closed below, after the server)
    proc = subprocess.Popen(
        [str(VENV_BIN / "springboard"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit((home / "serve.log").read_text())
            try:
                if httpx.get(url + "/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("springboard serve did not answer /ping in 60 s")
            time.sleep(0.2)
        yield url
    finally:
        # endpoints outlive the control plane (as with the CLI): delete what is left
        cli = [str(VENV_BIN / "springboard"), "endpoints"]
        names = subprocess.run([*cli, "list", "-q"], env=env, capture_output=True, text=True)
        for name in names.stdout.split():
            subprocess.run([*cli, "delete", name], env=env, capture_output=True)
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def shot(page: Any, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"  {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def deploy(page: Any, url: str, model_id: str) -> str:
    page.goto(f"{url}/ui/models/{model_id}")
    name = f"docs-{model_id.removeprefix('springboard-')}"
    page.fill("#f-name", name)
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"**/ui/endpoints/{name}")
    page.wait_for_function(
        "['InService', 'Failed'].includes(document.getElementById('endpoint-status').textContent)"
    )
    return name


def delete(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/ui/endpoints/{name}")
    page.fill("#f-confirm", name)
    page.get_by_role("button", name="Delete endpoint").click()
    page.wait_for_url("**/ui/endpoints")


def counted(page: Any) -> None:
    """Until the endpoint's live figures (refreshed every 2 s) count the request."""
    page.wait_for_function(
        "/requests\\s*[1-9]/.test((document.getElementById('endpoint-figures') || {}).textContent)"
    )


def wait_job(page: Any) -> None:
    page.wait_for_function(
        "['Completed', 'PartiallyCompleted', 'Failed', 'Stopped']"
        ".includes(document.getElementById('job-status').textContent)"
    )
    page.reload()


def journeys(browser: Any, url: str, home: Path, out: Path, training: bool) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()

    page.goto(url + "/ui/models?filter=task+%3D%3D+text2text+and+training_supported+%3D%3D+true")
    shot(page, out, "models-filtered")
    page.goto(url + "/ui/models?filter=task+%3D%3D")
    shot(page, out, "models-filter-error")
    page.goto(url + "/ui/models/springboard-tiny-t5")
    shot(page, out, "model")
    page.fill("#f-name", "not a valid name!")
    page.fill("#f-OPTION_DTYPE", "fp64")
    page.get_by_role("button", name="Deploy").click()
    shot(page, out, "deploy-errors")

    t5 = deploy(page, url, "springboard-tiny-t5")
    page.fill("#t2t-input", "summarize: the council closed the old bridge after the rain")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("#t2t-answer .generated")
    counted(page)
    shot(page, out, "endpoint-text2text")

    llama = deploy(page, url, "springboard-tiny-llama")
    page.fill("#chat-input", "Tell me about the river.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("#chat-log .reply[data-streaming=false]")
    counted(page)
    shot(page, out, "endpoint-chat")
    page.goto(url + "/ui/endpoints")
    shot(page, out, "endpoints")

    data = home / "data" / "docs"
    data.mkdir(parents=True, exist_ok=True)
    with open(data / "notes.jsonl", "w") as handle:
        for i, text in enumerate(
            ["the market opened early", "rain fell on the town", "the school bridge was closed"]
        ):
            handle.write(json.dumps({"id": f"r{i}", "text_inputs": f"summarize: {text}"}) + "\n")
        handle.write(json.dumps({"id": "r3", "text_inputs": "summarize: x", "top_p": 2}) + "\n")
    page.goto(url + "/ui/jobs/new/transform?model=springboard-tiny-t5")
    page.fill("#f-input", str(data / "notes.jsonl"))
    page.fill("#f-output", str(data / "out"))
    page.fill("#f-hyper_params", '{"max_new_tokens": 12}')
    shot(page, out, "transform-form")
    page.get_by_role("button", name="Start transform").click()
    page.wait_for_url("**/ui/jobs/tr-*")
    wait_job(page)
    shot(page, out, "job-transform")

    if training:
        shutil.copytree(EXAMPLES / "train", data / "qg-train")
        shutil.copy(EXAMPLES / "validation.jsonl", data / "qg-validation.jsonl")
        page.goto(url + "/ui/jobs/new/training?model=springboard-tiny-t5")
        page.fill("#f-train", str(data / "qg-train"))
        page.fill("#f-validation", str(data / "qg-validation.jsonl"))
        page.fill("#f-name", "docs-qg")
        page.fill("#hp-max_steps", "12")
        page.fill("#hp-batch_size", "16")
        shot(page, out, "training-form")
        page.get_by_role("button", name="Start training").click()
        page.wait_for_url("**/ui/jobs/ft-*")
        wait_job(page)
        shot(page, out, "job-training")

    arithmetic = REPO / "examples" / "self-consistency" / "arithmetic"
    questions = (arithmetic / "questions.jsonl").read_text().splitlines(True)[:10]
    (data / "sc-questions.jsonl").write_text("".join(questions))
    shutil.copy(arithmetic / "exemplars.jsonl", data / "sc-exemplars.jsonl")
    page.goto(url + "/ui/self-consistency/new?model=springboard-tiny-llama")
    for name, value in (
        ("questions", str(data / "sc-questions.jsonl")),
        ("exemplars", str(data / "sc-exemplars.jsonl")),
        ("output", str(data / "self-consistency")),
        ("paths", "10"),
        ("temperatures", "0.7 1.0"),
        ("max_tokens", "24"),
        ("shots", "2"),
    ):
        page.fill(f"#f-{name}", value)
    shot(page, out, "self-consistency-form")
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(lambda target: "/ui/self-consistency/run?output=" in target)
    page.wait_for_function(
        "['Scored', 'Failed', 'Not scored']"
        ".includes(document.getElementById('sc-status').textContent)"
    )
    page.reload()
    shot(page, out, "self-consistency-report")

    page.goto(url + "/ui/jobs/new/invocation?model=springboard-tiny-llama")
    page.fill("#f-job_name", "nightly-questions")
    page.fill("#f-input_uri", str(data / "records.jsonl"))
    page.fill("#f-output_uri", str(data / "invocation-out"))
    shot(page, out, "invocation-form")
    page.goto(url + "/ui/jobs")
    shot(page, out, "jobs")
    phone = browser.new_context(viewport={"width": 390, "height": 800})
    phone_page = phone.new_page()
    phone_page.goto(url + "/ui/models")
    shot(phone_page, out, "models-phone")
    phone.close()

    for name in (t5, llama):
        delete(page, url, name)
    context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "ui")
    parser.add_argument("--skip-training", action="store_true", help="No training job.")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="springboard-ui-docs-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                with serve(home) as url:
                    journeys(browser, url, home, args.out, training=not args.skip_training)
                keyed = Path(tmp) / "keyed"
                keyed.mkdir()
                with serve(keyed, api_key="docs-example-key") as url:
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(url + "/ui/jobs")  # sent to the login page first
                    shot(page, args.out, "login")
                    page.close()
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
