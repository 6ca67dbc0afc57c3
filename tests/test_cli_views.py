"""The CLI's list, describe and metrics views: full values when piped (tab-separated, a
header line), `-q` on every list command, unique id prefixes wherever a job id goes,
describe views without Python reprs, metrics with step and ISO time, and 80-column
terminal tables that keep ids and names whole.

Jobs are recorded through `jobs.service` and never launched (no worker); the commands
run in-process with typer's CliRunner (stdout is not a terminal there), except the
terminal views and the exit code, which run the real CLI in a pseudo-terminal or a
subprocess (integration).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from springboard.cli.main import app
from springboard.errors import NotFoundError, ValidationError
from springboard.jobs import paths, service
from springboard.jobs.invocation_ids import job_arn, new_job_id
from springboard.jobs.models import Job
from springboard.jobs.states import IllegalTransitionError
from springboard.store import endpoint_records, job_records
from tests.conftest import VENV_BIN, cli_env

MODEL = "springboard-tiny-t5"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
REPRS = ("None", "False", "True", "{'", "['")

runner = CliRunner()


@pytest.fixture(autouse=True)
def not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """What rich would take as a terminal despite a pipe (set by some shells and CIs)."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def sb(*args: str) -> str:
    """Run the CLI in-process; its stdout (not a terminal)."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def record_job(
    kind: str = "transform",
    *,
    job_id: str | None = None,
    name: str | None = None,
    status: str = "Completed",
    counts: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> Job:
    """A job as the service records it, moved to `status` with `counts`; never launched."""
    job = service.create(
        kind=kind,
        name=name,
        model_id=MODEL,
        model_version="1.0.0",
        inputs={"uri": "/data/in.jsonl"},
        outputs={"dir": "/data/out"},
        settings=settings or {},
        job_id=job_id,
        launch=False,
    )
    job_records.update_row(job.id, status=status, counts=counts or {})
    return service.get(job.id)


def tsv(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


# -- piped lists: every value whole ------------------------------------------------------------


def test_piped_jobs_list_is_tab_separated_with_full_ids_and_training_steps():
    batch = record_job(counts={"total": 5, "processed": 5, "succeeded": 5})
    trained = record_job(
        "training",
        name="a-rather-long-training-job-name-for-a-narrow-table",
        counts={"step": 30, "total_steps": 30, "train_loss": 2.5},
    )
    rows = tsv(sb("jobs", "list"))
    assert rows[0] == ["id", "kind", "name", "status", "model", "progress", "created"]
    assert [r[0] for r in rows[1:]] == [batch.id, trained.id]  # oldest first, whole
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id[trained.id][2] == "a-rather-long-training-job-name-for-a-narrow-table"
    assert by_id[trained.id][5] == "30/30"  # steps, not `0/?`
    assert by_id[batch.id][5] == "5/5"
    assert all(ISO.match(r[6]) for r in rows[1:])


def test_piped_models_list_and_hyperparameters_keep_whole_values():
    rows = tsv(sb("models", "list"))
    assert rows[0][:2] == ["id", "version"]
    assert next(r[:2] for r in rows if r[0] == MODEL) == ["springboard-tiny-t5", "1.0.0"]
    assert all(len(r) == len(rows[0]) for r in rows)  # no count line under the table
    names = [r[0] for r in tsv(sb("hyperparameters", MODEL))]
    assert names[0] == "name" and "gradient_accumulation_steps" in names
    defaults = {r[0]: r[2] for r in tsv(sb("hyperparameters", MODEL))}
    assert defaults["int8_quantization"] == "false"  # as it is typed, not `False`


# -- -q on every list command ------------------------------------------------------------------


def test_quiet_prints_ids_or_names_alone_on_every_list_command():
    first, second = record_job(), record_job("training")
    invocation = record_job("invocation", job_id=new_job_id(), name="batch-1")
    assert sb("jobs", "list", "-q").splitlines() == [first.id, second.id, invocation.id]
    assert sb("jobs", "list", "--kind", "training", "--quiet").splitlines() == [second.id]
    assert sb("invocation-jobs", "list", "-q").splitlines() == [invocation.id]
    models = sb("models", "list", "-q").splitlines()
    assert MODEL in models and "id" not in models and not any("\t" in m for m in models)
    assert len(sb("models", "list", "--all-versions", "-q").splitlines()) == len(models)
    assert "summarization" in sb("prompts", "list", "-q").splitlines()
    assert sb("endpoints", "list", "-q") == ""
    endpoint_records.insert(
        {
            "name": "springboard-tiny-t5-20261202-153338",
            "model_id": MODEL,
            "model_version": "1.0.0",
            "status": "Creating",
            "host": "127.0.0.1",
            "env": {},
            "log_path": "/nowhere/server.log",
        }
    )
    assert sb("endpoints", "list", "-q").splitlines() == ["springboard-tiny-t5-20261202-153338"]
    # what `jobs list -q | head -1 | xargs springboard jobs describe` does
    oldest = sb("jobs", "list", "-q").splitlines()[0]
    assert sb("jobs", "describe", oldest).startswith("id:")


def test_quiet_and_json_together_are_refused():
    result = runner.invoke(app, ["jobs", "list", "-q", "--json"])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "quiet"


# -- id prefixes ---------------------------------------------------------------------------


def test_a_unique_prefix_names_its_job_everywhere_an_id_goes():
    job = record_job(job_id="tr-aaaa11112222", counts={"total": 2, "processed": 2})
    record_job(job_id="tr-aaaa33334444")
    assert service.get("tr-aaaa1").id == job.id
    assert service.get(job.id).id == job.id  # the whole id, as before
    assert sb("jobs", "describe", "tr-aaaa1").splitlines()[0].split() == ["id:", job.id]
    paths.record_metric(job.id, "records_per_second", 12.5, step=2)
    assert "records_per_second" in sb("jobs", "metrics", "tr-aaaa1")
    submitted = record_job(job_id="tr-bbbb11112222", status="Submitted")
    stopped = service.stop("tr-bbbb")  # stopped before it ran
    assert (stopped.id, stopped.status) == (submitted.id, "Stopped")
    with pytest.raises(IllegalTransitionError, match=f"job {job.id} is Completed"):
        service.resume("tr-aaaa1")  # the whole id reached the state machine
    assert service.wait("tr-aaaa1", timeout=1).id == job.id


def test_an_ambiguous_prefix_is_refused_listing_the_candidates():
    one, two = record_job(job_id="tr-cccc11112222"), record_job(job_id="tr-cccc33334444")
    with pytest.raises(ValidationError) as refused:
        service.get("tr-cccc")
    issue = refused.value.issues[0]
    assert issue.field == "job_id" and issue.value == "tr-cccc"
    assert one.id in issue.message and two.id in issue.message and "more of the id" in issue.fix


def test_an_unknown_id_is_not_found_with_the_nearest_ids():
    job = record_job(job_id="tr-dddd11112222")
    with pytest.raises(NotFoundError) as near:
        service.get("tr-dddd11112223")
    assert near.value.field == "job_id" and job.id in str(near.value)
    with pytest.raises(NotFoundError) as far:
        service.get("zz-nothing")
    assert "springboard jobs list" in str(far.value)
    with pytest.raises(NotFoundError):
        service.get("")  # not a prefix of everything
    with pytest.raises(NotFoundError):
        service.get("tr-dddd%")  # a LIKE wildcard is a plain character


def test_invocation_jobs_take_prefixes_and_arns():
    job = record_job("invocation", job_id=new_job_id(), name="batch-2")
    for identifier in (job.id, job.id[:6], job_arn(job.id)):
        shown = sb("invocation-jobs", "get", identifier)
        assert "jobId:" in shown and job.id in shown
        assert json.loads(sb("invocation-jobs", "get", identifier, "--json"))["jobId"] == job.id


# -- describe views ----------------------------------------------------------------------------


def describe_lines(text: str) -> dict[str, str]:
    return {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if ":" in line
    }


def test_jobs_describe_is_a_key_value_list_without_python_reprs():
    job = record_job(
        counts={"total": 2, "processed": 2},
        settings={"hyper_params": {"max_length": 8}, "keep_prompt": False, "stop": ["\n\n"]},
    )
    shown = sb("jobs", "describe", job.id)
    assert not any(r in shown for r in REPRS), shown
    fields = describe_lines(shown)
    assert fields["id"] == job.id and fields["status"] == "Completed"
    assert fields["pid"] == "-" and fields["keep_prompt"] == "no" and fields["max_length"] == "8"
    assert ISO.match(fields["created_at"]) and fields["ended_at"] == "-"
    assert "  max_length:" in shown  # a dict as indented lines under its key
    assert json.loads(sb("jobs", "describe", job.id, "--json"))["settings"]["keep_prompt"] is False


def test_endpoint_invocation_job_and_model_describe_views_have_no_reprs():
    endpoint_records.insert(
        {
            "name": "views",
            "model_id": MODEL,
            "model_version": "1.0.0",
            "status": "Creating",
            "host": "127.0.0.1",
            "env": {"OPTION_DTYPE": "fp32"},
            "log_path": "/nowhere/server.log",
        }
    )
    job = record_job("invocation", job_id=new_job_id(), name="batch-3")
    for args in (
        ("endpoints", "describe", "views"),
        ("invocation-jobs", "get", job.id),
        ("models", "describe", MODEL),
    ):
        shown = sb(*args)
        assert not any(r in shown for r in REPRS), (args, shown)
    got = describe_lines(sb("invocation-jobs", "get", job.id))
    assert got["endTime"] == "-" and ISO.match(got["submitTime"]) and got["message"] == "-"
    model = describe_lines(sb("models", "describe", MODEL))
    assert model["id"] == MODEL and model["max_length"] == "64"  # inference defaults, nested


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_show_step_iso_time_and_rounded_values():
    job = record_job("training", counts={"step": 20, "total_steps": 20})
    paths.record_metric(job.id, "train_loss", 2.3456789, step=10)
    paths.record_metric(job.id, "model_load_seconds", 0.5)  # a point without a step
    rows = tsv(sb("jobs", "metrics", job.id))
    assert rows[0] == ["step", "time", "metric", "value"]
    assert rows[1][0] == "10" and ISO.match(rows[1][1]) and rows[1][2:] == ["train_loss", "2.3457"]
    assert rows[2][0] == "" and rows[2][2:] == ["model_load_seconds", "0.5"]
    points = list(csv.DictReader(io.StringIO(sb("jobs", "metrics", job.id, "--csv"))))
    assert list(points[0]) == ["step", "time", "timestamp", "metric_name", "value"]
    assert points[0]["step"] == "10" and float(points[0]["value"]) == 2.3456789
    assert points[1]["step"] == "" and float(points[1]["timestamp"]) > 0
    first, second = json.loads(sb("jobs", "metrics", job.id, "--json"))
    assert first["step"] == 10 and ISO.match(first["time"]) and first["value"] == 2.3456789
    assert second["step"] is None and isinstance(second["timestamp"], float)


# -- the real CLI: a terminal of 80 columns, and the exit code ----------------------------------


def in_terminal(home: Path, *args: str, columns: int = 80) -> list[str]:
    """The CLI's output in a pseudo-terminal `columns` wide, styles stripped."""
    import pty

    primary, secondary = pty.openpty()
    env = {**cli_env(home), "COLUMNS": str(columns), "TERM": "xterm"}
    env.pop("FORCE_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    process = subprocess.Popen(
        [str(VENV_BIN / "springboard"), *args],
        stdin=secondary,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
    text = ANSI.sub("", b"".join(chunks).decode())
    return [line.rstrip() for line in text.replace("\r\n", "\n").splitlines()]


@pytest.mark.integration
def test_an_80_column_terminal_keeps_ids_and_names_whole(isolated_env):
    trained = record_job(
        "training",
        name="qg-lora-with-a-long-descriptive-name",
        counts={"step": 30, "total_steps": 30},
    )
    batch = record_job(status="PartiallyCompleted", counts={"total": 9, "processed": 9})
    lines = in_terminal(isolated_env, "jobs", "list")
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].split()[:2] == ["id", "name"]  # kind, created, model left out first
    row = next(line for line in lines if line.startswith(trained.id))
    assert row.split()[:2] == [trained.id, trained.name] and row.endswith("30/30")
    assert any(line.startswith(batch.id) for line in lines)
    assert "not shown at 80 columns: kind, created" in lines[-1]

    lines = in_terminal(isolated_env, "hyperparameters", MODEL)
    assert any(line.startswith("gradient_accumulation_steps ") for line in lines)
    assert all(len(line) <= 80 for line in lines), lines


def terminal_table(width: int, columns: list[Any], rows: list[tuple[str, ...]]) -> list[str]:
    from rich.console import Console

    from springboard.cli.output import print_table

    screen = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    print_table(columns, rows, target=screen)
    return [line.rstrip() for line in screen.file.getvalue().splitlines()]  # type: ignore[attr-defined]


def test_a_terminal_table_hides_droppable_columns_first_and_never_cuts_a_key():
    from springboard.cli.jobs import JOB_COLUMNS

    headers = ["id", "kind", "name", "status", "model", "progress", "created"]
    row = (
        "tr-0123456789ab",
        "transform",
        "nightly",
        "Completed",
        MODEL,
        "5/5",
        "2026-12-02T15:33:38Z",
    )
    assert terminal_table(160, JOB_COLUMNS, [row])[0].split() == headers  # room for all
    narrow = terminal_table(30, JOB_COLUMNS, [row])  # not even the keys fit: drawn wider
    line = next(line for line in narrow if line.startswith("tr-"))
    assert line.split()[:2] == ["tr-0123456789ab", "nightly"] and len(line) > 30
    assert "kind, created, model" in narrow[-1]


@pytest.mark.integration
def test_an_ambiguous_prefix_exits_2_naming_the_candidates(isolated_env):
    one, two = record_job(job_id="ft-eeee11112222"), record_job(job_id="ft-eeee33334444")
    done = subprocess.run(
        [str(VENV_BIN / "springboard"), "jobs", "describe", "ft-eeee"],
        env=cli_env(isolated_env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert one.id in done.stderr and two.id in done.stderr and "Traceback" not in done.stderr
