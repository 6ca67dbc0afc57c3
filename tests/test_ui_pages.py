"""The web UI's pages without a browser: httpx against the control plane's ASGI app (no
server process, no worker; the rows a page shows are written to the real store).

Rendering of every screen, the filter's parser message inline, per-field deploy errors
worded as the CLI words them, markup in user strings shown as text, CSRF refusal, the
API-key login and its cookie, paging, and the SVG charts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from springboard.api.app import create_app
from springboard.config import reset_settings
from springboard.errors import ValidationError
from springboard.jobs.paths import job_dir, log_path
from springboard.store import endpoint_records, job_records
from springboard.store.endpoint_records import EndpointStatus
from springboard.ui.charts import line_chart

MARKUP = '<script>alert("x")</script><b>bold</b>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"


@contextmanager
def client(api_key: str | None = None) -> Iterator[TestClient]:
    """httpx over the app in this process; its lifespan (the scheduler's ticks) not run."""
    http = TestClient(create_app(api_key=api_key), base_url="http://127.0.0.1:8080")
    try:
        yield http
    finally:
        http.close()


def csrf_of(http: TestClient, path: str = "/ui/jobs/new/transform") -> str:
    """The CSRF token a page's forms carry (the cookie is kept by the client)."""
    page = http.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text)[1]  # type: ignore[index]


def add_job(job_id: str, **row: Any) -> None:
    """A job row as the services write it (for pages that only read jobs)."""
    job_records.insert(
        {
            "id": job_id,
            "kind": "transform",
            "name": job_id,
            "model_id": "springboard-tiny-t5",
            "model_version": "1.0.0",
            "status": "Completed",
            "status_message": None,
            "inputs": {},
            "outputs": {},
            "settings": {},
            "counts": {"total": 2, "processed": 2, "succeeded": 1, "failed": 1},
            "client_token": None,
            "pid": None,
            "pid_started": None,
            **row,
        }
    )


def test_models_table_filters_with_the_catalog_language_and_shows_the_parser_message():
    with client() as http:
        everything = http.get("/ui/models")
        assert everything.status_code == 200
        assert "springboard-tiny-t5" in everything.text
        assert "springboard-tiny-llama" in everything.text
        t2t = http.get("/ui/models", params={"filter": "task == text2text"})
        assert "springboard-tiny-t5" in t2t.text
        assert "springboard-tiny-llama" not in t2t.text
        bad = http.get("/ui/models", params={"filter": "task == <b>"})
        assert bad.status_code == 400
        message = re.search(r'id="filter-error">(.*?)</pre>', bad.text, re.S)[1]  # type: ignore[index]
        assert "`filter`" in message and "position" in message
        assert "<b>" not in bad.text.split('id="filter-error"')[1].split("</pre>")[0]


def test_model_page_shows_card_hyperparameters_presets_and_a_deploy_form():
    with client() as http:
        page = http.get("/ui/models/springboard-tiny-t5")
        assert page.status_code == 200
        for text in ("learning_rate", "Deploy", 'id="deploy-form"', "Hyperparameters"):
            assert text in page.text
        assert http.get("/ui/models/no-such-model").status_code == 404


def test_deploy_errors_are_shown_beside_their_field_in_the_cli_words():
    from springboard.serving import endpoints

    with pytest.raises(ValidationError) as cli_error:  # what `springboard deploy` prints
        endpoints.deploy("springboard-tiny-t5", name="bad name!", wait=False)
    with client() as http:
        answer = http.post(
            "/ui/endpoints",
            data={
                "csrf": csrf_of(http),
                "model_id": "springboard-tiny-t5",
                "version": "*",
                "name": "bad name!",
            },
        )
    assert answer.status_code == 400
    shown = re.findall(r'data-field="name">(.*?)</span>', answer.text)
    assert shown == [cli_error.value.issues[0].describe().replace("'", "&#39;")]
    assert endpoint_records.list_all() == []  # nothing was started


def test_the_training_form_follows_the_schema_and_shows_each_fields_error():
    with client() as http:
        form = http.get("/ui/jobs/new/training", params={"model": "springboard-tiny-t5"}).text
        assert 'name="hp.learning_rate"' in form and 'value="0.001"' in form  # the default
        assert "learning_rate [1e-08, 1]" in form  # its range
        assert "<option selected>none</option>" in form and "<option >lora</option>" in form
        answer = http.post(
            "/ui/jobs/new/training",
            data={
                "csrf": csrf_of(http),
                "model_id": "springboard-tiny-t5",
                "train": "/etc/passwd",
                "hp.learning_rate": "5",
                "hp.peft_type": "x",
            },
        )
    assert answer.status_code == 400
    shown = dict(re.findall(r'data-field="([\w.]+)">(.*?)</span>', answer.text))
    assert set(shown) == {"train", "learning_rate", "peft_type"}  # all at once
    assert shown["learning_rate"].startswith("learning_rate: must be &lt;= 1")


def test_invocation_job_errors_sit_beside_the_forms_fields_in_the_apis_words():
    with client() as http:
        answer = http.post(
            "/ui/jobs/new/invocation",
            data={
                "csrf": csrf_of(http),
                "job_name": "bad name!",
                "model_id": "springboard-tiny-t5",
                "input_uri": "/etc/passwd",
                "output_uri": "/etc",
                "timeout_hours": "2",
            },
        )
    assert answer.status_code == 400
    shown = dict(re.findall(r'data-field="(\w+)">(.*?)</span>', answer.text))
    assert set(shown) == {"job_name", "input_uri", "output_uri", "timeout_hours"}
    assert shown["job_name"].startswith("jobName: ")  # as `invocation-jobs create` words it


def test_markup_in_names_messages_cards_log_and_record_errors_is_shown_as_text(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
):
    catalog = isolated_env / "catalog"
    catalog.mkdir()
    (catalog / "mine.json").write_text(
        json.dumps(
            {
                "id": "my-model",
                "version": "1.0.0",
                "name": MARKUP,
                "description": MARKUP,
                "card": MARKUP,
                "task": "text2text",
                "architecture": "t5",
                "source": {"kind": "bundled", "path": "tiny-t5"},
                "license": MARKUP,
            }
        )
    )
    monkeypatch.setenv("SPRINGBOARD_CATALOG_PATH", str(catalog))
    reset_settings()
    out = job_dir("tr-markup") / "in.jsonl.out"
    out.write_text(
        json.dumps({"id": "1", "generated_texts": ["ok"]})
        + "\n"
        + json.dumps({"id": "2", "error": MARKUP})
        + "\n"
    )
    add_job(
        "tr-markup",
        name=MARKUP,
        status="PartiallyCompleted",
        status_message=MARKUP,
        outputs={"files": [str(out)]},
    )
    log_path("tr-markup").write_text(f"loading\n{MARKUP}\n")
    endpoint_records.insert(
        {
            "name": "markup",
            "model_id": "springboard-tiny-t5",
            "model_version": "1.0.0",
            "status": "Creating",
            "status_message": None,
            "host": "127.0.0.1",
            "port": None,
            "url": None,
            "pid": None,
            "pid_started": None,
            "env": {},
            "model_dir": None,
            "log_path": str(log_path("tr-markup")),
        }
    )
    endpoint_records.transition("markup", EndpointStatus.FAILED, message=MARKUP)
    with client() as http:
        assert http.get("/ui/jobs/tr-markup/live").status_code == 286  # ended: htmx stops polling
        pages = {
            "endpoint": http.get("/ui/endpoints/markup"),
            "model": http.get("/ui/models/my-model"),
            "models": http.get("/ui/models"),
            "job": http.get("/ui/jobs/tr-markup"),
            "jobs": http.get("/ui/jobs"),
            "file": http.get("/ui/jobs/tr-markup/files/0"),
        }
    for name, page in pages.items():
        assert page.status_code == 200, name
        if name == "file":  # served as text, never as HTML
            assert page.headers["content-type"].startswith("text/plain")
            assert page.headers["x-content-type-options"] == "nosniff"
            continue
        assert "<script>alert" not in page.text, name
        assert "<b>bold" not in page.text, name
    assert pages["model"].text.count(ESCAPED) >= 3  # name, card, license
    job = pages["job"].text
    assert ESCAPED in job.split('id="job-errors"')[1]  # the record's error line
    assert ESCAPED in job.split('id="job-log"')[1]  # the log tail
    assert 'class="message">' + ESCAPED in job  # the status message
    endpoint = pages["endpoint"].text
    assert 'class="message">' + ESCAPED in endpoint
    assert ESCAPED in endpoint.split('id="endpoint-log"')[1]


def test_a_form_without_this_browsers_csrf_token_is_refused():
    with client() as http:
        token = csrf_of(http)
        for data in ({}, {"csrf": "forged"}):
            refused = http.post("/ui/jobs/new/transform", data=data)
            assert refused.status_code == 403
            assert "CSRF" in refused.text
        ok = http.post("/ui/jobs/new/transform", data={"csrf": token, "model_id": "x"})
        assert ok.status_code in (400, 404)  # the form's own errors: it was let in
        cross_site = http.post(
            "/ui/jobs/new/transform",
            data={"csrf": token},
            headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert cross_site.status_code == 403  # the API's guard, before the route


def test_with_an_api_key_the_login_page_sets_an_httponly_strict_cookie():
    with client(api_key="s3cret-key") as http:
        first = http.get("/ui/jobs", follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"].startswith("/ui/login?next=")
        assert http.get("/ui/static/ui.css").status_code == 200  # no key needed
        assert http.get("/v1/models").status_code == 401  # the APIs still want the key
        token = csrf_of(http, "/ui/login")
        wrong = http.post("/ui/login", data={"csrf": token, "api_key": "nope", "next": "/ui/jobs"})
        assert wrong.status_code == 401
        assert "not the server" in wrong.text
        assert "springboard_session" not in wrong.headers.get("set-cookie", "")
        right = http.post(
            "/ui/login",
            data={"csrf": token, "api_key": "s3cret-key", "next": "/ui/jobs"},
            follow_redirects=False,
        )
        assert right.status_code == 303 and right.headers["location"] == "/ui/jobs"
        cookie = right.headers["set-cookie"]
        assert "springboard_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert "s3cret-key" not in cookie
        signed_in = http.get("/ui/jobs")
        assert signed_in.status_code == 200 and "Sign out" in signed_in.text
        assert http.get("/v1/models").status_code == 200  # the playground's calls pass too
        elsewhere = http.post(
            "/ui/login",
            data={"csrf": token, "api_key": "s3cret-key", "next": "//evil.example/"},
            follow_redirects=False,
        )
        assert elsewhere.headers["location"] == "/ui/models"  # never off this server
        out = http.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
        assert out.status_code == 303
        assert http.get("/ui/jobs", follow_redirects=False).status_code == 303  # to the login


def test_jobs_list_filters_and_pages_newest_first():
    for i in range(60):
        add_job(f"tr-{i:03d}", status="Completed" if i % 2 else "Failed")
    add_job("ft-001", kind="training", counts={"step": 3, "total_steps": 6})
    with client() as http:
        first = http.get("/ui/jobs")
        assert "61 job(s) · page 1 of 2" in first.text
        assert "ft-001" in first.text  # the newest
        second = http.get("/ui/jobs", params={"page_number": 2})
        assert "tr-000" in second.text and "ft-001" not in second.text
        failed = http.get("/ui/jobs", params={"kind": "transform", "status": "Failed"})
        assert "30 job(s)" in failed.text and "tr-001" not in failed.text
        training = http.get("/ui/jobs", params={"kind": "training"})
        assert 'value="50"' in training.text  # 3 of 6 steps
        bad = http.get("/ui/jobs", params={"kind": "<i>nope</i>"})
        assert bad.status_code == 400 and "<i>nope" not in bad.text


def test_training_job_page_draws_the_loss_chart_from_the_metrics_stream():
    add_job("ft-loss", kind="training", counts={"step": 4, "total_steps": 4, "train_loss": 1.5})
    with open(job_dir("ft-loss") / "metrics.jsonl", "w") as handle:
        for step, (train, val) in enumerate([(3.0, 3.2), (2.1, 2.6), (1.7, 2.2), (1.5, 2.1)]):
            for name, value in (("train_loss", train), ("val_loss", val)):
                handle.write(
                    json.dumps(
                        {"timestamp": 0, "metric_name": name, "value": value, "step": step + 1}
                    )
                    + "\n"
                )
    with client() as http:
        page = http.get("/ui/jobs/ft-loss").text
    paths = re.findall(r'<path d="(M[^"]+)"[^>]*data-series="(\w+)"', page)
    assert [name for _, name in paths] == ["train_loss", "val_loss"]
    assert all(d.count("L") == 3 for d, _ in paths)


def test_the_chart_escapes_labels_and_says_when_it_has_no_points():
    svg = line_chart({"<s>": [(0, 1), (1, 2)]}, title="<t>", x_label="x", y_label="y")
    assert "<s>" not in svg and "&lt;s&gt;" in svg and "&lt;t&gt;" in svg
    empty = line_chart({"loss": []}, title="loss", x_label="step", y_label="loss")
    assert "no points yet" in empty and "<path" not in empty


def test_every_list_page_answers_and_unknown_things_are_404_pages():
    started = datetime.now(UTC)
    with client() as http:
        for path in ("/ui/endpoints", "/ui/jobs/new/transform", "/ui/jobs/new/training"):
            assert http.get(path).status_code == 200, path
        assert http.get("/", follow_redirects=False).headers["location"] == "/ui/models"
        for path in ("/ui/jobs/nope", "/ui/endpoints/nope"):
            missing = http.get(path)
            assert missing.status_code == 404 and "<h1>Something is wrong</h1>" in missing.text
    assert (datetime.now(UTC) - started).total_seconds() < 60


def test_stop_from_the_job_page_then_it_offers_resume():
    add_job("tr-waiting", status="Submitted", counts={"total": 3})
    with client() as http:
        before = http.get("/ui/jobs/tr-waiting").text
        assert 'action="/ui/jobs/tr-waiting/stop"' in before and "/resume" not in before
        assert http.post("/ui/jobs/tr-waiting/stop", data={}).status_code == 403
        stopped = http.post("/ui/jobs/tr-waiting/stop", data={"csrf": csrf_of(http)})
        assert stopped.status_code == 200  # after the redirect to the job's page
        assert '<span id="job-status" class="status status-Stopped">Stopped</span>' in stopped.text
        assert 'action="/ui/jobs/tr-waiting/resume"' in stopped.text
        unknown = http.post("/ui/jobs/tr-waiting/explode", data={"csrf": csrf_of(http)})
        assert unknown.status_code == 404


# -- self-consistency ---------------------------------------------------------------------


def test_self_consistency_form_shows_each_fields_error_in_the_clis_words(isolated_env: Path):
    from springboard.sdk.self_consistency import RunSettings

    with pytest.raises(ValidationError) as cli_error:  # what `self-consistency run` prints
        RunSettings(model="m", questions="q", exemplars="e", paths=0, temperatures=[9.0])
    said = {i.field: i.describe() for i in cli_error.value.issues}
    with client() as http:
        form = http.get("/ui/self-consistency/new")
        assert form.status_code == 200 and 'name="temperatures"' in form.text
        answer = http.post(
            "/ui/self-consistency/new",
            data={
                "csrf": csrf_of(http),
                "model": "springboard-tiny-llama",
                "questions": "/etc/passwd",
                "exemplars": str(isolated_env / "data" / "e.jsonl"),
                "output": "relative/out",
                "paths": "0",
                "temperatures": "9",
            },
        )
        assert answer.status_code == 400
        shown = dict(re.findall(r'data-field="(\w+)">(.*?)</span>', answer.text))
        assert set(shown) == {"questions", "output", "paths", "temperatures"}  # all at once
        assert shown["paths"] == said["paths"].replace("'", "&#39;")
        assert shown["temperatures"] == said["temperatures"].replace("'", "&#39;")
        missing = http.post(  # the run's own checks (the questions file) before any job
            "/ui/self-consistency/new",
            data={
                "csrf": csrf_of(http),
                "model": "springboard-tiny-llama",
                "questions": str(isolated_env / "data" / "q.jsonl"),
                "exemplars": str(isolated_env / "data" / "e.jsonl"),
                "output": str(isolated_env / "data" / "sc"),
            },
        )
    assert missing.status_code == 400
    assert (
        "does not exist"
        in dict(re.findall(r'data-field="(\w+)">(.*?)</span>', missing.text))["questions"]
    )
    assert job_records.find() == []  # nothing was started


def test_self_consistency_report_page_draws_accuracy_vs_n_with_band_and_greedy_line(
    isolated_env: Path,
):
    from springboard.evaluation.self_consistency import score, write_report

    out = isolated_env / "data" / "sc-run"
    questions = [{"id": i, "question": f"{i}+1?", "answer": str(i + 1)} for i in range(4)]
    report = score(
        "springboard-tiny-llama",
        questions,
        {i: f"The answer is {i + 1}." for i in range(4)},
        {0.7: {i: [f"The answer is {i + (p % 2)}." for p in range(5)] for i in range(4)}},
        tokens={"greedy": (40, 12), 0.7: (200, 90)},
        seconds={"greedy": 1.0, 0.7: 3.0},
        resamples=10,
    )
    write_report(report, out)
    add_job(
        "iv-sc-greedy",
        kind="invocation",
        name="sc-abc123-greedy",
        outputs={"uri": str(out / "outputs"), "files": []},
    )
    (out / "run.json").write_text(
        json.dumps(
            {
                "run": "abc123",
                "settings": {
                    "model": "springboard-tiny-llama",
                    "paths": 5,
                    "temperatures": [0.7],
                    "questions": "q.jsonl",
                    "answer_format": "number",
                    "max_tokens": 8,
                },
                "jobs": {"greedy": "iv-sc-greedy"},
            }
        )
    )
    with client() as http:
        runs = http.get("/ui/self-consistency").text
        assert str(out) in runs and "greedy: " in runs
        page = http.get("/ui/self-consistency/run", params={"output": str(out)})
        live = http.get("/ui/self-consistency/run/live", params={"output": str(out)})
        outside = http.get("/ui/self-consistency/run", params={"output": "/etc"})
    assert page.status_code == 200 and live.status_code == 286  # scored: no polling
    text = page.text
    assert "hx-get" not in text.split('id="sc-live"')[1].split(">")[0]
    assert re.search(r'<polygon points="[^"]+"[^>]*class="band" data-series="T=0.7"', text)
    series = dict(
        (name, d) for d, name in re.findall(r'<path d="(M[^"]+)"[^>]*data-series="([^"]+)"', text)
    )
    assert set(series) == {"T=0.7", "greedy"} and series["T=0.7"].count("L") == 4  # N = 1..5
    assert 'stroke-dasharray="6 4" data-series="greedy"' in text
    table = text.split('id="sc-table"')[1].split("</table>")[0]
    assert "<td>greedy</td><td>1</td><td>1.000</td>" in table
    assert "vote, all paths" in table
    tokens = text.split('id="sc-tokens"')[1].split("</table>")[0]
    assert "<td>200</td><td>90</td>" in tokens
    assert outside.status_code == 400  # only folders under the data roots


# -- transform input as an upload ---------------------------------------------------------


@pytest.mark.parametrize("api_key", [None, "s3cret-key"])
def test_a_transform_upload_passes_the_guard_and_is_checked_with_the_form(api_key: str | None):
    from springboard.config import get_settings
    from springboard.files import service as files

    with client(api_key=api_key) as http:
        if api_key:
            token = csrf_of(http, "/ui/login")
            http.post("/ui/login", data={"csrf": token, "api_key": api_key, "next": "/"})
        form = http.get("/ui/jobs/new/transform").text
        assert 'enctype="multipart/form-data"' in form and 'type="file"' in form
        fields = {"csrf": csrf_of(http), "model_id": "springboard-tiny-t5", "output": "/etc"}
        upload = {
            "upload": ("in.jsonl", b'{"id": "1", "text_inputs": "hi"}\n', "application/jsonl")
        }
        answer = http.post("/ui/jobs/new/transform", data=fields, files=upload)
        assert answer.status_code == 400  # the route's own errors: multipart was let in
        shown = dict(re.findall(r'data-field="(\w+)">(.*?)</span>', answer.text))
        assert set(shown) == {"output"}
        both = http.post(
            "/ui/jobs/new/transform", data={**fields, "input": "/x.jsonl"}, files=upload
        )
        assert (
            "not both" in dict(re.findall(r'data-field="(\w+)">(.*?)</span>', both.text))["input"]
        )
        empty = http.post(
            "/ui/jobs/new/transform",
            data={**fields, "output": str(get_settings().home / "data" / "o")},
            files={"upload": ("in.jsonl", b"\n", "application/jsonl")},
        )
        assert "holds no records" in empty.text
    assert files.list_files()[0] == []  # nothing refused was kept


def test_a_run_left_unscored_is_scored_from_its_page_reusing_its_finished_jobs(
    isolated_env: Path,
):
    """As after a restart of the server that ran it: the jobs ended, nobody scored them."""
    import time

    from springboard.sdk.self_consistency import RunSettings

    data = isolated_env / "data"
    out = data / "sc-left"
    (out / "outputs").mkdir(parents=True)
    arithmetic = Path(__file__).resolve().parents[1] / "examples" / "self-consistency"
    (data / "q.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "question": f"{i}+1?", "answer": i + 1}) + "\n" for i in range(3)
        )
    )
    (data / "e.jsonl").write_text((arithmetic / "arithmetic" / "exemplars.jsonl").read_text())
    settings = RunSettings(
        model="springboard-tiny-llama",
        questions=str(data / "q.jsonl"),
        exemplars=str(data / "e.jsonl"),
        paths=2,
        temperatures=[0.7],
        shots=1,
    )

    def line(record_id: str, temperature: float, texts: list[str]) -> str:
        generations = [{"text": t, "token_count": 4} for t in texts]
        return json.dumps(
            {
                "recordId": record_id,
                "modelInput": {"prompt": "...", "temperature": temperature},
                "modelOutput": {"generations": generations},
            }
        )

    greedy, sampled = out / "outputs" / "greedy.jsonl.out", out / "outputs" / "t0.7.jsonl.out"
    greedy.write_text(
        "".join(line(str(i), 0, [f"The answer is {i + 1}."]) + "\n" for i in range(3))
    )
    sampled.write_text(
        "".join(
            line(f"{i}#0", 0.7, ["The answer is 9.", f"The answer is {i + 1}."]) + "\n"
            for i in range(3)
        )
    )
    for job_id, file in (("iv-left-greedy", greedy), ("iv-left-t07", sampled)):
        add_job(job_id, kind="invocation", outputs={"files": [str(file)]}, counts={"total": 3})
    state = {
        "run": "left01",
        "settings": settings.model_dump(),
        "jobs": {"greedy": "iv-left-greedy", "t0.7": "iv-left-t07"},
    }
    state["settings"].update(questions=str(data / "q.jsonl"), exemplars=str(data / "e.jsonl"))
    (out / "run.json").write_text(json.dumps(state))
    with client() as http:
        before = http.get("/ui/self-consistency/run", params={"output": str(out)}).text
        assert "Not scored" in before and 'action="/ui/self-consistency/score"' in before
        http.post("/ui/self-consistency/score", data={"csrf": csrf_of(http), "output": str(out)})
        deadline = time.monotonic() + 30
        live = "/ui/self-consistency/run/live"
        while http.get(live, params={"output": str(out)}).status_code != 286:  # its thread ended
            assert time.monotonic() < deadline, "the run was not scored"
            time.sleep(0.1)
        after = http.get("/ui/self-consistency/run", params={"output": str(out)}).text
    assert "Scored" in after and "Score (resumes" not in after
    table = after.split('id="sc-table"')[1].split("</table>")[0]
    assert "<td>greedy</td><td>1</td><td>1.000</td>" in table
    assert len(job_records.find(kind="invocation")) == 2  # its finished jobs, reused
