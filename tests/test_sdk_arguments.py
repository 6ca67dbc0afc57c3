"""SDK signatures refuse unknown arguments with a did-you-mean, and accept the managed
hub's own arguments (listed in `sdk.arguments.MANAGED_HUB`) with a logged note."""

from __future__ import annotations

import inspect
import logging
import subprocess

import pytest

from tests.conftest import VENV_BIN, cli_env


@pytest.mark.integration  # a subprocess CLI
def test_a_typo_in_deploy_is_a_type_error_naming_the_argument_meant(isolated_env):
    # the acceptance command, as a user runs it
    code = (
        "import springboard as sb; sb.JumpStartModel('springboard-tiny-t5').deploy(acept_eula=True)"
    )
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        timeout=120,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("TypeError:") and "acept_eula" in last and "'accept_eula'" in last
    from springboard.serving import endpoints

    assert endpoints.list_endpoints() == []  # refused before anything was started


@pytest.mark.parametrize(
    "call, typo, meant",
    [
        (
            lambda sb, **kw: sb.Transformer("springboard-tiny-t5", output_path="o", **kw),
            "batch_sise",
            "batch_size",
        ),
        (
            lambda sb, **kw: sb.Model("springboard-tiny-t5").transformer(output_path="o", **kw),
            "max_paylod",
            "max_payload",
        ),
        (lambda sb, **kw: sb.Model("springboard-tiny-t5", **kw), "model_dri", "model_dir"),
        (
            lambda sb, **kw: sb.Estimator("springboard-tiny-t5", **kw),
            "hyperparameter",
            "hyperparameters",
        ),
        (
            lambda sb, **kw: sb.Estimator("springboard-tiny-t5").fit("data/", **kw),
            "job_nmae",
            "job_name",
        ),
        (
            lambda sb, **kw: sb.Estimator("springboard-tiny-t5").deploy(**kw),
            "endpoint_nam",
            "endpoint_name",
        ),
        (lambda sb, **kw: sb.Predictor("nowhere", **kw), "content_typ", "content_type"),
        (
            lambda sb, **kw: sb.Transformer("springboard-tiny-t5", output_path="o").transform(
                "in.jsonl", **kw
            ),
            "wiat",
            "wait",
        ),
    ],
)
def test_every_sdk_call_refuses_a_typo_before_doing_anything(call, typo, meant):
    import springboard as sb

    with pytest.raises(TypeError) as err:
        call(sb, **{typo: 1})
    assert repr(typo) in str(err.value) and f"did you mean {meant!r}" in str(err.value)


def test_a_name_far_from_any_lists_what_the_call_takes():
    import springboard as sb

    with pytest.raises(TypeError, match="it takes endpoint_name, accept_eula"):
        sb.Model("springboard-tiny-t5").deploy(zzz=1)


def test_managed_hub_arguments_are_accepted_ignored_and_noted(tmp_path, caplog):
    import springboard as sb
    from springboard.sdk import arguments

    arguments._noted.clear()  # a note is logged once per process; another test may have
    caplog.set_level(logging.INFO, logger="springboard.sdk")
    model = sb.JumpStartModel(
        "springboard-tiny-t5", instance_type="ml.g5.xlarge", role="arn:aws:iam::1:role/x"
    )
    transformer = model.transformer(
        output_path=str(tmp_path / "o"),
        instance_count=1,
        instance_type="ml.m5.xlarge",
        strategy="MultiRecord",
        batch_size=8,
    )
    assert transformer.batch_size == 8 and not hasattr(transformer, "instance_count")
    noted = [r.getMessage() for r in caplog.records if r.name == "springboard.sdk"]
    assert any("Model: role" in note and "ignored" in note for note in noted)
    assert any("Model.transformer: strategy" in note for note in noted)


def test_signatures_show_the_real_parameters_and_no_catch_all():
    """What `help()` and an IDE show: the parameters that mean something, with their
    defaults; no `**kwargs` that would swallow a typo (Estimator.deploy's `kwargs` are
    Model.deploy's, checked by name)."""
    from springboard.sdk import Estimator, Model, Predictor, Transformer

    calls = [
        Model,
        Model.deploy,
        Model.transformer,
        Transformer,
        Transformer.transform,
        Estimator,
        Estimator.fit,
        Predictor,
        Predictor.predict,
    ]
    for call in calls:
        kinds = {p.kind for p in inspect.signature(call).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, call
    deploy = inspect.signature(Model.deploy).parameters
    assert deploy["accept_eula"].default is False and "instance_type" not in deploy


def test_fit_takes_accept_eula_as_the_managed_hub_does(tmp_path):
    """A gated model's EULA can be accepted at fit (the managed hub's place) as well as in
    the constructor; without it the job is refused before it exists."""
    from springboard.errors import ClientError, EulaNotAcceptedError
    from springboard.sdk import Estimator

    estimator = Estimator("meta-textgeneration-llama-2-7b")
    with pytest.raises(EulaNotAcceptedError):
        estimator.fit(str(tmp_path), wait=False)
    with pytest.raises(ClientError) as err:  # past the gate: the empty folder is refused
        estimator.fit(str(tmp_path), wait=False, accept_eula=True)
    assert not isinstance(err.value, EulaNotAcceptedError)
