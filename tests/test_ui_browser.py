"""The web UI in a real browser: Playwright driving Debian's `chromium` against one
`springboard serve` (module fixture) over the bundled models.

Journeys: browse and filter the catalog → model page → deploy springboard-tiny-t5 → wait
for InService → a playground answer → delete; chat with springboard-tiny-llama and see
the reply come in pieces (and counted in the live figures); a transform job of an
uploaded file reaches Completed and its output opens; a training job's page draws its loss chart and, once the
job ends, shows it ended and stops polling; a self-consistency run's report shows its
accuracy-vs-N chart; the catalog at phone width. The same with an API key:
`test_ui_browser_keyed.py`. Every test records the browser's requests and fails if one goes
to another origin. Without chromium (or Playwright) these tests are skipped, with that
reason — never passed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, VENV_BIN, cli_env
from tests.servers import control_plane

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

CHROMIUM = shutil.which("chromium")
WAIT_MS = 90_000  # a hang guard: an endpoint or worker loads torch on a busy machine
ENDED = "['Completed', 'PartiallyCompleted', 'Failed', 'Stopped'].includes(document.getElementById('job-status').textContent)"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-browser-home")


@pytest.fixture(scope="module")
def server(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("ui-browser-log") / "serve.log"
    try:
        with control_plane(home, log) as url:
            yield url
    finally:  # endpoints outlive the control plane: a journey cut short leaves its own
        cli = [str(VENV_BIN / "springboard"), "endpoints"]
        left = subprocess.run([*cli, "list", "-q"], env=cli_env(home), capture_output=True)
        for name in left.stdout.decode().split():
            subprocess.run([*cli, "delete", name], env=cli_env(home), capture_output=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make install installs it with apt-get as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh 1280x800 page; at the end, every request it made went to `server`."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    tab = context.new_page()
    yield tab
    context.close()
    elsewhere = [u for u in requested if not u.startswith(server + "/")]
    assert requested and not elsewhere, f"requests to other origins: {elsewhere}"


def deploy(page: Any, server: str, model_id: str) -> str:
    """Deploy `model_id` from its page; the endpoint's name once it is InService."""
    page.goto(f"{server}/ui/models/{model_id}")
    page.get_by_label("Endpoint name").fill(f"ui-{model_id}")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"**/ui/endpoints/ui-{model_id}")
    page.wait_for_function(
        "['InService', 'Failed'].includes(document.getElementById('endpoint-status').textContent)"
    )
    assert page.text_content("#endpoint-status") == "InService", page.text_content("#endpoint-log")
    return f"ui-{model_id}"


def delete(page: Any, name: str) -> None:
    page.get_by_label("Type the endpoint's name to confirm").fill(name)
    page.get_by_role("button", name="Delete endpoint").click()
    page.wait_for_url("**/ui/endpoints")
    assert name not in page.text_content("#endpoint-rows")


def test_browse_filter_deploy_t5_answer_in_the_playground_and_delete(page: Any, server: str):
    page.goto(server + "/")
    assert page.url.endswith("/ui/models")
    page.get_by_label("Filter").fill("task == text2text and training_supported == true")
    page.get_by_role("button", name="Apply").click()
    table = page.text_content("table")
    assert "springboard-tiny-t5" in table and "springboard-tiny-llama" not in table
    page.get_by_label("Filter").fill("task ==")
    page.get_by_role("button", name="Apply").click()
    assert "`filter`" in page.text_content("#filter-error")
    page.goto(server + "/ui/models?filter=task+%3D%3D+text2text")
    page.get_by_role("link", name="springboard-tiny-t5").click()
    assert page.text_content("#model-id") == "springboard-tiny-t5"

    name = deploy(page, server, "springboard-tiny-t5")
    page.get_by_label("Input text").fill("summarize: the weather is sunny and warm today")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("#t2t-answer .generated")
    assert page.text_content("#t2t-answer .generated").strip()
    assert "tokens in" in page.text_content("#t2t-answer")
    page.wait_for_function(  # the live figures (refreshed every 2 s) count the request
        "/requests\\s*[1-9]/.test((document.getElementById('endpoint-figures') || {}).textContent)"
    )
    delete(page, name)


def test_chat_with_tiny_llama_streams_the_reply(page: Any, server: str):
    name = deploy(page, server, "springboard-tiny-llama")
    page.get_by_label("Message").fill("Hello, how are you?")
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("#chat-log .reply[data-streaming=false]")
    reply = page.locator("#chat-log .reply")
    assert reply.text_content().strip()
    assert int(reply.get_attribute("data-chunks") or 0) > 1
    assert int(reply.get_attribute("data-reads") or 0) > 1  # it came in pieces, as it was made
    assert "error" not in page.text_content("#chat-log")
    page.wait_for_function(  # a chat request counts in the endpoint's figures too
        "/requests\\s*[1-9]/.test((document.getElementById('endpoint-figures') || {}).textContent)"
    )
    delete(page, name)


def test_an_uploaded_transform_job_reaches_completed_and_its_output_opens(
    page: Any, server: str, home: Path
):
    """The input is uploaded (a path under the data roots goes through the same form
    field checks, `test_ui_pages`; the upload with a key: `test_ui_browser_keyed`)."""
    data = home / "data" / "ui-transform"
    records = "".join(
        json.dumps({"id": f"r{i}", "text_inputs": f"summarize: note {i}"}) + "\n" for i in range(4)
    )
    page.goto(server + "/ui/jobs/new/transform")
    page.select_option("#f-model_id", "springboard-tiny-t5")
    page.set_input_files(
        "#f-upload",
        files=[{"name": "in.jsonl", "mimeType": "application/jsonl", "buffer": records.encode()}],
    )
    page.fill("#f-output", str(data / "out"))
    page.fill("#f-hyper_params", '{"max_new_tokens": 8}')
    page.get_by_role("button", name="Start transform").click()
    page.wait_for_url("**/ui/jobs/tr-*")
    page.wait_for_function(
        "['Completed', 'PartiallyCompleted', 'Failed']"
        ".includes(document.getElementById('job-status').textContent)"
    )
    assert page.text_content("#job-status") == "Completed", page.text_content("#job-log")
    assert page.get_attribute("progress", "value") == "100"
    page.locator("#job-files a").first.click()
    page.wait_for_url("**/files/0")
    lines = [json.loads(line) for line in page.text_content("body").splitlines() if line]
    assert [r["id"] for r in lines] == ["r0", "r1", "r2", "r3"]
    page.goto(server + "/ui/jobs?kind=transform")
    assert "Completed" in page.text_content("table")


def test_the_catalog_fits_a_phone_width_window_with_labelled_controls(page: Any, server: str):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(server + "/ui/models")
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")
    page.goto(server + "/ui/jobs/new/training?model=springboard-tiny-t5")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => !(e.labels && e.labels.length)).map(e => e.name)"""
    )
    assert unlabelled == []


def test_a_training_job_draws_its_loss_chart_and_its_page_shows_it_ended(
    page: Any, server: str, home: Path
):
    data = home / "data" / "qg-train"
    shutil.copytree(ROOT / "examples" / "question-generation" / "train", data)
    page.goto(server + "/ui/jobs/new/training?model=springboard-tiny-t5")
    page.fill("#f-train", str(data))
    for name, value in (("max_steps", "3"), ("batch_size", "4"), ("generation_max_length", "4")):
        page.fill(f"#hp-{name}", value)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/live") else None)
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url("**/ui/jobs/ft-*")
    page.wait_for_function(ENDED)
    assert page.text_content("#job-status") == "Completed", page.text_content("#job-log")
    d = page.get_attribute("#job-live path.series[data-series=train_loss]", "d")
    assert d and d.startswith("M") and d.count("L") >= 1  # a line through the steps' losses
    assert page.get_attribute("progress", "value") == "100"
    assert "Fine-tuned model" in page.text_content("#job-live")  # the ended job's own state
    seen = len(polls)
    page.wait_for_timeout(2_500)  # more than one polling period
    assert len(polls) == seen, "the page still polls an ended job"


def test_a_self_consistency_run_shows_its_report_chart(page: Any, server: str, home: Path):
    arithmetic = ROOT / "examples" / "self-consistency" / "arithmetic"
    data = home / "data" / "sc"
    data.mkdir(parents=True)
    lines = (arithmetic / "questions.jsonl").read_text().splitlines(True)[:5]
    (data / "q.jsonl").write_text("".join(lines))
    shutil.copy(arithmetic / "exemplars.jsonl", data / "e.jsonl")
    page.goto(server + "/ui/self-consistency/new")
    page.select_option("#f-model", "springboard-tiny-llama")
    for name, value in (
        ("questions", str(data / "q.jsonl")),
        ("exemplars", str(data / "e.jsonl")),
        ("output", str(data / "out")),
        ("paths", "3"),
        ("temperatures", "0.7"),
        ("max_tokens", "8"),
        ("shots", "1"),
        ("resamples", "10"),
    ):
        page.fill(f"#f-{name}", value)
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(lambda url: "/ui/self-consistency/run?output=" in url)
    page.wait_for_function(
        "['Scored', 'Failed', 'Not scored'].includes(document.getElementById('sc-status').textContent)"
    )
    assert page.text_content("#sc-status") == "Scored", page.text_content("#sc-live")
    chart = page.locator("#sc-chart svg")
    assert chart.locator("polygon.band").count() == 1  # mean ± std
    d = chart.locator("path[data-series='T=0.7']").get_attribute("d")
    assert d and d.count("L") == 2  # N = 1, 2, 3
    assert chart.locator("path[data-series=greedy]").get_attribute("stroke-dasharray")
    assert "vote, all paths" in page.text_content("#sc-table")
    assert page.locator("#sc-jobs .status-Completed").count() == 2  # greedy and T=0.7
    page.goto(server + "/ui/self-consistency")
    assert str(data / "out") in page.text_content("#sc-runs")
