"""Which files of an input folder a batch job reads (`.jsonl`/`.json`/`.txt`, any case; hidden
files left out; the rest recorded and logged as skipped), folders with nothing to read refused
before the job exists, and an output folder holding earlier results refused unless
`overwrite` — while a resumed job writes into its own output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.errors import ConflictError, ValidationError
from springboard.jobs import invocation, service, transform
from springboard.jobs.paths import log_path
from tests.s3server import bucket, put, s3, s3_env  # noqa: F401 (fixtures)

T5 = "springboard-tiny-t5"


def records(n: int, start: int = 0) -> str:
    return "".join(
        json.dumps({"id": f"r{i}", "text_inputs": f"summarize: note {i} about rain"}) + "\n"
        for i in range(start, start + n)
    )


def mixed_folder(root: Path) -> Path:
    """A folder as users have them: data files beside a picture and hidden files."""
    folder = root / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(records(2))
    (folder / "b.TXT").write_text(records(1, start=2))  # the suffix in any case
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "notes.md").write_text("# not data\n")
    (folder / ".hidden.jsonl").write_text("not a record\n")
    return folder


def test_a_folder_input_records_its_data_files_and_what_it_skipped(tmp_path):
    folder = mixed_folder(tmp_path)
    job = transform.submit(T5, input=str(folder), output=str(tmp_path / "o"), launch=False)
    assert [Path(f).name for f in job.inputs["files"]] == ["a.jsonl", "b.TXT"]
    assert [Path(f).name for f in job.inputs["skipped"]] == ["c.png", "notes.md"]
    assert job.settings["skipped_inputs"] == job.inputs["skipped"]
    assert job.counts["total"] == 3  # only the data files' records
    assert [Path(f).name for f in job.outputs["files"]] == ["a.jsonl.out", "b.TXT.out"]

    # a named file is read whatever its suffix: the user chose it
    named = transform.submit(
        T5, input=str(folder / "notes.md"), output=str(tmp_path / "o2"), launch=False
    )
    assert [Path(f).name for f in named.inputs["files"]] == ["notes.md"]
    assert named.inputs["skipped"] == []

    # invocation jobs share the rule (batch_locations)
    other = invocation.create(
        job_name="folder",
        model_id="springboard-tiny-llama",
        input_uri=str(folder),
        output_uri=str(tmp_path / "inv"),
        launch=False,
    )
    assert [Path(f).name for f in other.settings["skipped_inputs"]] == ["c.png", "notes.md"]


def test_a_folder_with_nothing_to_read_is_refused_before_the_job_exists(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0")
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "a.png").write_bytes(b"\x89PNG")
    for folder in (empty, pictures):
        with pytest.raises(ValidationError) as refused:
            transform.submit(T5, input=str(folder), output=str(tmp_path / "o"), launch=False)
        issue = refused.value.issues[0]
        assert issue.field == "input" and str(folder) in issue.message
        assert ".jsonl, .json, .txt" in issue.message
    assert service.list_jobs() == []


def test_earlier_results_in_the_output_are_refused_unless_overwrite(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(records(2))
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("the team's notes\n")  # not a result: no refusal
    first = transform.submit(T5, input=str(source), output=str(out), launch=False)
    (out / "in.jsonl.out").write_text('{"id": "r0", "generated_texts": ["old"]}\n')
    with pytest.raises(ConflictError) as refused:
        transform.submit(T5, input=str(source), output=str(out), launch=False)
    error = refused.value
    assert error.field == "output" and str(out) in error.message
    assert "in.jsonl.out" in error.message and "`overwrite`" in (error.fix or "")
    assert [j.id for j in service.list_jobs()] == [first.id]  # nothing was created

    again = transform.submit(T5, input=str(source), output=str(out), overwrite=True, launch=False)
    assert again.id != first.id

    from springboard import Transformer

    with pytest.raises(ConflictError):
        Transformer(T5, output_path=str(out)).transform(str(source), wait=False)


@pytest.mark.integration
def test_cli_refuses_an_output_with_results_and_names_the_flags(tmp_path, isolated_env):
    import subprocess

    from tests.conftest import VENV_BIN, cli_env

    source = tmp_path / "in.jsonl"
    source.write_text(records(2))
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json.out").write_text("{}\n")
    refused = subprocess.run(
        [str(VENV_BIN / "springboard"), "transform", T5, "--input", str(source), "-o", str(out)],
        env=cli_env(isolated_env),
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2, refused.stderr
    assert f"{out} holds results of an earlier job (manifest.json.out)" in refused.stderr
    assert "--overwrite" in refused.stderr and "--output" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""


@pytest.mark.integration
def test_only_data_files_are_read_and_a_resumed_job_writes_into_its_output(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(records(3))
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / ".hidden.jsonl").write_text("not a record\n")
    out = tmp_path / "out"
    job = transform.submit(
        T5,
        input=str(folder),
        output=str(out),
        env={"HYPER_PARAMS": '{"max_length": 4}'},
        launch=False,
    )
    assert service.stop(job.id).status == "Stopped"  # stopped before it ever ran
    (out / "earlier.jsonl.out").write_text('{"id": "x"}\n')  # results in its output now
    with pytest.raises(ConflictError):  # a new job is refused them...
        transform.submit(T5, input=str(folder), output=str(out), launch=False)
    service.resume(job.id)  # ...the job itself goes on into its own output
    done = service.wait(job.id, timeout=180)
    assert done.status == "Completed", done.status_message
    lines = [json.loads(line) for line in (out / "a.jsonl.out").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["r0", "r1", "r2"]
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl.out", "earlier.jsonl.out"]
    logged = log_path(job.id).read_text()
    assert "skipped 1 file(s)" in logged and "c.png" in logged and ".hidden" not in logged


@pytest.mark.integration
def test_remote_folders_follow_the_same_rules(s3_env, bucket, tmp_path):
    put(s3_env, bucket, "in/a.jsonl", records(2))
    put(s3_env, bucket, "in/b.png", b"\x89PNG")
    put(s3_env, bucket, "in/.hidden", "not a record\n")
    put(s3_env, bucket, "pictures/a.png", b"\x89PNG")
    put(s3_env, bucket, "out/in.jsonl.out", '{"id": "r0"}\n')
    job = transform.submit(
        T5, input=f"s3://{bucket}/in/", output=f"s3://{bucket}/fresh/", launch=False
    )
    assert job.inputs["files"] == [f"s3://{bucket}/in/a.jsonl"]
    assert job.inputs["skipped"] == [f"s3://{bucket}/in/b.png"]
    with pytest.raises(ValidationError, match=r"holds no data files \(.jsonl, .json, .txt\)"):
        transform.submit(T5, input=f"s3://{bucket}/pictures/", output=str(tmp_path), launch=False)
    with pytest.raises(ConflictError, match=r"in\.jsonl\.out"):
        transform.submit(T5, input=f"s3://{bucket}/in/", output=f"s3://{bucket}/out/", launch=False)
    transform.submit(
        T5, input=f"s3://{bucket}/in/", output=f"s3://{bucket}/out/", overwrite=True, launch=False
    )
