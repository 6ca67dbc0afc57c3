"""One source per default: the CLI's options, the SDK's arguments, the library's and the
servers' defaults read the typed option fields (`options.TransformOptions`,
`sdk.self_consistency.RunSettings`, `evaluation.self_consistency.ScoreOptions`,
`serving.settings.DeploymentSettings`), and training reads one `TrainingConfig` built from
the validated hyperparameters."""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

import pytest

from springboard.errors import ValidationError
from springboard.options import TransformOptions, default_of
from tests.conftest import VENV_BIN, cli_env

SRC = Path(__file__).resolve().parents[1] / "src" / "springboard"


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def _click_params(*path):
    import typer.main

    from springboard.cli.main import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {p.name: p for p in command.params}


def test_transform_defaults_and_help_come_from_transform_options():
    from springboard.sdk import Model, Transformer
    from springboard.serving.settings import DeploymentSettings

    fields = TransformOptions.model_fields
    params = _click_params("transform")
    for name, flag in (
        ("batch_size", "--batch-size"),
        ("max_payload_mb", "--max-payload-mb"),
        ("content_type", "--content-type"),
    ):
        assert params[name].default == fields[name].default, name
        assert params[name].help == fields[name].description and flag in params[name].opts
    for call in (Transformer, Model.transformer):
        assert _default(call, "batch_size") == fields["batch_size"].default
        assert _default(call, "max_payload") == fields["max_payload_mb"].default
    assert _default(Transformer.transform, "content_type") == fields["content_type"].default
    # an endpoint's body limit and a batch record's limit are the one payload limit
    assert (
        DeploymentSettings.model_fields["max_payload_mb"].default
        == fields["max_payload_mb"].default
    )


def test_the_payload_limit_default_is_written_once():
    """`grep 6.0` over the modules that deal with payloads finds the one definition."""
    written = [
        f"{path.relative_to(SRC)}"
        for path in SRC.rglob("*.py")
        if "payload" in (text := path.read_text()).lower()
        for line in text.splitlines()
        if "6.0" in line
    ]
    assert written == ["options.py"], written


def test_self_consistency_defaults_come_from_run_settings_and_score_options():
    from springboard.evaluation.answers import extract_answer
    from springboard.evaluation.self_consistency import ScoreOptions, score
    from springboard.evaluation.voting import accuracy_curve
    from springboard.sdk import self_consistency as sdk

    run = _click_params("self-consistency", "run")
    for name in ("paths", "max_tokens", "top_k", "shots", "seed", "answer_format"):
        field = sdk.RunSettings.model_fields[name]
        assert run[name].default == default_of(sdk.RunSettings, name), name
        assert run[name].help == field.description, name
    assert run["temperatures"].default == [0.7] == default_of(sdk.RunSettings, "temperatures")
    assert run["temperatures"].opts == ["--temperature"]
    assert run["temperatures"].help.startswith(
        sdk.RunSettings.model_fields["temperatures"].description
    )
    report = _click_params("self-consistency", "report")
    for name in ("answer_format", "resamples", "price_in", "price_out"):
        assert report[name].default == run[name].default == default_of(ScoreOptions, name)
    for function in (sdk.run, sdk.from_jobs, score, accuracy_curve):
        assert _default(function, "resamples") == default_of(ScoreOptions, "resamples")
    for function in (sdk.from_jobs, score, extract_answer):
        assert _default(function, "answer_format") == default_of(ScoreOptions, "answer_format")


def test_run_settings_report_every_bad_value_by_its_name():
    from springboard.sdk.self_consistency import RunSettings

    with pytest.raises(ValidationError) as err:
        RunSettings(
            model="m",
            questions="q",
            exemplars="e",
            paths=0,
            temperatures=[0.7, 0.7],
            max_tokens=5000,
            top_k=-1,
            shots=-2,
            pathz=3,
        )
    fields = {issue.field for issue in err.value.issues}
    assert fields == {"paths", "temperatures", "max_tokens", "top_k", "shots", "pathz"}
    assert "cannot run self-consistency" in str(err.value) and "--" not in str(err.value)


@pytest.mark.integration  # a subprocess CLI
def test_the_cli_names_the_same_problems_by_their_flags(isolated_env, tmp_path):
    result = subprocess.run(
        [
            str(VENV_BIN / "springboard"),
            "self-consistency",
            "run",
            "--model",
            "m",
            "--questions",
            "q",
            "--exemplars",
            "e",
            "--output",
            str(tmp_path),
            "--paths",
            "0",
            "--temperature",
            "9",
        ],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "`--paths`" in result.stderr and "`--temperature`" in result.stderr


def test_every_trainable_spec_builds_a_training_config():
    """The trainer reads only TrainingConfig: each shipped model's defaults build one (a
    spec offering a hyperparameter the trainer does not read fails here)."""
    from springboard.catalog import Catalog
    from springboard.catalog.hyperparameters import retrieve_default
    from springboard.training.config import TrainingConfig

    trainable = [s for s in Catalog.load().list(None, all_versions=True) if s.training_supported]
    assert trainable
    for spec in trainable:
        defaults = retrieve_default(spec)
        config = TrainingConfig.from_hyperparameters(defaults)
        assert config.learning_rate == defaults["learning_rate"]  # the spec's, no other
        assert config.epochs == defaults.get("epochs", defaults.get("epoch"))


def test_training_config_refuses_what_the_trainer_does_not_read():
    from springboard.training.config import TrainingConfig

    with pytest.raises(ValidationError) as err:
        TrainingConfig.from_hyperparameters(
            {"epochs": 1, "batch_size": 2, "seed": 0, "learning_rate": 0.1, "lora_rank": 4}
        )
    assert [i.field for i in err.value.issues] == ["lora_rank"]
    with pytest.raises(ValidationError) as err:  # no second default for a tunable knob
        TrainingConfig.from_hyperparameters({"epochs": 1, "batch_size": 2, "seed": 0})
    assert [i.field for i in err.value.issues] == ["learning_rate"]


def test_the_trainer_has_no_defaults_of_its_own():
    source = (SRC / "training" / "trainer.py").read_text()
    assert "hp.get(" not in source and "hp[" not in source
