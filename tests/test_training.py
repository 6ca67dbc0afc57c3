"""Fine-tuning jobs for real: a worker process trains the bundled model, streams metrics,
saves safetensors and registers a model that predicts like any catalog model."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from springboard.catalog import Catalog
from springboard.errors import ValidationError
from springboard.jobs import paths, service
from springboard.training import jobs as training_jobs

pytestmark = pytest.mark.integration


ROOT = Path(__file__).resolve().parents[1]
QG = ROOT / "examples" / "question-generation"
HARBOUR = ROOT / "examples" / "domain-adaptation"


@pytest.fixture
def qg_data():
    return QG / "train"


def qg_rouge_l(model: Any) -> float:
    """Mean ROUGE-L F1 of a model's questions (a catalog id, or a loaded Generator) on the
    held-out contexts."""
    from springboard.evaluation import mean_scores, rouge_scores
    from springboard.inference import Generator

    generator = Generator.from_catalog(model) if isinstance(model, str) else model
    records = [json.loads(line) for line in (QG / "test.jsonl").read_text().splitlines()]
    texts = [
        generator.predict(
            {"text_inputs": f"Ask a question about: {r['context']}", "max_length": 24}
        )["generated_texts"][0]
        for r in records
    ]
    return mean_scores(
        rouge_scores(zip(texts, [r["question"] for r in records], strict=True))
    ).rougeL.fmeasure


def held_out_loss(model: Any, path: Path) -> float:
    """Mean next-token loss of a causal model (a catalog id, or a loaded Generator) on
    held-out text."""
    import torch

    from springboard.inference import Generator

    generator = Generator.from_catalog(model) if isinstance(model, str) else model
    ids = generator.tokenizer(path.read_text(), return_tensors="pt")["input_ids"][:, :512]
    with torch.no_grad():
        return float(generator.model(input_ids=ids, labels=ids).loss)


@pytest.fixture(scope="module")
def base_qg_rouge(t5_generator) -> float:
    """The bundled model's score: it never changes, so the tests that beat it share it."""
    return qg_rouge_l(t5_generator)


def val_losses(job_id: str) -> list[float]:
    return [p["value"] for p in paths.read_metrics(job_id) if p["metric_name"] == "val_loss"]


@pytest.mark.slow
def test_full_fine_tune_learns_a_task_the_base_model_cannot_do(
    qg_fine_tuned, base_qg_rouge, monkeypatch
):
    """The session's fine-tuned model (tests/conftest.py trains it once per run)."""
    qg_fine_tuned.use(monkeypatch)
    job = qg_fine_tuned.job
    val = val_losses(job.id)
    assert len(val) == 3 and val[-1] < val[0]
    assert job.counts["validation_examples"] == 40  # the validation file used train's template
    assert job.counts["tokens_per_second"] > 0 and job.counts["step"] == job.counts["total_steps"]
    assert job.counts["val_rougeL"] > 0.3  # the job's own task metric on the validation file
    spec = Catalog.load().get(qg_fine_tuned.model_id)
    assert spec.lineage["base_model"] == "springboard-tiny-t5" and spec.lineage["job_id"] == job.id
    tuned = qg_rouge_l(qg_fine_tuned.model_id)
    assert tuned > base_qg_rouge + 0.3, (base_qg_rouge, tuned)


@pytest.mark.slow
def test_lora_fine_tune_from_the_cli(isolated_env, base_qg_rouge):
    """The acceptance journey: train with LoRA, read the metrics, find and use the model."""
    from tests.conftest import VENV_BIN, cli_env

    def cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(VENV_BIN / "springboard"), *args],
            env=cli_env(isolated_env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert (done.returncode == 0) == ok, done.stderr
        return done

    base = base_qg_rouge
    job = json.loads(
        cli(
            "train",
            "springboard-tiny-t5",
            "--train",
            str(QG / "train"),
            "--hyperparameter",
            "epochs=2",
            "--hyperparameter",
            "peft_type=lora",
            "--name",
            "qg",
            "--wait",
            "--json",
        ).stdout
    )
    assert job["status"] == "Completed" and job["counts"]["model_id"] == "springboard-tiny-t5-ft-qg"
    points = json.loads(cli("jobs", "metrics", job["id"], "--json").stdout)
    assert {"train_loss", "val_loss", "epoch", "learning_rate", "tokens_per_second"} <= {
        p["metric_name"] for p in points
    }
    val = [p["value"] for p in points if p["metric_name"] == "val_loss"]
    assert len(val) == 2 and val[-1] < val[0]
    models = json.loads(cli("models", "list", "--json").stdout)
    assert "springboard-tiny-t5-ft-qg" in {m["id"] for m in models}
    spec = Catalog.load().get("springboard-tiny-t5-ft-qg")
    assert spec.lineage["base_model"] == "springboard-tiny-t5"
    assert spec.lineage["hyperparameters"]["peft_type"] == "lora"
    assert (Path(spec.lineage["adapter"]) / "adapter_config.json").is_file()
    saved = [
        Path(spec.source.path),
        *Path(spec.source.path).rglob("*"),
        *(isolated_env / "jobs" / job["id"]).rglob("*"),
    ]  # weights, checkpoints: private
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in saved if p.is_dir()} == {"0o700"}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in saved if p.is_file()} == {"0o600"}
    answer = json.loads(
        cli(
            "predict",
            "springboard-tiny-t5-ft-qg",
            "--input",
            json.dumps({"text_inputs": "Ask a question about: Ada painted the gate blue."}),
            "--json",
        ).stdout
    )
    assert answer["generated_texts"][0]
    assert qg_rouge_l("springboard-tiny-t5-ft-qg") > base + 0.05
    again = cli(
        "train", "springboard-tiny-t5", "--train", str(QG / "train"), "--name", "qg", ok=False
    )
    assert "exists already" in again.stderr
    wrong = cli(
        "train",
        "springboard-tiny-t5",
        "--train",
        str(QG / "train"),
        "--hyperparameter",
        "epochz=3",
        ok=False,
    )
    assert "epochz" in wrong.stderr and "epochs" in wrong.stderr and "Traceback" not in wrong.stderr


def test_bad_hyperparameters_and_data_are_refused_before_the_job(qg_data, tmp_path):
    with pytest.raises(ValidationError) as err:
        training_jobs.submit(
            "springboard-tiny-t5",
            train=str(qg_data),
            hyperparameters={"epochz": "3", "learning_rate": "fast"},
        )
    assert {i.field for i in err.value.issues} == {"epochz", "learning_rate"}
    assert "epochs" in str(err.value)
    with pytest.raises(ValidationError, match="GPU"):
        training_jobs.submit(
            "springboard-tiny-t5", train=str(qg_data), hyperparameters={"int8_quantization": "true"}
        )
    two = tmp_path / "two"
    two.mkdir()
    (two / "a.txt").write_text("a")
    (two / "b.txt").write_text("b")
    with pytest.raises(ValidationError, match="exactly one file"):
        training_jobs.submit("springboard-tiny-llama", train=str(two))
    assert service.list_jobs(kind="training") == []


@pytest.mark.slow
def test_domain_adaptation_of_the_causal_model(llama_generator):
    heldout = HARBOUR / "heldout.txt"
    base = held_out_loss(llama_generator, heldout)
    job = training_jobs.submit(
        "springboard-tiny-llama",
        train=str(HARBOUR / "train"),
        name="harbour",
        hyperparameters={"epoch": "2", "max_input_length": "64", "learning_rate": "0.003"},
    )
    job = service.wait(job.id, timeout=300)
    assert job.status == "Completed", job.status_message
    val = val_losses(job.id)
    assert len(val) == 2 and val[-1] < val[0]
    tuned = held_out_loss("springboard-tiny-llama-ft-harbour", heldout)
    assert tuned < base - 1.0, (base, tuned)  # nats per token on text it never saw


@pytest.mark.slow
def test_stop_keeps_a_checkpoint_and_resume_continues_from_it(qg_data):
    # The stop lands near step 20 (progress reaches the database about once a second, at
    # ~15 steps a second here); 100 steps leave room for a machine several times faster.
    steps_in_all = 100
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=str(qg_data),
        name="long",
        hyperparameters={
            "max_steps": str(steps_in_all),
            "save_steps": "5",
            "validation_split_ratio": "0",
        },
    )
    deadline = time.monotonic() + 120
    while (service.get(job.id).counts or {}).get("step", 0) < 6:
        assert time.monotonic() < deadline and not service.get(job.id).done
        time.sleep(0.1)
    service.stop(job.id)
    stopped = service.wait(job.id, timeout=120)
    assert stopped.status == "Stopped", stopped.status_message
    at = stopped.counts["step"]
    assert 6 <= at < steps_in_all
    checkpoints = {p.name for p in (paths.job_dir(job.id) / "checkpoints").glob("checkpoint-*")}
    assert f"checkpoint-{at}" in checkpoints  # saved at the step it stopped on
    service.resume(job.id)
    done = service.wait(job.id, timeout=300)
    assert done.status == "Completed", done.status_message
    steps = [p["step"] for p in paths.read_metrics(job.id) if p["metric_name"] == "train_loss"]
    assert steps == list(
        range(1, steps_in_all + 1)
    )  # every step once: nothing repeated, nothing lost
    assert "resuming from checkpoint-" in Path(done.log_path).read_text()


@pytest.mark.slow
def test_estimator_fit_analytics_plot_and_deploy(qg_data, tmp_path, isolated_env):
    import shutil
    import subprocess

    from springboard import JumpStartEstimator, hyperparameters
    from tests.conftest import VENV_BIN, cli_env

    small = tmp_path / "train"  # the SDK's journey, not learning: 40 records are enough
    small.mkdir()
    shutil.copy(qg_data / "template.json", small)
    (small / "train.jsonl").write_text(
        "".join((qg_data / "train.jsonl").read_text().splitlines(True)[:40])
    )
    assert hyperparameters.retrieve_default("springboard-tiny-t5")["epochs"] == 1
    estimator = JumpStartEstimator(
        "springboard-tiny-t5",
        hyperparameters={"epochs": 1, "validation_split_ratio": 0.2},
        instance_type="ml.g5.2xlarge",
    )
    job = estimator.fit({"train": str(small)}, job_name="est")
    assert job.status == "Completed"
    frame = estimator.training_job_analytics.dataframe()
    assert {"timestamp", "metric_name", "value"} <= set(frame.columns)
    assert "train_loss" in set(frame["metric_name"])
    png = tmp_path / "loss.png"
    drawn = subprocess.run(
        [str(VENV_BIN / "springboard"), "jobs", "metrics", job.id, "--plot", str(png), "--json"],
        env=cli_env(isolated_env),
        capture_output=True,
        text=True,
    )
    assert drawn.returncode == 0, drawn.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    predictor = estimator.deploy(endpoint_name="est-ft")
    try:
        assert "generated_texts" in predictor.predict({"text_inputs": "x", "max_length": 4})
    finally:
        predictor.delete_endpoint()


def test_compare_two_models_side_by_side(tmp_path, isolated_env):
    import subprocess

    from tests.conftest import VENV_BIN, cli_env

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "a", "text_inputs": "hello"}) + "\nplain line\n")
    result = subprocess.run(
        [
            str(VENV_BIN / "springboard"),
            "compare",
            "springboard-tiny-t5",
            "springboard-tiny-llama",
            "--input",
            str(prompts),
            "--parameters",
            '{"max_new_tokens": 4}',
            "--json",
        ],
        env=cli_env(isolated_env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ["a", 2]
    assert all(
        isinstance(r["springboard-tiny-t5"], str) and isinstance(r["springboard-tiny-llama"], str)
        for r in rows
    )
