"""`deploy --env` (and the SDK's `env=`) refuses a variable in the managed hubs' or
Springboard's namespaces that nothing reads, naming the nearest one that is read, before
any process starts; other variables pass to the server."""

from __future__ import annotations

import json
import subprocess

import pytest

from springboard.errors import ValidationError
from springboard.serving.settings import (
    DeploymentSettings,
    env_key_issues,
    known_env_keys,
)
from tests.conftest import VENV_BIN, cli_env


@pytest.mark.integration  # a subprocess CLI
def test_the_cli_refuses_a_misspelt_setting_with_exit_2_before_starting_anything(isolated_env):
    # the issue's acceptance command
    result = subprocess.run(
        [
            str(VENV_BIN / "springboard"),
            "deploy",
            "springboard-tiny-t5",
            "--name",
            "x",
            "--env",
            "OPTION_MAX_ROLING_BATCH_SIZE=8",
        ],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "OPTION_MAX_ROLING_BATCH_SIZE" in result.stderr
    assert "did you mean OPTION_MAX_ROLLING_BATCH_SIZE?" in result.stderr
    assert "Traceback" not in result.stderr
    listed = subprocess.run(
        [str(VENV_BIN / "springboard"), "endpoints", "list", "--json"],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        timeout=120,
    )
    assert json.loads(listed.stdout) == []  # no record, so no server process either


def test_the_sdk_gets_the_same_check():
    from springboard import JumpStartModel

    with pytest.raises(ValidationError) as err:
        JumpStartModel("springboard-tiny-t5").deploy(
            endpoint_name="x", env={"SAGEMAKER_MODEL_SERVER_TIMEOT": "30", "HF_TOKEN": "t"}
        )
    (issue,) = err.value.issues
    assert issue.field == "SAGEMAKER_MODEL_SERVER_TIMEOT"
    assert issue.fix == "did you mean SAGEMAKER_MODEL_SERVER_TIMEOUT?"
    from springboard.serving import endpoints

    assert endpoints.list_endpoints() == []


def test_every_unknown_key_is_reported_with_the_bad_values():
    with pytest.raises(ValidationError) as err:
        DeploymentSettings.from_env(
            {"OPTION_DTYPE": "fp64", "SPRINGBOARD_MAX_QUEUE_SIZ": "9", "OPTION_FOO": "1"}
        )
    fields = [i.field for i in err.value.issues]
    assert fields == ["SPRINGBOARD_MAX_QUEUE_SIZ", "OPTION_FOO", "OPTION_DTYPE"]
    assert err.value.issues[0].fix == "did you mean SPRINGBOARD_MAX_QUEUE_SIZE?"
    assert err.value.issues[1].fix.startswith("known: OPTION_BACKEND, OPTION_CHAT_TEMPLATE")


@pytest.mark.parametrize(
    "key",
    [
        "HF_TOKEN",
        "HF_HOME",
        "OMP_NUM_THREADS",
        "MY_OWN_VARIABLE",  # not ours: unchecked
        "OPTION_MAX_ROLLING_BATCH_SIZE",
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "SPRINGBOARD_MAX_TOP_K",
        "SPRINGBOARD_OFFLINE",
        "springboard_offline",  # process settings, read in any case
        "SAGEMAKER_PROGRAM",
        "SAGEMAKER_SUBMIT_DIRECTORY",  # the managed container's, unread
    ],
)
def test_known_and_foreign_keys_pass(key):
    assert env_key_issues({key: "1"}) == []


@pytest.mark.parametrize(
    "key, nearest",
    [
        ("OPTION_MAX_ROLING_BATCH_SIZE", "OPTION_MAX_ROLLING_BATCH_SIZE"),
        ("option_dtype", "OPTION_DTYPE"),  # deployment settings are read in upper case only
        ("SPRINGBOARD_OFLINE", "SPRINGBOARD_OFFLINE"),
        ("SAGEMAKER_MODEL_SERVER_WORKER", "SAGEMAKER_MODEL_SERVER_WORKERS"),
    ],
)
def test_a_near_miss_names_the_key_meant(key, nearest):
    (issue,) = env_key_issues({key: "1"})
    assert issue.field == key and issue.fix == f"did you mean {nearest}?"


def test_the_known_keys_are_what_the_settings_read():
    from springboard.config import Settings
    from springboard.serving.settings import ENV_FIELDS

    known = known_env_keys()
    assert set(ENV_FIELDS) <= known
    assert {f"SPRINGBOARD_{name.upper()}" for name in Settings.model_fields} <= known
