"""Fine-tuning jobs for real: a worker process trains the bundled model, streams metrics,
saves safetensors and registers a model that predicts like any catalog model."""

from __future__ import annotations

import json

import pytest

from springboard.catalog import Catalog
from springboard.errors import ValidationError
from springboard.jobs import paths, service
from springboard.training import jobs as training_jobs

pytestmark = pytest.mark.integration


@pytest.fixture
def qg_data(tmp_path):
    data = tmp_path / "qg"
    data.mkdir()
    with open(data / "train.jsonl", "w") as handle:
        for i in range(40):
            handle.write(json.dumps({"context": f"The market on street {i} opens at {i % 12 + 1}.",
                                     "question": f"When does the market on street {i} open?"}) + "\n")
    (data / "template.json").write_text(json.dumps(
        {"prompt": "Ask a question about: {context}", "completion": "{question}"}))
    return data


def test_lora_fine_tune_registers_a_deployable_model(qg_data):
    job = training_jobs.submit("springboard-tiny-t5", train=str(qg_data), name="qg",
                               hyperparameters={"epochs": "2", "peft_type": "lora",
                                                "validation_split_ratio": "0.2"})
    job = service.wait(job.id, timeout=300)
    assert job.status == "Completed", job.status_message
    points = paths.read_metrics(job.id)
    assert {"train_loss", "val_loss", "epoch", "learning_rate"} <= {p["metric_name"] for p in points}
    val = [p["value"] for p in points if p["metric_name"] == "val_loss"]
    assert len(val) >= 2 and val[-1] < val[0]
    spec = Catalog.load().get("springboard-tiny-t5-ft-qg")
    assert spec.lineage["base_model"] == "springboard-tiny-t5"
    assert spec.lineage["hyperparameters"]["peft_type"] == "lora"
    from springboard.inference import Generator

    answer = Generator.from_catalog(spec.id).predict({"text_inputs": "Ask a question about: x",
                                                      "max_length": 6})
    assert len(answer["generated_texts"]) == 1
    with pytest.raises(ValidationError, match="exists already"):
        training_jobs.submit("springboard-tiny-t5", train=str(qg_data), name="qg")


def test_bad_hyperparameters_and_data_are_refused_before_the_job(qg_data, tmp_path):
    with pytest.raises(ValidationError) as err:
        training_jobs.submit("springboard-tiny-t5", train=str(qg_data),
                             hyperparameters={"epochz": "3", "learning_rate": "fast"})
    assert {i.field for i in err.value.issues} == {"epochz", "learning_rate"}
    assert "epochs" in str(err.value)
    with pytest.raises(ValidationError, match="GPU"):
        training_jobs.submit("springboard-tiny-t5", train=str(qg_data),
                             hyperparameters={"int8_quantization": "true"})
    two = tmp_path / "two"
    two.mkdir()
    (two / "a.txt").write_text("a")
    (two / "b.txt").write_text("b")
    with pytest.raises(ValidationError, match="exactly one file"):
        training_jobs.submit("springboard-tiny-llama", train=str(two))
    assert service.list_jobs(kind="training") == []


def test_domain_adaptation_of_the_causal_model(tmp_path):
    (tmp_path / "corpus.txt").write_text("The harbour opens at dawn. Boats leave at noon. " * 60)
    job = training_jobs.submit("springboard-tiny-llama", train=str(tmp_path / "corpus.txt"),
                               name="harbour", hyperparameters={"epoch": "2", "max_input_length": "64",
                                                                "validation_split_ratio": "0.2"})
    job = service.wait(job.id, timeout=300)
    assert job.status == "Completed", job.status_message
    val = [p["value"] for p in paths.read_metrics(job.id) if p["metric_name"] == "val_loss"]
    assert val and val[-1] < val[0]
    assert "springboard-tiny-llama-ft-harbour" in Catalog.load().ids()


def test_estimator_fit_analytics_plot_and_deploy(qg_data, tmp_path, isolated_env):
    import subprocess

    from springboard import JumpStartEstimator, hyperparameters
    from tests.conftest import VENV_BIN, cli_env

    assert hyperparameters.retrieve_default("springboard-tiny-t5")["epochs"] == 1
    estimator = JumpStartEstimator("springboard-tiny-t5",
                                   hyperparameters={"epochs": 1, "validation_split_ratio": 0.2},
                                   instance_type="ml.g5.2xlarge")
    job = estimator.fit({"train": str(qg_data)}, job_name="est")
    assert job.status == "Completed"
    frame = estimator.training_job_analytics.dataframe()
    assert {"timestamp", "metric_name", "value"} <= set(frame.columns)
    assert "train_loss" in set(frame["metric_name"])
    png = tmp_path / "loss.png"
    drawn = subprocess.run([str(VENV_BIN / "springboard"), "jobs", "metrics", job.id, "--plot",
                            str(png), "--json"], env=cli_env(isolated_env), capture_output=True,
                           text=True)
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
    result = subprocess.run([str(VENV_BIN / "springboard"), "compare", "springboard-tiny-t5",
                             "springboard-tiny-llama", "--input", str(prompts), "--parameters",
                             '{"max_new_tokens": 4}', "--json"], env=cli_env(isolated_env),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ["a", 2]
    assert all(isinstance(r["springboard-tiny-t5"], str) and
               isinstance(r["springboard-tiny-llama"], str) for r in rows)
