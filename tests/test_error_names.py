"""Library errors name parameters as the library's functions do (`input`,
`prompt_template`, `predictions`); the CLI spells them as the running command's flags, in
one place (`cli.output.flag_names`)."""

from __future__ import annotations

import json
import subprocess

import pytest

from springboard.errors import Issue, NotFoundError, ValidationError
from tests.conftest import VENV_BIN, cli_env


def sb(home, *args):
    return subprocess.run(
        [str(VENV_BIN / "springboard"), *args],
        capture_output=True,
        text=True,
        env=cli_env(home),
        timeout=120,
    )


def test_the_sdk_sees_parameter_names(tmp_path):
    from springboard.evaluation.compare import read_prompts
    from springboard.prompting import load_template

    with pytest.raises(ValidationError) as err:
        read_prompts(tmp_path / "none.jsonl")
    assert err.value.issues[0].field == "input"
    with pytest.raises(ValidationError) as err:
        load_template("{not json")
    assert err.value.issues[0].field == "prompt_template"
    with pytest.raises(NotFoundError) as missing:
        load_template("no-such-template")
    assert missing.value.field == "prompt_template" and "--" not in str(missing.value)


@pytest.mark.integration  # a subprocess CLI
def test_the_cli_shows_its_flags_for_the_same_errors(isolated_env, tmp_path):
    compare = sb(
        isolated_env,
        "compare",
        "springboard-tiny-t5",
        "springboard-tiny-t5",
        "--input",
        str(tmp_path / "none.jsonl"),
    )
    assert compare.returncode == 2 and "`--input`:" in compare.stderr
    template = sb(
        isolated_env,
        "predict",
        "springboard-tiny-t5",
        "--input",
        "{}",
        "--prompt-template",
        "{not json",
        "--json",
    )
    error = json.loads(template.stderr)["error"]
    assert error["field"] == "--prompt-template"
    assert error["issues"][0]["field"] == "--prompt-template"
    rouge = sb(
        isolated_env,
        "evaluate",
        "rouge",
        "--predictions",
        str(tmp_path / "p"),
        "--references",
        str(tmp_path / "r"),
    )
    assert "`--predictions`" in rouge.stderr and "`--references`" in rouge.stderr


def test_renaming_spells_fields_and_backquoted_names_only():
    error = ValidationError(
        [
            Issue("id_field", "is missing", "x", "pass `id_field` naming the `id` column"),
            Issue("record.id_field", "stays", None),
        ],
        context="`input`: bad",
    )
    names = {"id_field": "--id-field", "input": "--input"}
    renamed = error.renamed(names)
    assert [i.field for i in renamed.issues] == ["--id-field", "record.id_field"]
    assert renamed.issues[0].fix == "pass `--id-field` naming the `id` column"
    assert str(renamed).startswith("`--input`: bad")
    assert error.issues[0].field == "id_field" and "--" not in str(error)  # unchanged
    plain = NotFoundError("no `input` here", field="input", fix="give `input`").renamed(names)
    assert (plain.field, plain.message, plain.fix) == (
        "--input",
        "no `--input` here",
        "give `--input`",
    )
    assert str(plain) == "no `--input` here. Give `--input`"


def test_flag_names_are_read_from_the_command():
    from springboard.cli.main import app
    from springboard.cli.output import command_of, flag_names

    names = flag_names(command_of(app, ["self-consistency", "report", "dir", "--from-job", "j"]))
    assert names["from_job"] == names["job_ids"] == "--from-job"
    assert names["directory"] == "DIRECTORY"
    assert flag_names(command_of(app, ["train", "m"]))["model_id"] == "MODEL_ID"
    assert flag_names(command_of(app, ["invocation-jobs", "create"]))["input_uri"] == "--input"
