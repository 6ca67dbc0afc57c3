"""The AWS runtime APIs for real, driven by unmodified boto3 on loopback: SageMaker's
response stream on an endpoint and through the control plane, and the Bedrock runtime
(InvokeModel, its stream, Converse, ConverseStream) on `springboard serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from springboard.api import eventstream
from springboard.config import reset_settings
from springboard.serving import endpoints
from tests import servers

pytestmark = pytest.mark.integration

QUESTION = (
    "Q: Omar has 9 cards. Omar gets 4 more cards. Omar gives 2 cards to Lena. "
    "How many cards does Omar have now?"
)
HANG_GUARD = 60


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("aws-runtime-home")


@pytest.fixture
def env(home, monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_HOME", str(home))
    reset_settings()
    return home


@pytest.fixture(scope="module")
def endpoint(home) -> Iterator[str]:
    """One llama endpoint named `chat` (its own home, deleted at the end)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPRINGBOARD_HOME", str(home))
        patch.delenv("SPRINGBOARD_API_KEY", raising=False)
        reset_settings()
        # every decoding step's tokens written as they come (the default coalesces them
        # every 50 ms), so a stream shows as many events as a per-token server sends
        info = endpoints.deploy(
            "springboard-tiny-llama", name="chat", env={"SPRINGBOARD_STREAM_INTERVAL_MS": "0"}
        )
    yield info.url
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPRINGBOARD_HOME", str(home))
        reset_settings()
        endpoints.delete("chat")


@pytest.fixture(scope="module")
def control_plane(home, endpoint, tmp_path_factory) -> Iterator[str]:
    """`springboard serve` over the same home."""
    with servers.control_plane(home, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


def aws(service: str, url: str):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, read_timeout=HANG_GUARD),
    )


def native(max_new_tokens: int = 30) -> bytes:
    return json.dumps(
        {"inputs": QUESTION + "\nA:", "parameters": {"max_new_tokens": max_new_tokens}}
    ).encode()


def test_event_stream_frames_parse_with_botocore():
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(
        eventstream.event("PayloadPart", b'{"token": 1}', "application/octet-stream")
        + eventstream.exception("ModelStreamError", {"Message": "boom"})
    )
    first, second = list(buffer)
    assert first.headers[":event-type"] == "PayloadPart" and first.payload == b'{"token": 1}'
    assert second.headers[":message-type"] == "exception"
    assert json.loads(second.payload) == {"Message": "boom"}


@pytest.mark.parametrize("through", ["endpoint", "control plane"])
def test_sagemaker_response_stream_joins_into_the_plain_answer(
    env, endpoint, control_plane, through
):
    rt = aws("sagemaker-runtime", endpoint if through == "endpoint" else control_plane)
    plain = json.loads(
        rt.invoke_endpoint(EndpointName="chat", Body=native(), ContentType="application/json")[
            "Body"
        ].read()
    )
    response = rt.invoke_endpoint_with_response_stream(
        EndpointName="chat", Body=native(), ContentType="application/json"
    )
    parts = [event["PayloadPart"]["Bytes"] for event in response["Body"]]
    assert len(parts) > 3  # it streamed, not one blob
    lines = [json.loads(line) for line in b"".join(parts).splitlines()]
    streamed = "".join(line["token"]["text"] for line in lines)
    assert streamed == lines[-1]["generated_text"] == plain[0]["generated_text"]
    assert lines[-1]["details"]["generated_tokens"] > 0

    with pytest.raises(ClientError) as err:  # refused before the stream starts; as SageMaker
        rt.invoke_endpoint_with_response_stream(  # does, the model's 400 is a ModelError
            EndpointName="chat", Body=b'{"inputs": "x", "parameters": {"top_p": 7}}'
        )
    assert err.value.response["Error"]["Code"] == "ModelError"
    assert err.value.response["OriginalStatusCode"] == 400 and "top_p" in str(err.value)
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint_with_response_stream(EndpointName="nope", Body=native())
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_bedrock_invoke_model_and_its_stream(env, endpoint, control_plane):
    rt = aws("bedrock-runtime", control_plane)
    plain = json.loads(rt.invoke_model(modelId="chat", body=native())["body"].read())
    response = rt.invoke_model_with_response_stream(modelId="springboard-tiny-llama", body=native())
    lines = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert len(lines) > 3
    assert "".join(line["token"]["text"] for line in lines) == plain[0]["generated_text"]

    with pytest.raises(rt.exceptions.ResourceNotFoundException) as missing:
        rt.invoke_model(modelId="nope", body=native())
    assert "chat" in str(missing.value)  # names what exists
    with pytest.raises(rt.exceptions.ValidationException) as bad:
        rt.invoke_model(modelId="chat", body=b'{"inputs": "x", "parameters": {"top_p": 7}}')
    assert "top_p" in str(bad.value)


def test_converse_and_converse_stream_agree(env, endpoint, control_plane):
    rt = aws("bedrock-runtime", control_plane)
    messages = [{"role": "user", "content": [{"text": QUESTION}]}]
    config = {"maxTokens": 40, "temperature": 0}
    plain = rt.converse(modelId="chat", messages=messages, inferenceConfig=config)
    text = plain["output"]["message"]["content"][0]["text"]
    assert "The answer is 11." in text  # the chat template keeps the model's worked answers
    assert plain["stopReason"] == "end_turn"
    assert plain["usage"]["outputTokens"] > 0
    assert plain["usage"]["totalTokens"] == (
        plain["usage"]["inputTokens"] + plain["usage"]["outputTokens"]
    )

    events = list(
        rt.converse_stream(modelId="chat", messages=messages, inferenceConfig=config)["stream"]
    )
    assert list(events[0]) == ["messageStart"] and events[0]["messageStart"]["role"] == "assistant"
    streamed = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    assert streamed == text
    kinds = [next(iter(e)) for e in events]
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert events[-1]["metadata"]["usage"] == plain["usage"]

    short = rt.converse(modelId="chat", messages=messages, inferenceConfig={"maxTokens": 3})
    assert short["stopReason"] == "max_tokens" and short["usage"]["outputTokens"] == 3


def test_converse_refuses_what_it_does_not_support_by_name(env, endpoint, control_plane):
    rt = aws("bedrock-runtime", control_plane)
    with pytest.raises(rt.exceptions.ValidationException) as err:
        rt.converse(
            modelId="chat",
            messages=[
                {
                    "role": "user",
                    "content": [{"image": {"format": "png", "source": {"bytes": b"x"}}}],
                }
            ],
            toolConfig={"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]},
        )
    message = str(err.value)
    assert "toolConfig" in message and "messages[0].content[0].image" in message
    with pytest.raises(rt.exceptions.ValidationException) as err:  # the endpoint's own check
        rt.converse(
            modelId="chat",
            messages=[{"role": "user", "content": [{"text": "hi"}]}],
            additionalModelRequestFields={"top_p": 3},
        )
    assert "top_p" in str(err.value)
