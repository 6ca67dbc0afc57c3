"""`springboard.sagemaker`: code written for the managed SDK, with only its imports changed,
runs here — the issue's acceptance flow on the bundled text2text model (one short training
shared by the file, started with wait=False and followed with logs()), the model archive
it writes (local and s3://), deploys from it, deletes in either order, custom attributes,
the boto3 runtime client configured only by AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, and the
argument rules (ignored ones logged once, unknown ones a TypeError with a suggestion)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tarfile
from pathlib import Path

import pytest

from springboard.config import reset_settings
from tests.conftest import QG
from tests.s3server import bucket, s3, s3_env  # noqa: F401 (fixtures)

T5 = "springboard-tiny-t5"
PROMPT = {"text_inputs": "Ask a question about: Ada painted the gate blue.", "max_length": 24}


@contextlib.contextmanager
def home_of(home: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPRINGBOARD_HOME", str(home))
        patch.setenv("SPRINGBOARD_INSTANCE_TYPES", "ignore")
        reset_settings()
        yield patch
    reset_settings()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The issue's flow, trained as little as still works: 24 records, 2 steps, started
    with wait=False and then followed by `logs()` (the printed lines kept)."""
    from springboard.sagemaker import hyperparameters, image_uris, model_uris, script_uris
    from springboard.sagemaker.estimator import Estimator
    from springboard.sagemaker.utils import name_from_base

    home, work = tmp_path_factory.mktemp("sm-home"), tmp_path_factory.mktemp("sm-work")
    data = work / "train"
    data.mkdir()
    shutil.copy(QG / "train" / "template.json", data)
    lines = (QG / "train" / "train.jsonl").read_text().splitlines(True)
    (data / "train.jsonl").write_text("".join(lines[:24]))
    (work / "validation.jsonl").write_text(
        "".join((QG / "validation.jsonl").read_text().splitlines(True)[:4])
    )
    with home_of(home):
        hp = hyperparameters.retrieve_default(model_id=T5, model_version="*")
        hp.update(epochs="1", max_steps="2", batch_size="12")
        est = Estimator(
            role="r",
            image_uri=image_uris.retrieve(
                region=None,
                framework=None,
                model_id=T5,
                model_version="*",
                image_scope="training",
                instance_type="ml.p3.2xlarge",
            ),
            model_uri=model_uris.retrieve(model_id=T5, model_version="*", model_scope="training"),
            source_dir=script_uris.retrieve(
                model_id=T5, model_version="*", script_scope="training"
            ),
            entry_point="transfer_learning.py",
            instance_count=1,
            instance_type="ml.p3.2xlarge",
            hyperparameters=hp,
            output_path=f"{work}/out/",
        )
        job = name_from_base("demo")
        est.fit(
            {"training": str(data), "validation": str(work / "validation.jsonl")},
            job_name=job,
            wait=False,
        )
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            est.logs()
    return {"home": home, "work": work, "estimator": est, "job": job, "log": printed.getvalue()}


@pytest.fixture
def in_home(trained):
    with home_of(trained["home"]) as patch:
        yield patch


@pytest.mark.integration
@pytest.mark.slow
def test_wait_false_then_logs_analytics_and_the_archive(trained, in_home):
    from springboard.sagemaker import TrainingJobAnalytics

    est, job = trained["estimator"], trained["job"]
    assert "train_loss=" in trained["log"] and "ended Completed" in trained["log"]
    assert est.latest_training_job.describe()["TrainingJobStatus"] == "Completed"
    frame = TrainingJobAnalytics(training_job_name=job).dataframe()
    assert list(frame.columns) == ["timestamp", "metric_name", "value"]
    assert {"train_loss", "val_loss"} <= set(frame["metric_name"])
    assert (frame["timestamp"] >= 0).all()
    archive = trained["work"] / "out" / job / "output" / "model.tar.gz"
    assert est.model_data == str(archive)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"config.json", "model.safetensors", "springboard-model.json"} <= names


@pytest.mark.integration
@pytest.mark.slow
def test_acceptance_deploy_the_archive_predict_and_delete(trained, in_home, caplog):
    from springboard.sagemaker.deserializers import JSONDeserializer
    from springboard.sagemaker.model import Model
    from springboard.sagemaker.predictor import Predictor
    from springboard.sagemaker.serializers import JSONSerializer
    from springboard.serving import endpoints
    from springboard.store import registered_models

    job = trained["job"]
    m = Model(
        image_uri="x",
        model_data=f"{trained['work']}/out/{job}/output/model.tar.gz",
        role="r",
        predictor_cls=Predictor,
        name="ft",
    )
    p = m.deploy(
        initial_instance_count=1,
        instance_type="ml.g5.2xlarge",
        predictor_cls=Predictor,
        endpoint_name="ft",
    )
    try:
        answer = p.predict(PROMPT)
        assert isinstance(answer["generated_texts"][0], str)
        assert p.predict(PROMPT, custom_attributes="accept_eula=true") == answer  # greedy
        p.serializer, p.deserializer = JSONSerializer(), JSONDeserializer()
        assert p.predict(PROMPT) == answer
        spec = registered_models.versions_of("ft")[0]
        assert spec["lineage"]["base_model"] == T5 and spec["task"] == "text2text"
        _runtime_client_reaches_the_endpoint_through_serve(trained["home"], answer)
    finally:
        with caplog.at_level(logging.INFO, logger="springboard.sdk"):
            p.delete_model()
            p.delete_endpoint()
    assert endpoints.list_endpoints() == []
    assert registered_models.versions_of("ft") == []  # the archive's model went with it
    assert "endpoint ft was already deleted; nothing to do" in caplog.text


def _runtime_client_reaches_the_endpoint_through_serve(home: Path, answer: dict) -> None:
    """An unmodified boto3 sagemaker-runtime client, configured by the environment only,
    reaches the endpoint by name through `springboard serve`."""
    import os

    import boto3

    from tests import servers

    with (
        servers.control_plane(home, home / "serve.log") as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(key, raising=False)
        patch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_ACCESS_KEY_ID", "local")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "local")
        assert "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME" in os.environ
        runtime = boto3.client("runtime.sagemaker")
        response = runtime.invoke_endpoint(
            EndpointName="ft",
            ContentType="application/json",
            Body=json.dumps(PROMPT),
            CustomAttributes="accept_eula=true",
        )
        assert json.loads(response["Body"].read()) == answer
        with pytest.raises(runtime.exceptions.ValidationError):
            runtime.invoke_endpoint(EndpointName="nope", Body=b"{}")


@pytest.mark.integration
@pytest.mark.parametrize("first", ["delete_model", "delete_endpoint"])
def test_delete_model_and_endpoint_in_either_order(trained, in_home, caplog, first):
    from springboard.sagemaker.model import Model
    from springboard.serving import endpoints
    from springboard.store import registered_models

    archive = f"{trained['work']}/out/{trained['job']}/output/model.tar.gz"
    name = f"order-{first.replace('_', '-')}"
    p = Model(model_data=archive, name=name).deploy(endpoint_name=name, wait=False)
    second = "delete_endpoint" if first == "delete_model" else "delete_model"
    with caplog.at_level(logging.INFO, logger="springboard.sdk"):
        getattr(p, first)()
        assert name not in [e.name for e in endpoints.list_endpoints()]
        getattr(p, second)()
    assert f"endpoint {name} was already deleted; nothing to do" in caplog.text
    assert registered_models.versions_of(name) == []


@pytest.mark.integration
def test_the_archive_on_s3_uploaded_listed_and_registered(trained, in_home, s3_env, bucket):
    from springboard.artifacts import model_archive
    from springboard.inference import Generator
    from springboard.sagemaker.s3 import S3Downloader, S3Uploader

    model_id = trained["estimator"].latest_training_job.job.outputs["model_id"]
    uri = f"s3://{bucket}/out/{trained['job']}/output/model.tar.gz"
    model_archive.write(model_id, uri)  # what the job does with an s3:// output_path
    assert S3Downloader.list(f"s3://{bucket}/out/") == [uri]
    spec = model_archive.register(uri, "from-s3")
    assert spec.lineage["model_data"] == uri
    answer = Generator.from_catalog("from-s3").predict(PROMPT)
    assert answer["generated_texts"]
    assert model_archive.register(uri, "from-s3").id == "from-s3"  # the same archive again
    unpacked = f"s3://{bucket}/unpacked/{trained['job']}/output/model/"  # no compression
    model_archive.write(model_id, unpacked)
    folder = Path(model_archive.register(unpacked, "from-s3-folder").source.path)
    weights = Path(spec.source.path) / "model.safetensors"
    assert (folder / "model.safetensors").read_bytes() == weights.read_bytes()
    local = Path(trained["work"]) / "download"
    (got,) = S3Downloader.download(uri, str(local))
    assert tarfile.is_tarfile(got)
    assert S3Uploader.upload(got, f"s3://{bucket}/copy") == f"s3://{bucket}/copy/model.tar.gz"


def test_model_data_in_the_managed_sdks_dict_form_is_its_location():
    from springboard.sagemaker.model import model_data_uri

    source = {"S3Uri": "s3://b/job/output/model", "S3DataType": "S3Prefix"}
    assert model_data_uri({"S3DataSource": {**source, "CompressionType": "None"}}) == (
        "s3://b/job/output/model/"
    )
    assert model_data_uri("s3://b/m.tar.gz") == "s3://b/m.tar.gz"


def test_pickle_archives_are_refused_unless_allowed(tmp_path, monkeypatch):
    from springboard.artifacts import model_archive
    from springboard.errors import UnsafeArtifactError

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": "t5", "is_encoder_decoder": True})
    )
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=".")
    with pytest.raises(UnsafeArtifactError, match="pickle"):
        model_archive.register(str(archive), "pickled")
    monkeypatch.setenv("SPRINGBOARD_ALLOW_PICKLE", "1")
    reset_settings()
    spec = model_archive.register(str(archive), "pickled")
    assert spec.task == "text2text" and spec.lineage["archive_sha256"]


def test_an_archive_escaping_its_folder_is_refused(tmp_path):
    from springboard.artifacts import model_archive
    from springboard.errors import ValidationError

    archive = tmp_path / "evil.tar.gz"
    (tmp_path / "x").write_text("x")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "x", arcname="../../escaped")
    with pytest.raises(ValidationError, match="model_data"):
        model_archive.register(str(archive))
    assert not (tmp_path.parent / "escaped").exists()


def test_ignored_arguments_are_logged_once_each(caplog, monkeypatch):
    from springboard.sagemaker import image_uris
    from springboard.sagemaker.estimator import Estimator
    from springboard.sdk import arguments

    monkeypatch.setattr(arguments, "_noted", set())
    image = image_uris.retrieve(model_id=T5, model_version="*", image_scope="training")
    with caplog.at_level(logging.INFO, logger="springboard.sdk"):
        for _ in range(2):
            Estimator(
                image_uri=image,
                role="arn:aws:iam::1:role/x",
                volume_size=30,
                max_run=3600,
                metric_definitions=[{"Name": "loss", "Regex": "loss=(.*)"}],
                instance_type="ml.m5.xlarge",
            )
    for name in ("role", "volume_size", "max_run", "metric_definitions"):
        notes = [r for r in caplog.records if f": {name} is a managed-hub argument" in r.message]
        assert len(notes) == 1, name
    assert not any("instance_type is a managed-hub" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    "call, typo, meant",
    [
        ("estimator", "hyperparameter", "hyperparameters"),
        ("model", "model_dta", "model_data"),
        ("jumpstart", "rol", "role"),
        ("predict", "custom_attribute", "custom_attributes"),
        ("retrieve", "model_scop", "model_scope"),
    ],
)
def test_unknown_arguments_are_a_type_error_with_a_suggestion(call, typo, meant):
    from springboard.sagemaker import model_uris
    from springboard.sagemaker.estimator import Estimator
    from springboard.sagemaker.jumpstart.model import JumpStartModel
    from springboard.sagemaker.model import Model
    from springboard.sagemaker.predictor import Predictor

    image = "springboard://images/springboard-tiny-t5/1.0.0/training"
    calls = {
        "estimator": lambda **kw: Estimator(image_uri=image, **kw),
        "model": lambda **kw: Model(image_uri=image, **kw),
        "jumpstart": lambda **kw: JumpStartModel(model_id=T5, **kw),
        "predict": lambda **kw: Predictor("nowhere").predict({}, **kw),
        "retrieve": lambda **kw: model_uris.retrieve(model_id=T5, **kw),
    }
    with pytest.raises(TypeError, match=f"{typo}.*did you mean '{meant}'"):
        calls[call](**{typo: "x"})


def test_instance_types_map_to_this_machine(monkeypatch):
    from springboard.errors import ValidationError
    from springboard.sagemaker import instance_types
    from springboard.sagemaker.jumpstart.model import JumpStartModel

    if instance_types.has_gpu():
        pytest.skip("this machine has a GPU: every instance type runs")
    monkeypatch.delenv("SPRINGBOARD_INSTANCE_TYPES", raising=False)
    with pytest.raises(ValidationError) as err:
        JumpStartModel(model_id=T5, instance_type="ml.g5.2xlarge")
    text = str(err.value)
    assert "SPRINGBOARD_INSTANCE_TYPES=ignore" in text and "ml.m5.xlarge" in text
    assert err.value.issues[0].field == "instance_type"
    JumpStartModel(model_id=T5, instance_type="ml.m5.xlarge")
    JumpStartModel(model_id=T5, instance_type="local")
    monkeypatch.setenv("SPRINGBOARD_INSTANCE_TYPES", "ignore")
    JumpStartModel(model_id=T5, instance_type="ml.p4d.24xlarge")
    with pytest.raises(ValidationError, match="not an instance type"):
        JumpStartModel(model_id=T5, instance_type="p3.2xlarge")
    assert instance_types.retrieve_default(model_id=T5, scope="training") == "ml.m5.xlarge"
    llama2 = "meta-textgeneration-llama-2-7b"
    assert instance_types.retrieve_default(model_id=llama2, scope="inference") == "ml.m5.xlarge"


def test_retrieve_functions_return_springboard_uris_the_estimator_reads():
    from springboard.sagemaker import hyperparameters, image_uris, model_uris, script_uris
    from springboard.sagemaker.estimator import Estimator

    hp = hyperparameters.retrieve_default(model_id=T5, model_version="*")
    assert hp["epochs"] == "1" and all(isinstance(v, str) for v in hp.values())
    hyperparameters.validate(model_id=T5, model_version="*", hyperparameters=hp)
    kwargs = {"model_id": T5, "model_version": "1.*"}
    assert image_uris.retrieve(region=None, framework=None, image_scope="inference", **kwargs) == (
        "springboard://images/springboard-tiny-t5/1.0.0/inference"
    )
    assert model_uris.retrieve(model_scope="training", **kwargs) == (
        "springboard://models/springboard-tiny-t5/1.0.0"
    )
    script = script_uris.retrieve(script_scope="training", **kwargs)
    est = Estimator(source_dir=script, hyperparameters=hp)
    est.set_hyperparameters(epochs="2")
    assert (est.model_id, est.hyperparameters()["epochs"]) == (T5, "2")


def test_list_jumpstart_models_reads_the_catalogs_filters():
    from springboard.sagemaker.jumpstart.filters import And
    from springboard.sagemaker.jumpstart.notebook_utils import list_jumpstart_models

    ids = list_jumpstart_models(filter=And("task == text2text", "training_supported == true"))
    assert T5 in ids and "springboard-tiny-llama" not in ids
    assert (T5, "1.0.0") in list_jumpstart_models(list_versions=True)


def test_fit_names_channels_and_refuses_unknown_ones():
    from springboard.errors import ValidationError
    from springboard.sagemaker.estimator import Estimator

    with pytest.raises(ValidationError) as err:
        Estimator._channels({"trainin": "data/"})
    fields = [issue.field for issue in err.value.issues]
    assert fields == ["inputs.trainin", "inputs"]
    assert Estimator._channels({"train": "a", "validation": "b", "test": "c"}) == ("a", "b")


def test_instance_count_asks_for_ray_train_workers_and_needs_a_cluster(monkeypatch):
    from springboard.errors import ValidationError
    from springboard.sagemaker.jumpstart.estimator import JumpStartEstimator

    monkeypatch.delenv("SPRINGBOARD_RAY_ADDRESS", raising=False)
    reset_settings()
    one = JumpStartEstimator(model_id="springboard-tiny-t5", instance_count=1)
    assert "instance_count" not in one.hyperparameters()
    two = JumpStartEstimator(model_id="springboard-tiny-t5", instance_count=2)
    assert two.hyperparameters()["instance_count"] == 2
    with pytest.raises(ValidationError) as err:  # refused before any job starts
        two.fit({"training": str(QG / "train")}, wait=False)
    assert err.value.issues[0].field == "instance_count"
    assert "SPRINGBOARD_RAY_ADDRESS" in str(err.value)


def test_a_failed_job_raises_naming_the_job_and_its_reason():
    from springboard.jobs import service
    from springboard.jobs.states import JobStatus, transition
    from springboard.sagemaker.estimator import Estimator
    from springboard.sagemaker.exceptions import UnexpectedStatusException

    job = service.create(
        kind="training",
        name="broken-run",
        model_id=T5,
        model_version="1.0.0",
        inputs={"train": "x"},
        outputs={"model_id": f"{T5}-ft-broken-run"},
        settings={},
        launch=False,
    )
    transition(job.id, JobStatus.IN_PROGRESS)
    transition(job.id, JobStatus.FAILED, message="ValueError: no examples in train.jsonl")
    est = Estimator.attach("broken-run")
    with pytest.raises(UnexpectedStatusException) as err:
        est.latest_training_job.wait(logs=False)
    assert "broken-run" in str(err.value) and "no examples in train.jsonl" in str(err.value)
    assert err.value.actual_status == "Failed" and isinstance(err.value, ValueError)


def test_default_bucket_is_a_local_folder_that_s3_f_strings_reach(isolated_env, tmp_path):
    from springboard.sagemaker import Session, get_execution_role
    from springboard.sagemaker.s3 import S3Downloader, S3Uploader
    from springboard.sagemaker.utils import name_from_base

    bucket = Session().default_bucket()
    assert Path(bucket) == isolated_env / "buckets" / "default"
    assert get_execution_role().startswith("arn:aws:iam::")
    (tmp_path / "train.jsonl").write_text('{"a": 1}\n')
    uri = S3Uploader.upload(str(tmp_path / "train.jsonl"), f"s3://{bucket}/data")
    assert uri == f"s3://{bucket}/data/train.jsonl"
    assert S3Downloader.read_file(uri) == '{"a": 1}\n'
    assert S3Downloader.list(f"s3://{bucket}/data") == [uri]
    name = name_from_base("jumpstart-example-" + "x" * 60)
    assert len(name) == 63 and name.count("-") >= 7


@pytest.mark.integration  # a subprocess CLI
def test_cli_deploy_model_data_names_the_option_in_its_errors(isolated_env, tmp_path):
    import subprocess

    from tests.conftest import VENV_BIN, cli_env

    def deploy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(VENV_BIN / "springboard"), "deploy", *args],
            capture_output=True,
            text=True,
            env=cli_env(isolated_env),
            cwd=tmp_path,
            timeout=120,
        )

    missing = deploy("--model-data", "nope.tar.gz")
    assert missing.returncode == 2 and "`--model-data`" in missing.stderr
    assert "nope.tar.gz is not a file" in missing.stderr
    bare = deploy()
    assert bare.returncode == 2 and "`MODEL_ID`" in bare.stderr and "--model-data" in bare.stderr
