"""The web UI in a real browser when `springboard serve` has an API key: the login page
comes first, then the app works (pages; a form with an upload gets its field's error),
and a form posted from another origin is refused. Its own keyed control plane (module
fixture); the browser and its skip reason are `test_ui_browser`'s."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VENV_BIN, cli_env
from tests.servers import control_plane
from tests.test_ui_browser import ENDED, WAIT_MS, browser  # noqa: F401 (the shared fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

KEY = "ui-browser-test-key"
ELSEWHERE = "http://elsewhere.test"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-keyed-home")


@pytest.fixture(scope="module")
def server(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("ui-keyed-log") / "serve.log"
    with control_plane(home, log, env={"SPRINGBOARD_API_KEY": KEY}) as url:
        yield url


def jobs(home: Path) -> list[str]:
    listed = subprocess.run(
        [str(VENV_BIN / "springboard"), "jobs", "list", "--json"],
        env=cli_env(home),
        capture_output=True,
        check=True,
    )
    return [j["id"] for j in json.loads(listed.stdout)]


def test_with_a_key_the_login_comes_first_then_the_app_works_and_other_origins_are_refused(
    browser: Any, server: str, home: Path
):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(server + "/ui/jobs/new/transform")
    assert "/ui/login" in page.url
    page.get_by_label("API key").fill("not-the-key")
    page.get_by_role("button", name="Sign in").click()
    assert "not the server's API key" in page.text_content("main")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/jobs/new/transform")

    page.get_by_role("link", name="Models").click()  # the app works: pages, then a form
    assert "springboard-tiny-t5" in page.text_content("table")
    page.goto(server + "/ui/jobs/new/transform")
    page.set_input_files(  # multipart, through the key check (the session) and the CSRF one
        "#f-upload",
        files=[{"name": "in.jsonl", "mimeType": "application/jsonl", "buffer": b'{"id": 1}\n'}],
    )
    page.fill("#f-output", "/not/a/data/root")
    page.get_by_role("button", name="Start transform").click()
    assert "data root" in page.text_content("[data-field=output]")
    started = jobs(home)
    assert started == []

    # another site's page posting to this server, in the signed-in browser
    page.route(
        ELSEWHERE + "/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<form method="post" action="{server}/ui/jobs/new/transform">'
            '<input name="model_id" value="springboard-tiny-t5">'
            f'<input name="input" value="{home}/data/x.jsonl"><button>go</button></form>',
        ),
    )
    page.goto(ELSEWHERE + "/")
    with page.expect_response(lambda r: r.url.startswith(server)) as answer:
        page.click("button")
    assert answer.value.status == 403
    assert "cross-site requests are refused" in answer.value.text()
    assert jobs(home) == started  # nothing was started
    context.close()
