"""Cleaning up: `jobs delete`, `models delete`, `prune` and `du`, on real state.

Ended jobs are made cheaply where a run is not the point: a real transform job recorded
without a worker, then stopped through the state machine (a real Stopped job). A
fine-tuned model is registered through the store with a copy of the bundled model's
files, as training registers one. One integration test runs a real transform (its
output on a local S3 server) to Completed, then the acceptance line through the CLI;
another deploys the registered model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from springboard.errors import ConflictError, NotFoundError, ValidationError
from springboard.housekeeping import delete_job, delete_model, disk_usage, execute, plan
from springboard.housekeeping.layout import UnsafeDeletionError, remove
from springboard.housekeeping.prune import ORPHAN_GRACE, parse_duration, prune
from tests.conftest import QG, VENV_BIN, cli_env
from tests.s3server import bucket, keys, s3, s3_env  # noqa: F401 (fixtures)

MODEL_ID = "springboard-tiny-t5-ft-qa"


def sb(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "springboard"), *args],
        capture_output=True,
        text=True,
        env=cli_env(home),
        stdin=subprocess.DEVNULL,  # no terminal, as in a script
        timeout=300,
    )


def records(tmp_path: Path, n: int = 2) -> Path:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": str(i), "text_inputs": f"say {i}"}) + "\n" for i in range(n))
    )
    return source


def stopped_job(tmp_path: Path, name: str | None = None, output: str = "out") -> Any:
    """A real transform job, recorded and stopped before it ran (no worker)."""
    from springboard.jobs import service, transform

    job = transform.submit(
        "springboard-tiny-t5",
        input=str(records(tmp_path)),
        output=str(tmp_path / output),
        name=name,
        launch=False,
    )
    return service.stop(job.id)


def backdate(path: Path, seconds: float) -> None:
    """Make `path` and everything in it look last changed `seconds` ago."""
    moment = time.time() - seconds
    for folder, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.utime(os.path.join(folder, name), (moment, moment), follow_symlinks=False)
    os.utime(path, (moment, moment))


def register_model(home: Path, model_id: str = MODEL_ID, job_id: str | None = None) -> Path:
    """Register a fine-tuned model as training does: files under models/, a spec row."""
    from springboard.artifacts.resolve import bundled_root
    from springboard.catalog import Catalog, SourceKind
    from springboard.store.registered_models import register

    base = Catalog.load().get("springboard-tiny-t5")
    target = home / "models" / model_id
    shutil.copytree(bundled_root() / "springboard-tiny-t5", target)
    spec = base.model_copy(
        update={
            "id": model_id,
            "version": "1.0.0",
            "aliases": [],
            "source": base.source.model_copy(
                update={"kind": SourceKind.LOCAL, "path": str(target), "repo_id": None}
            ),
            "lineage": {"base_model": base.id, "job_id": job_id},
        }
    )
    register(spec.model_dump(mode="json"))
    return target


# -- jobs delete -------------------------------------------------------------------------------


def test_delete_job_removes_record_and_folder_keeps_outputs_and_frees_the_name(
    isolated_env, tmp_path
):
    from springboard.jobs import service
    from springboard.store import job_records

    job = stopped_job(tmp_path, name="nightly")
    folder = isolated_env / "jobs" / job.id
    (folder / "checkpoint.json").write_text("{}")
    assert job.status == "Stopped" and folder.is_dir() and (tmp_path / "out").is_dir()

    result = delete_job(job.id[:8])  # a unique start of the id is enough

    assert result.id == job.id and result.status == "Stopped"
    assert job_records.get(job.id) is None and not folder.exists()
    assert result.bytes_freed > 0 and result.removed[0].path == str(folder)
    assert (tmp_path / "out").is_dir()  # the user's output location stays, and says so
    assert [(k.what, k.where) for k in result.kept] == [("outputs", str(tmp_path / "out"))]
    with pytest.raises(NotFoundError):
        service.get(job.id)
    again = stopped_job(tmp_path, name="nightly", output="out2")  # the name is free again
    assert again.name == "nightly" and again.id != job.id


def test_delete_job_refuses_one_not_ended_naming_status_and_fix(tmp_path):
    from springboard.jobs import service, transform
    from springboard.store import job_records

    job = transform.submit(
        "springboard-tiny-t5",
        input=str(records(tmp_path)),
        output=str(tmp_path / "out"),
        launch=False,
    )
    with pytest.raises(ConflictError) as refused:
        delete_job(job.id)
    assert "Submitted" in str(refused.value)
    assert f"springboard jobs stop {job.id}" in str(refused.value)
    assert job_records.get(job.id) is not None
    service.stop(job.id)
    assert delete_job(job.id).status == "Stopped"
    with pytest.raises(NotFoundError):
        delete_job(job.id)


def test_delete_job_never_follows_a_link_out_of_home(isolated_env, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data.txt").write_text("keep me")
    job = stopped_job(tmp_path)
    (isolated_env / "jobs" / job.id / "link").symlink_to(outside, target_is_directory=True)
    delete_job(job.id)
    assert (outside / "data.txt").read_text() == "keep me"
    with pytest.raises(UnsafeDeletionError):
        remove(isolated_env, outside)
    with pytest.raises(UnsafeDeletionError):
        remove(isolated_env, isolated_env)
    with pytest.raises(UnsafeDeletionError):
        remove(isolated_env, isolated_env / "jobs" / ".." / "..")
    link = isolated_env / "jobs" / "escape"
    link.symlink_to(outside, target_is_directory=True)
    remove(isolated_env, link)  # the link goes, never what it points to
    assert not link.is_symlink() and (outside / "data.txt").exists()


# -- models delete -----------------------------------------------------------------------------


def test_models_delete_refuses_catalog_and_unknown_models():
    with pytest.raises(ConflictError) as catalog:
        delete_model("springboard-tiny-t5")
    assert "catalog model" in str(catalog.value) and "bundled" in str(catalog.value)
    with pytest.raises(NotFoundError) as unknown:
        delete_model("springboard-tiny-t5-ft-nope")
    assert unknown.value.field == "model_id"


def test_models_delete_removes_files_and_the_name_trains_again(isolated_env, tmp_path):
    from springboard.catalog import Catalog
    from springboard.jobs import service
    from springboard.training import jobs as training_jobs

    train = training_jobs.submit(
        "springboard-tiny-t5", train=str(QG / "train"), name="qa", launch=False
    )
    service.stop(train.id)
    folder = register_model(isolated_env, job_id=train.id)
    assert MODEL_ID in Catalog.load().ids()

    result = delete_model(MODEL_ID)

    assert result.versions == ["1.0.0"] and not folder.exists()
    assert result.bytes_freed > 100_000  # the weights
    assert MODEL_ID not in Catalog.load().ids()
    kept = {k.what: k for k in result.kept}
    assert kept["training job"].where == train.id and "jobs delete" in kept["training job"].note
    job = delete_job(train.id)
    assert job.kept == []  # its model is gone already
    again = training_jobs.submit(
        "springboard-tiny-t5", train=str(QG / "train"), name="qa", launch=False
    )
    assert again.outputs["model_id"] == MODEL_ID


@pytest.mark.integration  # an endpoint server
def test_models_delete_refuses_a_model_an_endpoint_serves(isolated_env):
    from springboard.serving import endpoints

    register_model(isolated_env)
    endpoints.deploy(MODEL_ID, name="qa-live", timeout=300)
    try:
        with pytest.raises(ConflictError) as refused:
            delete_model(MODEL_ID)
        assert "qa-live" in str(refused.value)
        assert "springboard endpoints delete qa-live" in str(refused.value)
        assert (isolated_env / "models" / MODEL_ID).is_dir()
    finally:
        endpoints.delete("qa-live")
    assert delete_model(MODEL_ID).removed
    # the deleted endpoint left its folder (its log): an orphan, kept while young
    young = plan("0d")
    assert not young.items and young.notes
    backdate(isolated_env / "endpoints" / "qa-live", ORPHAN_GRACE.total_seconds() + 60)
    assert [(i.what, i.name) for i in plan("0d").items] == [("orphan endpoint folder", "qa-live")]


# -- prune -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0d", 0), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("90s", 90)],
)
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["7", "7 days", "-1d", "1.5h", "d", ""])
def test_a_bad_duration_names_the_format(text):
    with pytest.raises(ValidationError) as bad:
        parse_duration(text)
    issue = bad.value.issues[0]
    assert issue.field == "older_than" and "30m, 12h, 7d or 2w" in (issue.fix or "")


def test_prune_removes_ended_jobs_and_old_orphans_and_nothing_else(isolated_env, tmp_path):
    from springboard.jobs import transform
    from springboard.store import job_records

    ended = stopped_job(tmp_path, output="o1")
    waiting = transform.submit(
        "springboard-tiny-t5",
        input=str(records(tmp_path)),
        output=str(tmp_path / "o2"),
        launch=False,
    )
    kept_job = stopped_job(tmp_path, output="o3")
    (isolated_env / "jobs" / kept_job.id / "checkpoint.tmp").write_text("torn")
    old_orphan = isolated_env / "jobs" / "tr-crashed"
    old_orphan.mkdir()
    (old_orphan / "job.log").write_text("x" * 100)
    backdate(old_orphan, 7200)
    young_orphan = isolated_env / "endpoints" / "just-made"
    young_orphan.mkdir(parents=True)
    cache = isolated_env / "cache" / "compiled"
    cache.mkdir(parents=True)
    (cache / "blob").write_bytes(b"0" * 50)
    backdate(isolated_env / "cache", 7200)
    model = register_model(isolated_env)
    (isolated_env / "data").mkdir()
    (isolated_env / "data" / "mine.jsonl").write_text("{}\n")

    # an hour: the jobs that ended just now stay; the 2-hour-old orphan and cache go
    hour = plan("1h")
    assert {(i.what, i.name) for i in hour.items} == {
        ("orphan job folder", "tr-crashed"),
        ("cache", "compiled"),
        ("temp file", f"{kept_job.id}/checkpoint.tmp"),
    }
    dry = prune("0d", dry_run=True)
    assert dry.dry_run and len(dry.removed) == 4 and old_orphan.exists()
    assert job_records.get(ended.id) is not None

    result = execute(plan("0d"))

    removed = {(i.what, i.name) for i in result.removed}
    assert removed == {
        ("job", ended.id),
        ("job", kept_job.id),
        ("orphan job folder", "tr-crashed"),
        ("cache", "compiled"),
    }
    assert result.bytes_freed == sum(i.bytes for i in result.removed) >= 150
    assert job_records.get(ended.id) is None and not old_orphan.exists()
    assert job_records.get(waiting.id) is not None  # not ended: never pruned
    assert young_orphan.is_dir() and result.notes  # too young: kept, and said so
    assert model.is_dir() and (isolated_env / "data" / "mine.jsonl").exists()
    assert (tmp_path / "o1").is_dir() and (tmp_path / "o3").is_dir()
    assert (isolated_env / "state.db").exists()


def test_prune_removes_a_failed_endpoint_with_its_folder(isolated_env):
    from springboard.store import endpoint_records
    from springboard.store.endpoint_records import EndpointStatus

    folder = isolated_env / "endpoints" / "broken"
    endpoint_records.insert(
        {
            "name": "broken",
            "model_id": "springboard-tiny-t5",
            "model_version": "1.0.0",
            "status": EndpointStatus.CREATING,
            "host": "127.0.0.1",
            "env": {},
            "log_path": str(folder / "server.log"),
        }
    )
    folder.mkdir(parents=True)
    (folder / "server.log").write_text("Traceback: out of memory\n")
    endpoint_records.require("broken", EndpointStatus.FAILED, message="the server process exited")
    assert plan("1h").items == []  # it failed just now
    result = execute(plan("0d"))
    assert [(i.what, i.name, i.bytes) for i in result.removed] == [("endpoint", "broken", 25)]
    assert endpoint_records.get("broken") is None and not folder.exists()


def test_prune_and_du_on_a_fresh_home_create_nothing(isolated_env):
    assert prune("0d").removed == []
    assert disk_usage().total_bytes == 0
    assert not (isolated_env / "state.db").exists()


# -- du ----------------------------------------------------------------------------------------


def test_du_categories_add_up_to_the_files_under_home(isolated_env, tmp_path):
    from springboard.diagnostics import disk_usage as home_bytes

    job = stopped_job(tmp_path)
    (isolated_env / "jobs" / job.id / "job.log").write_text("l" * 1000)
    (isolated_env / "jobs" / job.id / "checkpoints").mkdir()
    (isolated_env / "jobs" / job.id / "checkpoints" / "optimizer.pt").write_bytes(b"c" * 3000)
    (isolated_env / "jobs" / job.id / "metrics.jsonl").write_text("m" * 200)
    (isolated_env / "jobs" / "tr-orphan").mkdir()
    (isolated_env / "jobs" / "tr-orphan" / "job.log").write_text("o" * 70)
    register_model(isolated_env)
    compiled = isolated_env / "compiled" / MODEL_ID / "1.0.0" / "ctranslate2-float32-4"
    compiled.mkdir(parents=True)
    (compiled / "model.bin").write_bytes(b"w" * 500)

    report = disk_usage(top=1)

    sizes = {(c.name, c.kind): c.bytes for c in report.categories}
    assert report.total_bytes == sum(sizes.values()) == home_bytes(isolated_env)
    assert sizes[("jobs", "transform")] == 200
    assert sizes[("logs", None)] == 1000
    assert sizes[("checkpoints", None)] == 3000
    assert sizes[("orphaned", None)] == 70
    assert sizes[("registered models", None)] > 100_000
    assert sizes[("compiled models", None)] == 500
    assert sizes[("state db", None)] > 0
    assert [j.id for j in report.largest_jobs] == [job.id]
    assert report.largest_jobs[0].bytes == 4200
    assert [(m.id, m.registered) for m in report.largest_models] == [(MODEL_ID, True)]


# -- the CLI, as a user runs it ----------------------------------------------------------------


@pytest.mark.integration  # a job worker and CLI subprocesses
def test_cli_cleanup_after_a_real_job(isolated_env, tmp_path, s3_env, bucket):
    from springboard.jobs import service, transform

    job = transform.submit(
        "springboard-tiny-t5", input=str(records(tmp_path)), output=f"s3://{bucket}/out"
    )
    running = sb(isolated_env, "jobs", "delete", job.id, "--yes")
    if service.get(job.id).status not in ("Completed", "Failed"):  # it may already be done
        assert running.returncode == 2 and "jobs stop" in running.stderr
    # while the worker runs: what needs no ended job
    other = stopped_job(tmp_path, output="o2")
    refused = sb(isolated_env, "prune", "--older-than", "0d")
    assert (
        refused.returncode == 2 and "--yes" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert service.get(other.id).status == "Stopped"  # nothing deleted
    bad = sb(isolated_env, "prune", "--older-than", "7days", "--yes")
    assert bad.returncode == 2 and "--older-than" in bad.stderr and "12h" in bad.stderr
    deleted = sb(isolated_env, "jobs", "delete", other.id, "--yes", "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["id"] == other.id
    done = service.wait(job.id, timeout=300)
    assert done.status == "Completed", done.status_message
    staging = isolated_env / "jobs" / job.id / "output"  # its copy of what went to s3
    assert (staging / "in.jsonl.out").is_file()
    young = sb(isolated_env, "prune", "--older-than", "1h", "--yes")
    assert young.returncode == 0, young.stderr
    assert f"removed staging {job.id}/output" in young.stdout
    assert not staging.exists() and service.get(job.id).status == "Completed"

    du = sb(isolated_env, "du", "--json")
    assert du.returncode == 0, du.stderr
    usage = json.loads(du.stdout)
    assert usage["total_bytes"] == sum(c["bytes"] for c in usage["categories"])
    assert [j["id"] for j in usage["largest_jobs"]] == [job.id]

    line = "springboard --version && springboard doctor && springboard du && springboard prune --older-than 0d --yes"
    accepted = subprocess.run(
        line,
        shell=True,
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert accepted.returncode == 0, accepted.stderr
    assert f"removed job {job.id}" in accepted.stdout and "freed" in accepted.stdout
    assert not (isolated_env / "jobs" / job.id).exists()
    assert keys(s3_env, bucket) == ["out/in.jsonl.out"]  # the user's output stays
