"""Storage locations for real: local paths, `file://` and `s3://` on moto's S3 server in
its own process (`tests.s3server`) — listing, streaming with bounded lines, entering a
file at a byte offset, whole-file uploads, clear errors naming the parameter — and
training data read from `s3://`, with the fine-tuned model copied back to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.artifacts import storage
from springboard.errors import ValidationError
from springboard.jobs.lines import Oversized, count_records, read_from
from tests.s3server import bucket, get, keys, put, s3, s3_env  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
QG = ROOT / "examples" / "question-generation"


def test_local_paths_and_file_uris_are_the_same_location(tmp_path):
    (tmp_path / "b.jsonl").write_text("{}\n")
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "sub").mkdir()
    expected = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
    assert storage.list_files(str(tmp_path), "input") == expected
    assert storage.list_files(f"file://{tmp_path}/", "input") == expected
    assert storage.list_files(f"file://{tmp_path}/a.jsonl", "input") == expected[:1]
    with pytest.raises(ValidationError) as err:
        storage.list_files(str(tmp_path / "nope"), "train")
    assert err.value.issues[0].field == "train" and "does not exist" in str(err.value)
    with pytest.raises(ValidationError, match="cannot open nosuch:// locations"):
        storage.list_files("nosuch://x/y", "output")


@pytest.mark.integration
def test_s3_folders_list_stream_and_upload(s3_env, bucket, tmp_path):
    put(s3_env, bucket, "in/b.jsonl", '{"n": 2}\n')
    put(s3_env, bucket, "in/a.jsonl", '{"n": 1}\n\n' + '{"big": "' + "x" * 5000 + '"}\n{"n": 3}\n')
    put(s3_env, bucket, "in/.keep", "")
    put(s3_env, bucket, "in/deeper/c.jsonl", '{"n": 4}\n')
    assert storage.list_files(f"s3://{bucket}/in/", "input") == [
        f"s3://{bucket}/in/a.jsonl",
        f"s3://{bucket}/in/b.jsonl",
    ]
    uri = f"s3://{bucket}/in/a.jsonl"
    lines = list(read_from(uri, max_bytes=1000))
    assert [(line.index, line.data) for line in lines] == [
        (0, b'{"n": 1}'),
        (1, Oversized(5011)),
        (2, b'{"n": 3}'),
    ]
    # entering at the offset where record 2 starts reads on from there (no re-download)
    assert [
        (line.index, line.data)
        for line in read_from(uri, records=2, offset=lines[1].end, max_bytes=1000)
    ] == [(2, b'{"n": 3}')]
    assert [line.index for line in read_from(uri, records=2)] == [2]
    assert count_records(storage.list_files(f"s3://{bucket}/in/", "input")) == 4

    local = tmp_path / "x.out"
    local.write_text("one\n")
    storage.upload(local, f"s3://{bucket}/out/x.out", "output")
    local.write_text("one\ntwo\n")
    storage.upload(local, f"s3://{bucket}/out/x.out", "output")  # again: replaced, not appended
    assert get(s3_env, bucket, "out/x.out") == b"one\ntwo\n"
    tree = tmp_path / "tree"
    (tree / "adapter").mkdir(parents=True)
    (tree / "config.json").write_text("{}")
    (tree / "adapter" / "w.safetensors").write_bytes(b"\0" * 10)
    storage.upload_tree(tree, f"s3://{bucket}/models/m1", "output")
    assert keys(s3_env, bucket, "models/") == [
        "models/m1/adapter/w.safetensors",
        "models/m1/config.json",
    ]


@pytest.mark.integration
def test_s3_errors_name_the_parameter_and_the_fix(s3_env, bucket):
    with pytest.raises(ValidationError) as err:
        storage.list_files("s3://no-such-bucket/in/", "input")
    assert err.value.issues[0].field == "input"
    assert "no bucket 'no-such-bucket'" in str(err.value) and "AWS_ENDPOINT_URL" in str(err.value)
    with pytest.raises(ValidationError) as err:
        storage.list_files(f"s3://{bucket}/missing/", "train")
    assert err.value.issues[0].field == "train" and "does not exist" in str(err.value)
    put(s3_env, bucket, "only/.hidden", "x")
    with pytest.raises(ValidationError, match="holds no data files"):
        storage.list_files(f"s3://{bucket}/only/", "input")
    with pytest.raises(ValidationError) as err:
        storage.require_writable("s3://no-such-bucket/out/", "output")
    assert err.value.issues[0].field == "output" and "no bucket" in str(err.value)
    put(s3_env, bucket, "a-file", "x")
    with pytest.raises(ValidationError, match="is a file"):
        storage.require_writable(f"s3://{bucket}/a-file", "output")


@pytest.mark.integration
def test_training_data_from_s3_with_its_template(s3_env, bucket):
    from springboard.training import data

    put(s3_env, bucket, "qg/train/train.jsonl", (QG / "train" / "train.jsonl").read_bytes())
    put(s3_env, bucket, "qg/train/template.json", (QG / "train" / "template.json").read_bytes())
    put(s3_env, bucket, "qg/validation.jsonl", (QG / "validation.jsonl").read_bytes())
    local = data.load_instruction(QG / "train")
    assert data.load_instruction(f"s3://{bucket}/qg/train/") == local
    # a validation file without a template uses the (remote) training channel's
    remote_val = data.load_instruction(
        f"s3://{bucket}/qg/validation.jsonl",
        template_from=f"s3://{bucket}/qg/train/",
        field="validation",
    )
    assert remote_val == data.load_instruction(QG / "validation.jsonl", template_from=QG / "train")
    with pytest.raises(ValidationError) as err:
        data.load_instruction(f"s3://{bucket}/qg/nothing/", field="validation")
    assert err.value.issues[0].field == "validation"


@pytest.mark.integration
@pytest.mark.slow
def test_a_training_job_reads_s3_and_copies_the_model_to_s3(s3_env, bucket):
    from springboard.jobs import service
    from springboard.training import jobs as training_jobs

    records = (QG / "train" / "train.jsonl").read_text().splitlines()[:24]
    put(s3_env, bucket, "train/train.jsonl", "\n".join(records) + "\n")
    put(s3_env, bucket, "train/template.json", (QG / "train" / "template.json").read_bytes())
    job = training_jobs.submit(
        "springboard-tiny-t5",
        train=f"s3://{bucket}/train/",
        name="from-s3",
        output=f"s3://{bucket}/models/",
        hyperparameters={"max_steps": "2", "validation_split_ratio": "0"},
    )
    model_id = "springboard-tiny-t5-ft-from-s3"
    assert job.outputs["uri"] == f"s3://{bucket}/models/{model_id}"
    done = service.wait(job.id, timeout=600)
    assert done.status == "Completed", done.status_message
    assert done.counts["train_examples"] == 24
    copied = keys(s3_env, bucket, f"models/{model_id}/")
    assert f"models/{model_id}/config.json" in copied
    assert f"models/{model_id}/model.safetensors" in copied
    assert json.loads(get(s3_env, bucket, f"models/{model_id}/config.json"))["model_type"] == "t5"
