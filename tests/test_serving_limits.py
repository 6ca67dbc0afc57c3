"""The endpoint's limits, in-process: a full queue answers 503 with Retry-After, a slow
request 504, and neither affects the requests around it. Real model, real batcher, the
real FastAPI app (driven without a socket)."""

from __future__ import annotations

import asyncio

import pytest

from springboard.serving.service import EndpointService
from springboard.serving.settings import DeploymentSettings


def service_for(generator, **settings) -> EndpointService:
    service = EndpointService("limits", generator.spec, DeploymentSettings(**settings))
    service.attach(generator)
    return service


async def burst(service: EndpointService, bodies: list[bytes]):
    return await asyncio.gather(
        *(service.invoke(b, "application/json", runtime_shape=False) for b in bodies)
    )


def test_full_queue_is_503_with_retry_after(llama_generator):
    service = service_for(
        llama_generator, max_queue_size=1, max_rolling_batch_size=1, batch_wait_ms=0
    )
    try:
        body = b'{"inputs": "x", "parameters": {"max_new_tokens": 200}}'
        replies = asyncio.run(burst(service, [body] * 6))
    finally:
        service.shutdown()
    statuses = [r.status for r in replies]
    assert 503 in statuses and 200 in statuses
    rejected = next(r for r in replies if r.status == 503)
    assert rejected.headers["Retry-After"] == "1"
    assert b"SPRINGBOARD_MAX_QUEUE_SIZE" in rejected.body


def test_slow_request_is_504_and_the_next_one_still_works(llama_generator):
    service = service_for(llama_generator, model_server_timeout=0.05)
    try:
        slow = asyncio.run(
            service.invoke(
                b'{"inputs": "x", "parameters": {"max_new_tokens": 500}}',
                "application/json",
                runtime_shape=False,
            )
        )
        assert slow.status == 504 and b"SAGEMAKER_MODEL_SERVER_TIMEOUT" in slow.body
        service.settings = DeploymentSettings(model_server_timeout=30)
        quick = asyncio.run(
            service.invoke(
                b'{"inputs": "x", "parameters": {"max_new_tokens": 2}}',
                "application/json",
                runtime_shape=False,
            )
        )
        assert quick.status == 200
    finally:
        service.shutdown()


def test_not_ready_is_503(llama_generator):
    service = EndpointService("cold", llama_generator.spec, DeploymentSettings())
    reply = asyncio.run(service.invoke(b"{}", "application/json", runtime_shape=False))
    assert reply.status == 503


@pytest.mark.parametrize(
    "env,field",
    [
        ({"OPTION_N_POSITIONS": "-3"}, "OPTION_N_POSITIONS"),
        ({"SAGEMAKER_MODEL_SERVER_WORKERS": "many"}, "SAGEMAKER_MODEL_SERVER_WORKERS"),
        ({"SPRINGBOARD_MAX_QUEUE_SIZE": "0"}, "SPRINGBOARD_MAX_QUEUE_SIZE"),
    ],
)
def test_settings_errors_name_the_variable(env, field):
    from springboard.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        DeploymentSettings.from_env(env)
    assert err.value.field == field


def test_settings_start_from_the_preset_and_report_a_match(llama_generator):
    spec = llama_generator.spec
    settings = DeploymentSettings.from_env({}, spec)
    assert settings.max_rolling_batch_size == spec.deployment_presets[0].max_batch_size
    assert settings.matching_preset(spec) is not None
    assert (
        DeploymentSettings.from_env({"OPTION_MAX_ROLLING_BATCH_SIZE": "3"}, spec).matching_preset(
            spec
        )
        is None
    )


def test_option_n_positions_limits_each_request(llama_generator):
    from springboard.errors import ContextLengthError
    from springboard.inference import Generator, LoadOptions

    small = Generator(
        llama_generator.spec, llama_generator.model_dir, LoadOptions(context_length=16)
    )
    assert small.predict({"inputs": "x", "parameters": {"max_new_tokens": 4}})
    with pytest.raises(ContextLengthError) as err:
        small.predict({"inputs": "x", "parameters": {"max_new_tokens": 40}})
    assert "16" in str(err.value) and "40" in str(err.value)
