"""The OpenAI API for real: endpoints and the gateway on loopback, driven by the official
`openai` client (and raw httpx where the wire format itself is the point)."""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx
import openai
import pytest
from openai import OpenAI

from springboard.config import reset_settings
from springboard.serving import endpoints
from tests import servers
from tests.conftest import VENV_BIN, cli_env
from tests.test_endpoints import env, home  # noqa: F401 (fixtures: this module's own home)

pytestmark = pytest.mark.integration

WORD_PROBLEM = (
    "Q: Maya has 12 apples. Maya buys 5 more apples. Maya gives 3 apples to Omar. "
    "How many apples does Maya have now?"
)
HANG_GUARD = 60


@pytest.fixture(scope="module")
def chat_endpoint(home):
    """One llama endpoint named `chat` for the module (its own home, deleted at the end)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPRINGBOARD_HOME", str(home))
        patch.delenv("SPRINGBOARD_API_KEY", raising=False)
        reset_settings()
        info = endpoints.deploy("springboard-tiny-llama", name="chat")
    yield info.url
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        endpoints.delete("chat")


def client(url: str, key: str = "none") -> OpenAI:
    return OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=HANG_GUARD)


def ask(text: str = WORD_PROBLEM) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_chat_streams_exactly_the_plain_answer(env, chat_endpoint):
    c = client(chat_endpoint)
    assert [m.id for m in c.models.list()] == ["chat"]
    plain = c.chat.completions.create(model="chat", messages=ask(), max_tokens=40, temperature=0)
    answer = plain.choices[0].message.content
    assert "The answer is 14." in answer  # the chat template keeps its worked answers
    assert plain.choices[0].finish_reason == "stop" and plain.object == "chat.completion"
    assert plain.usage.total_tokens == plain.usage.prompt_tokens + plain.usage.completion_tokens

    chunks = list(
        c.chat.completions.create(
            model="chat",
            messages=ask(),
            max_tokens=40,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    content = [ch for ch in chunks if ch.choices]
    assert "".join(ch.choices[0].delta.content or "" for ch in content) == answer
    assert content[0].choices[0].delta.role == "assistant"
    assert all(ch.choices[0].delta.role is None for ch in content[1:])
    reasons = [ch.choices[0].finish_reason for ch in content]
    assert reasons[-1] == "stop" and not any(reasons[:-1])
    assert (
        chunks[-1].choices == []
        and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    )
    assert chunks[-1].usage.prompt_tokens == plain.usage.prompt_tokens
    assert len({ch.id for ch in chunks}) == 1 and all(ch.usage is None for ch in chunks[:-1])


def test_completions_with_lists_n_logprobs_seed_and_length(env, chat_endpoint):
    c = client(chat_endpoint)
    out = c.completions.create(
        model="chat", prompt=["Q: 2 + 3?", "Q: 7 - 4?"], n=2, max_tokens=8, logprobs=2, seed=7
    )
    assert [ch.index for ch in out.choices] == [0, 1, 2, 3] and out.object == "text_completion"
    for choice in out.choices:
        lp = choice.logprobs
        assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) >= 1
        assert all(v <= 0 for v in lp.token_logprobs)
        assert all(len(top) <= 2 for top in lp.top_logprobs)
        assert "".join(lp.tokens) == choice.text
    assert out.usage.completion_tokens == sum(len(ch.logprobs.tokens) for ch in out.choices)
    again = c.completions.create(
        model="chat", prompt=["Q: 2 + 3?", "Q: 7 - 4?"], n=2, max_tokens=8, logprobs=2, seed=7
    )
    assert [ch.text for ch in again.choices] == [ch.text for ch in out.choices]

    short = c.completions.create(
        model="chat", prompt="Q: Omar has 9 cards.\nA:", max_tokens=3, temperature=0
    )
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 3
    chat = c.chat.completions.create(
        model="chat", messages=ask(), max_tokens=6, temperature=0, logprobs=True, top_logprobs=3
    )
    tokens = chat.choices[0].logprobs.content
    assert len(tokens) == chat.usage.completion_tokens == 6
    assert all(t.top_logprobs[0].logprob >= t.logprob - 1e-6 for t in tokens)  # greedy: the top one
    assert "".join(t.token for t in tokens) == chat.choices[0].message.content


def test_what_is_not_supported_is_refused_by_name(env, chat_endpoint):
    c = client(chat_endpoint)
    refusals = [
        (dict(top_p=2), "top_p"),
        (dict(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]), "tools"),
        (dict(response_format={"type": "json_object"}), "response_format"),
        (dict(stream_options={"include_usage": True}), "stream_options"),
        (dict(n=2, temperature=0.5, presence_penalty=3), "presence_penalty"),
        (dict(extra_body={"guided_json": {}}), "guided_json"),
        (dict(max_tokens=5000), None),  # past the context: named by the prompt's field
    ]
    for kwargs, param in refusals:
        with pytest.raises(openai.BadRequestError) as err:
            c.chat.completions.create(model="chat", messages=ask(), **kwargs)
        assert err.value.status_code == 400
        if param:
            assert err.value.body["param"] == param, (kwargs, err.value.body)
            assert param in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="chat", messages=ask(), max_tokens=5000)
    assert err.value.body["code"] == "context_length_exceeded"
    assert err.value.body["param"] == "messages" and "max_tokens" in err.value.body["message"]
    assert "max_new_tokens" not in err.value.body["message"]
    with pytest.raises(openai.NotFoundError) as err:
        c.chat.completions.create(model="no-such-model", messages=ask())
    assert "chat" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="chat", messages=[{"role": "tool", "content": "x"}])
    assert err.value.body["param"] == "messages[0].role"


def test_the_raw_event_stream_is_openais(env, chat_endpoint):
    body = {
        "model": "chat",
        "prompt": "Q: 2 + 3?\nA:",
        "max_tokens": 5,
        "temperature": 0,
        "stream": True,
    }
    with httpx.stream(
        "POST", chat_endpoint + "/v1/completions", json=body, timeout=HANG_GUARD
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    assert raw.endswith("data: [DONE]\n\n")
    events = [json.loads(e[len("data: ") :]) for e in raw.strip().split("\n\n")[:-1]]
    assert all(e["object"] == "text_completion" for e in events)
    assert events[-1]["choices"][0]["finish_reason"] == "length"


def _metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=HANG_GUARD).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_client_that_leaves_mid_stream_frees_its_rows(env, chat_endpoint):
    before = _metric(chat_endpoint, "springboard_cancelled_rows_total")
    body = {
        "model": "chat",
        "prompt": "Once upon a time",
        "max_tokens": 400,
        "temperature": 1.0,
        "seed": 1,
        "stream": True,
    }
    with httpx.stream(
        "POST", chat_endpoint + "/v1/completions", json=body, timeout=HANG_GUARD
    ) as response:
        lines = response.iter_lines()
        got = [next(lines) for _ in range(3)]  # a few events, then hang up
    assert any(line.startswith("data: ") for line in got)
    deadline = time.monotonic() + HANG_GUARD
    while (
        _metric(chat_endpoint, "springboard_cancelled_rows_total") <= before
        or _metric(chat_endpoint, "springboard_active_rows") > 0
    ):
        assert time.monotonic() < deadline, "the rows of a gone client were not freed"
        time.sleep(0.1)


def test_invoke_stream_and_chat_in_the_terminal(env, chat_endpoint):
    problem = (
        "Q: Omar has 9 cards. Omar gets 4 more cards. Omar gives 2 cards to Lena. "
        "How many cards does Omar have now?\nA:"
    )
    run = subprocess.run(
        [
            str(VENV_BIN / "springboard"),
            "invoke",
            "chat",
            json.dumps({"inputs": problem, "parameters": {"max_new_tokens": 40, "stop": ["\n\n"]}}),
            "--stream",
        ],
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "The answer is 11." in run.stdout
    chat = subprocess.run(
        [str(VENV_BIN / "springboard"), "chat", "chat", "--temperature", "0", "--max-tokens", "40"],
        input=WORD_PROBLEM + "\n/reset\n" + problem.split("\nA:")[0] + "\n/exit\n",
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stderr
    assert "The answer is 14." in chat.stdout and "The answer is 11." in chat.stdout
    assert "conversation forgotten" in chat.stdout


def test_python_predictor_streams_pieces(env, chat_endpoint):
    from springboard.sdk import Predictor

    pieces = list(
        Predictor("chat").stream(
            {
                "inputs": WORD_PROBLEM + "\nA:",
                "parameters": {"max_new_tokens": 40, "stop": ["\n\n"]},
            }
        )
    )
    # the first token comes alone, the rest at most every SPRINGBOARD_STREAM_INTERVAL_MS
    assert len(pieces) >= 2 and "".join(pieces).strip().endswith("The answer is 14.")
    whole = Predictor("chat").predict(
        {"inputs": WORD_PROBLEM + "\nA:", "parameters": {"max_new_tokens": 40, "stop": ["\n\n"]}}
    )
    assert "".join(pieces) == whole[0]["generated_text"]


def test_the_gateway_routes_by_model_and_streams_through(env, chat_endpoint, tmp_path):
    with servers.control_plane(env, tmp_path / "serve.log", hang_guard=HANG_GUARD) as url:
        c = client(url)
        assert [(m.id, m.model_extra.get("root")) for m in c.models.list()] == [
            ("chat", "springboard-tiny-llama")
        ]
        direct = client(chat_endpoint).chat.completions.create(
            model="chat", messages=ask(), max_tokens=40, temperature=0
        )
        for model in ("chat", "springboard-tiny-llama"):  # by endpoint name or catalog id
            routed = c.chat.completions.create(
                model=model, messages=ask(), max_tokens=40, temperature=0
            )
            assert routed.choices[0].message.content == direct.choices[0].message.content
        streamed = "".join(
            ch.choices[0].delta.content or ""
            for ch in c.chat.completions.create(
                model="chat", messages=ask(), max_tokens=40, temperature=0, stream=True
            )
            if ch.choices
        )
        assert streamed == direct.choices[0].message.content
        with pytest.raises(openai.NotFoundError):
            c.completions.create(model="nope", prompt="x")
        with pytest.raises(openai.BadRequestError) as err:  # the endpoint's own checks
            c.chat.completions.create(model="chat", messages=ask(), top_p=2)
        assert err.value.body["param"] == "top_p"


def test_a_keyed_text2text_endpoint_serves_completions_and_wants_its_key(env, monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_API_KEY", "k1")
    info = endpoints.deploy("springboard-tiny-t5", name="t5-openai")
    try:
        with pytest.raises(openai.AuthenticationError):
            client(info.url, "wrong").completions.create(model="t5-openai", prompt="x")
        out = client(info.url, "k1").completions.create(
            model="t5-openai",
            prompt="rewrite in the past tense: Ada paints the gate.",
            max_tokens=16,
            temperature=0,
        )
        assert out.choices[0].text == "Ada painted the gate."
        with pytest.raises(openai.BadRequestError) as err:  # no chat template
            client(info.url, "k1").chat.completions.create(model="t5-openai", messages=ask())
        assert (
            err.value.body["param"] == "messages"
            and "OPTION_CHAT_TEMPLATE" in err.value.body["message"]
        )
    finally:
        endpoints.delete("t5-openai")


def test_a_deployment_gives_its_own_chat_template(env, tmp_path):
    template = tmp_path / "chat.jinja"
    template.write_text(
        "{%- for m in messages if m['role'] == 'user' -%}"
        "rewrite in the past tense: {{ m['content'] }}{%- endfor -%}"
    )
    with pytest.raises(
        Exception, match="OPTION_CHAT_TEMPLATE"
    ):  # a missing file: refused at deploy
        endpoints.deploy(
            "springboard-tiny-t5",
            name="t5-bad",
            env={"OPTION_CHAT_TEMPLATE": str(tmp_path / "nope.jinja")},
        )
    info = endpoints.deploy(
        "springboard-tiny-t5", name="t5-chat", env={"OPTION_CHAT_TEMPLATE": str(template)}
    )
    try:
        reply = client(info.url).chat.completions.create(
            model="t5-chat",
            messages=[{"role": "user", "content": "Ada paints the gate."}],
            max_tokens=16,
            temperature=0,
        )
        assert reply.choices[0].message.content == "Ada painted the gate."
    finally:
        endpoints.delete("t5-chat")
