"""Limits before work, on the bundled models for real: every bound is a 400 naming the
field before anything is tokenized; a request whose caller has gone (504, disconnect)
stops decoding; a request that breaks a shared pass fails alone; `/ping` answers while a
big prompt is tokenized; error bodies are strict JSON, however deep or odd the input.

Nothing of ours is patched. Where a test needs to act at an exact moment, it hooks the
torch model's forward pass or wraps the Hugging Face tokenizer (the outside world);
times are only hang guards, never asserted."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from springboard.errors import GenerationError, ValidationError
from springboard.inference import DecodingParams
from springboard.inference.limits import RequestLimits
from springboard.serving.app import create_app
from springboard.serving.batcher import Batcher
from springboard.serving.continuous import ContinuousBatcher
from springboard.serving.service import EndpointService
from springboard.serving.settings import DeploymentSettings

HANG_GUARD = 60.0  # seconds; only ever a guard against a hang, never a measurement


# -- helpers ------------------------------------------------------------------------------


def service_for(generator, **settings) -> EndpointService:
    service = EndpointService("limits", generator.spec, DeploymentSettings(**settings))
    service.attach(generator)
    return service


def invoke(
    service: EndpointService,
    payload: Any,
    content_type: str = "application/json",
    *,
    runtime_shape: bool = False,
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return asyncio.run(service.invoke(body, content_type, runtime_shape=runtime_shape))


def strict(body: bytes) -> Any:
    """Parse as strict JSON: a bare NaN / Infinity / -Infinity fails the test."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"bare {constant} in a response body: {body[:300]!r}")

    return json.loads(body, parse_constant=refuse)


def metric(service: EndpointService, series: str) -> float:
    """A series' value as `/metrics` shows it (0 when absent)."""
    for line in service.metrics.render().decode().splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"hang guard: {what} never happened")
        time.sleep(0.005)


@contextmanager
def forward_calls(model, at: dict[int, Any] | None = None):
    """Count the model's forward passes (one per generated token); `at[n]()` runs inside
    the n-th pass, on the worker thread, holding the pass until it returns."""
    calls = {"n": 0}

    def hook(module, args, output):
        calls["n"] += 1
        if at and calls["n"] in at:
            at[calls["n"]]()

    handle = model.register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


class CountingTokenizer:
    """The Hugging Face tokenizer, counting calls (and able to pause on a long prompt)."""

    def __init__(self, real, pause_at: int | None = None) -> None:
        self.real, self.pause_at, self.calls = real, pause_at, 0
        self.started, self.release, self.finished = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __call__(self, texts, *args, **kwargs):
        self.calls += 1
        paused = self.pause_at is not None and any(len(t) >= self.pause_at for t in texts)
        if paused:
            self.started.set()
            self.release.wait(HANG_GUARD)
        try:
            return self.real(texts, *args, **kwargs)
        finally:
            if paused:
                self.finished.set()


@pytest.fixture(scope="module")
def t5_service(t5_generator):
    service = service_for(t5_generator)
    yield service
    service.shutdown()


@pytest.fixture(scope="module")
def llama_service(llama_generator):
    service = service_for(llama_generator)
    yield service
    service.shutdown()


# -- each bound is a 400 naming the field, before any tokenization ----------------------

HUGE = 10**20
T5_OVER = [
    ({"text_inputs": "x", "top_k": HUGE, "do_sample": True}, "top_k", "SPRINGBOARD_MAX_TOP_K"),
    ({"text_inputs": "x", "top_k": 1001}, "top_k", "SPRINGBOARD_MAX_TOP_K"),
    (
        {"text_inputs": "x", "num_return_sequences": 3000, "do_sample": True},
        "num_return_sequences",
        "SPRINGBOARD_MAX_RETURN_SEQUENCES",
    ),
    ({"text_inputs": "x", "num_beams": 2000}, "num_beams", "SPRINGBOARD_MAX_BEAMS"),
    ({"text_inputs": ["x"] * 20_000}, "text_inputs", "SPRINGBOARD_MAX_INPUTS"),
    ({"text_inputs": "x" * 100_001}, "text_inputs", "SPRINGBOARD_MAX_PROMPT_CHARS"),
    ({"text_inputs": ["ok", "x" * 100_001]}, "text_inputs[1]", "SPRINGBOARD_MAX_PROMPT_CHARS"),
    ({"text_inputs": "x", "max_new_tokens": HUGE}, "max_new_tokens", "64 bits"),
    ({"text_inputs": "x", "max_length": -HUGE}, "max_length", "64 bits"),
    ({"text_inputs": "x", "no_repeat_ngram_size": HUGE}, "no_repeat_ngram_size", "64 bits"),
    ({"text_inputs": "x", "stop": ["a"] * 65}, "stop", "at most 64"),
]
LLAMA_OVER = [
    (
        {"inputs": "x", "parameters": {"top_k": HUGE, "do_sample": True}},
        "parameters.top_k",
        "SPRINGBOARD_MAX_TOP_K",
    ),
    (
        {"inputs": "x", "parameters": {"num_return_sequences": 17, "do_sample": True}},
        "parameters.num_return_sequences",
        "SPRINGBOARD_MAX_RETURN_SEQUENCES",
    ),
    ({"inputs": ["x"] * 257}, "inputs", "SPRINGBOARD_MAX_INPUTS"),
    ({"inputs": "x", "parameters": {"batch_size": HUGE}}, "parameters.batch_size", "64 bits"),
    (
        {"inputs": "x", "parameters": {"stop": ["ok", "a" * 1001]}},
        "parameters.stop[1]",
        "at most 1000",
    ),
]


@pytest.mark.parametrize(
    "payload,field,hint", T5_OVER + LLAMA_OVER, ids=[f for _, f, _ in T5_OVER + LLAMA_OVER]
)
def test_each_bound_is_a_400_naming_the_field_before_tokenizing(
    payload, field, hint, t5_service, llama_service, monkeypatch
):
    service = t5_service if "text_inputs" in payload else llama_service
    tokenizer = CountingTokenizer(service.generator.tokenizer)
    monkeypatch.setattr(service.generator, "tokenizer", tokenizer)
    reply = invoke(service, payload)
    assert reply.status == 400, reply.body[:500]
    error = strict(reply.body)["error"]
    assert error["field"] == field
    assert hint in error["message"]
    assert tokenizer.calls == 0, "refused only after tokenizing"


def test_a_prompt_exactly_at_the_limit_and_the_usual_requests_pass(t5_service, llama_service):
    assert invoke(t5_service, {"text_inputs": "x", "top_k": 1000, "max_length": 3}).status == 200
    assert (
        invoke(
            t5_service, {"text_inputs": "hi", "num_return_sequences": 16, "max_length": 3}
        ).status
        == 200
    )  # 16 beams, implied
    assert (
        invoke(llama_service, {"inputs": ["a"] * 256, "parameters": {"max_new_tokens": 1}}).status
        == 200
    )
    at_limit = invoke(t5_service, {"text_inputs": "word " * 20_000})  # 100,000 characters
    assert at_limit.status == 413  # past the limit check: the model's context says no


def test_a_deployment_sets_its_own_limits(llama_generator):
    settings = DeploymentSettings.from_env(
        {"SPRINGBOARD_MAX_TOP_K": "5", "SPRINGBOARD_MAX_INPUTS": "2"}, llama_generator.spec
    )
    assert settings.request_limits() == RequestLimits(max_top_k=5, max_inputs=2)
    assert settings.to_env()["SPRINGBOARD_MAX_TOP_K"] == "5"
    service = service_for(llama_generator, **settings.model_dump())
    try:
        refused = strict(invoke(service, {"inputs": "x", "parameters": {"top_k": 6}}).body)
        assert refused["error"]["field"] == "parameters.top_k"
        assert "at most 5" in refused["error"]["message"]
        assert (
            invoke(service, {"inputs": "x", "parameters": {"top_k": 5, "max_new_tokens": 2}}).status
            == 200
        )
        lines = b'{"inputs": "a"}\n{"inputs": "b"}\n{"inputs": "c"}\n'
        too_many = invoke(service, lines, "application/jsonlines")
        assert too_many.status == 400 and strict(too_many.body)["error"]["field"] == "body"
    finally:
        service.shutdown()
    with pytest.raises(ValidationError) as err:
        DeploymentSettings.from_env({"SPRINGBOARD_MAX_BEAMS": "0"})
    assert err.value.field == "SPRINGBOARD_MAX_BEAMS"


def test_the_generator_holds_the_limits_batch_jobs_parse_with(t5_generator):
    assert t5_generator.limits == RequestLimits()
    with pytest.raises(ValidationError) as err:
        t5_generator.parse({"text_inputs": "x", "top_k": HUGE, "do_sample": True})
    assert err.value.field == "top_k"
    with pytest.raises(ValidationError) as err:
        t5_generator.parse({"text_inputs": ["a", "b", "c"]}, limits=RequestLimits(max_inputs=2))
    assert err.value.field == "text_inputs"
    with pytest.raises(ValidationError) as err:  # plan checks length before tokenizing too
        t5_generator.plan(["x" * 11], DecodingParams(), limits=RequestLimits(max_prompt_chars=10))
    assert err.value.field == "text_inputs"


# -- a caller that has gone stops the work ----------------------------------------------


def test_a_cancelled_queued_request_never_runs(t5_generator):
    batcher = Batcher(t5_generator, DeploymentSettings(batch_wait_ms=0))
    job = batcher.submit(t5_generator.plan(["x"], DecodingParams(max_new_tokens=50)))
    job.cancel()
    with forward_calls(t5_generator.model) as calls:
        batcher.start()
        wait_until(lambda: batcher.queue_depth == 0, "the worker took the queued job")
        batcher.stop()
    assert job.future.cancelled() and calls["n"] == 0


def test_a_timed_out_request_ends_its_dynamic_pass_early(llama_generator):
    service = service_for(llama_generator, rolling_batch="dynamic", model_server_timeout=2.0)
    timed_out = 'springboard_cancelled_requests_total{reason="timeout"}'
    # hold the 2nd token until the service has given up on the request (its 504)
    hold = {2: lambda: wait_until(lambda: metric(service, timed_out) == 1, "the 504")}
    try:
        with forward_calls(llama_generator.model, hold) as calls:
            reply = invoke(service, {"inputs": "x", "parameters": {"max_new_tokens": 300}})
            wait_until(
                lambda: metric(service, "springboard_cancelled_rows_total") == 1,
                "the row stopped early",
            )
    finally:
        service.shutdown()
    assert reply.status == 504
    assert calls["n"] <= 3, f"{calls['n']} of 300 tokens generated after the 504"
    assert metric(service, "springboard_active_rows") == 0


async def _post_then_disconnect(app, body: bytes, disconnect: asyncio.Event) -> list[dict]:
    """Drive the real ASGI app: send `body`, then report the client gone on `disconnect`."""
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/invocations",
        "raw_path": b"/invocations",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await asyncio.wait_for(app(scope, receive, send), HANG_GUARD)
    return sent


def test_a_client_that_disconnects_frees_its_continuous_rows(llama_generator):
    service = service_for(llama_generator)
    assert isinstance(service.batcher, ContinuousBatcher)
    app = create_app(service)
    gone = 'springboard_cancelled_requests_total{reason="client_gone"}'
    state: dict[str, Any] = {}

    def disconnect_now() -> None:  # inside the 3rd forward pass: the client goes away
        state["loop"].call_soon_threadsafe(state["event"].set)
        wait_until(lambda: metric(service, gone) == 1, "the service noticed the disconnect")

    async def go() -> list[dict]:
        state["loop"], state["event"] = asyncio.get_running_loop(), asyncio.Event()
        body = json.dumps({"inputs": "x", "parameters": {"max_new_tokens": 300}}).encode()
        return await _post_then_disconnect(app, body, state["event"])

    try:
        with forward_calls(llama_generator.model, {3: disconnect_now}) as calls:
            sent = asyncio.run(go())
            wait_until(
                lambda: metric(service, "springboard_active_rows") == 0, "the rows were freed"
            )
    finally:
        service.shutdown()
    assert sent[0]["status"] == 499
    assert metric(service, "springboard_cancelled_rows_total") == 1
    assert metric(service, 'springboard_requests_total{status="499"}') == 1
    assert calls["n"] <= 4, f"{calls['n']} of 300 tokens generated after the disconnect"


# -- a request that breaks a shared pass fails alone -------------------------------------


def _failing_and_good(generator) -> tuple[list, list[list]]:
    # What `parse` now refuses, planned directly: torch cannot hold top_k = 10**20, so the
    # pass it shares fails inside the model call ("Overflow when unpacking long long").
    bad = generator.plan(["x"], DecodingParams(max_new_tokens=6, do_sample=True, top_k=HUGE))
    good = [
        generator.plan([prompt], DecodingParams(max_new_tokens=6, do_sample=True, seed=i))
        for i, prompt in enumerate(["Once upon", "a short note"])
    ]
    return bad, good


@pytest.mark.parametrize("kind", ["dynamic", "continuous"])
def test_a_request_that_breaks_the_batch_fails_alone(kind, t5_generator, llama_generator, caplog):
    generator = t5_generator if kind == "dynamic" else llama_generator
    cls = Batcher if kind == "dynamic" else ContinuousBatcher
    batcher = cls(generator, DeploymentSettings(batch_wait_ms=0))
    bad, good = _failing_and_good(generator)
    jobs = [batcher.submit(good[0]), batcher.submit(bad), batcher.submit(good[1])]
    batcher.start()  # all three are waiting: they share the first pass (or prefill)
    try:
        with pytest.raises(GenerationError, match="generation failed"):
            jobs[1].future.result(HANG_GUARD)
        answers = [jobs[0].future.result(HANG_GUARD), jobs[2].future.result(HANG_GUARD)]
    finally:
        batcher.stop()
    assert answers == [generator.execute(items) for items in good]
    assert "alone" in caplog.text  # the shared attempt failed, then each ran on its own


# -- /ping answers while a big prompt is tokenized -------------------------------------


def test_ping_answers_while_a_long_prompt_is_tokenized(t5_generator, monkeypatch):
    service = service_for(t5_generator)
    tokenizer = CountingTokenizer(t5_generator.tokenizer, pause_at=100_000)
    monkeypatch.setattr(t5_generator, "tokenizer", tokenizer)
    app = create_app(service)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            post = asyncio.ensure_future(
                client.post("/invocations", json={"text_inputs": "word " * 20_000})
            )
            assert await asyncio.to_thread(tokenizer.started.wait, HANG_GUARD)
            ping = await asyncio.wait_for(client.get("/ping"), HANG_GUARD)
            still_tokenizing = not tokenizer.finished.is_set()
            tokenizer.release.set()
            return ping, still_tokenizing, await asyncio.wait_for(post, HANG_GUARD)

    try:
        ping, still_tokenizing, answer = asyncio.run(go())
    finally:
        tokenizer.release.set()
        service.shutdown()
    assert ping.status_code == 200 and still_tokenizing
    assert answer.status_code == 413  # 100,000 characters pass the limit; the context does not


# -- error bodies are strict JSON, however deep or odd the input -----------------------


def nested(depth: int, inner: bytes = b'"x"') -> bytes:
    return b"[" * depth + inner + b"]" * depth


ODD_BODIES = [  # (body, the field its error names)
    (b'{"text_inputs": NaN}', "text_inputs"),
    (
        b'{"text_inputs": "x", "temperature": NaN, "top_p": Infinity, "stop": [-Infinity]}',
        "temperature",
    ),
    (b'{"text_inputs": "x", "max_length": Infinity}', "max_length"),
    (b"NaN", None),
    (nested(100_000, b""), "body"),
    (b'{"text_inputs": ' + nested(500) + b"}", "text_inputs"),
    (b'{"text_inputs": "x", "parameters": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, "body"),
    (b'{"text_inputs": "\\ud800"}', "text_inputs"),
    (b'{"text_inputs": "x", "top_k": ' + b"9" * 5000 + b"}", "body"),
]


@pytest.mark.parametrize("body,field", ODD_BODIES, ids=range(len(ODD_BODIES)))
@pytest.mark.parametrize("runtime_shape", [False, True], ids=["invocations", "runtime-path"])
def test_odd_bodies_are_a_400_in_strict_json(body, field, runtime_shape, t5_service):
    reply = invoke(t5_service, body, runtime_shape=runtime_shape)
    answer = strict(reply.body)
    if runtime_shape:
        assert reply.status == 424 and answer["OriginalStatusCode"] == 400
        answer = strict(answer["OriginalMessage"].encode())
    else:
        assert reply.status == 400, answer
    assert answer["error"]["field"] == field


def test_a_deep_json_lines_line_gets_an_error_line_and_its_siblings_answers(t5_service):
    body = b"\n".join(
        [
            b'{"text_inputs": "a", "max_length": 3}',
            nested(100_000, b""),
            b'{"text_inputs": ' + nested(40) + b"}",
            b'{"text_inputs": NaN}',
            b'{"text_inputs": "b", "max_length": 3}',
        ]
    )
    reply = invoke(t5_service, body, "application/jsonlines")
    assert reply.status == 200
    lines = [strict(line) for line in reply.body.splitlines()]
    assert "generated_texts" in lines[0] and "generated_texts" in lines[4]
    assert [line["error"]["field"] for line in lines[1:4]] == [
        "line 2",
        "text_inputs",
        "text_inputs",
    ]


# -- the real thing: a deployed endpoint and a batch job ------------------------------


@pytest.mark.integration
def test_a_deployed_endpoint_refuses_a_huge_top_k_as_curl_sends_it(isolated_env):
    from springboard.serving import endpoints

    info = endpoints.deploy(
        "springboard-tiny-t5",
        name="limits-t5",
        env={"SPRINGBOARD_MAX_INPUTS": "3", "OMP_NUM_THREADS": "1"},
    )
    try:
        url = f"{info.url}/invocations"
        curl = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends
        huge = httpx.post(
            url,
            headers=curl,
            timeout=HANG_GUARD,
            content=b'{"text_inputs":"x","top_k":100000000000000000000,"do_sample":true}',
        )
        assert huge.status_code == 400, huge.text
        error = strict(huge.content)["error"]
        assert error["field"] == "top_k" and "SPRINGBOARD_MAX_TOP_K" in error["message"]
        many = httpx.post(url, json={"text_inputs": ["a"] * 4}, timeout=HANG_GUARD)
        assert many.status_code == 400 and "at most 3" in many.json()["error"]["message"]
        ok = httpx.post(url, json={"text_inputs": ["a"] * 3, "max_length": 3}, timeout=HANG_GUARD)
        assert ok.status_code == 200 and len(ok.json()["generated_texts"]) == 3
        scrape = httpx.get(f"{info.url}/metrics", timeout=HANG_GUARD).text
        assert "springboard_cancelled_requests_total" in scrape
        assert "springboard_active_rows 0.0" in scrape
    finally:
        endpoints.delete("limits-t5")


@pytest.mark.integration
def test_a_batch_record_with_a_huge_top_k_gets_an_error_line(tmp_path):
    from springboard.jobs import service, transform

    source = tmp_path / "in.jsonl"
    records = [
        {"id": "a", "text_inputs": "summarize: one", "max_length": 4},
        {"id": "b", "text_inputs": "x", "top_k": HUGE, "do_sample": True},
        {"id": "c", "text_inputs": "summarize: two", "max_length": 4},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    job = transform.submit("springboard-tiny-t5", input=str(source), output=str(tmp_path / "out"))
    job = service.wait(job.id, timeout=HANG_GUARD * 2)
    assert job.status == "PartiallyCompleted", job
    lines = [
        strict(line.encode())
        for line in (tmp_path / "out" / "in.jsonl.out").read_text().splitlines()
    ]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    assert lines[1]["error"]["field"] == "top_k"
    assert "generated_texts" in lines[0] and "generated_texts" in lines[2]
