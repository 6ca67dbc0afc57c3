"""Progress without a terminal: plain lines on stderr every SPRINGBOARD_PROGRESS_INTERVAL
seconds and at the end (counts, rate, ETA, losses), the result alone on stdout — a summary,
or JSON that parses. The line format, the interval and the rate are checked directly; the
commands (`transform --wait`, `train --wait --json`, `jobs wait`, `self-consistency run`)
for real, with stderr a pipe as in CI or `cmd 2> log`."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from springboard.cli.progress import (
    PlainLines,
    Rate,
    Snapshot,
    job_position,
    plain_line,
    waiting_status,
)
from springboard.config import reset_settings
from tests.conftest import QG, VENV_BIN, cli_env

ROOT = Path(__file__).resolve().parents[1]
T5 = "springboard-tiny-t5"


def test_a_line_holds_id_status_counts_rate_eta_and_losses():
    snap = Snapshot(
        "tr-1a2b3c", "InProgress", 40, 120, "steps", "train_loss=2.3141 val_loss=2.4102"
    )
    assert plain_line(snap, 3.1) == (
        "tr-1a2b3c InProgress 40/120 steps (33%) 3.1 steps/s eta 26s "
        "train_loss=2.3141 val_loss=2.4102"
    )
    assert plain_line(Snapshot("tf-1", "Submitted", 0, None, "records"), None) == (
        "tf-1 Submitted 0 records"
    )
    slow = Snapshot("tf-1", "InProgress", 10, 4000, "records")
    assert plain_line(slow, 0.5).endswith("0.5 records/s eta 2h13m")
    done = Snapshot("tf-1", "Completed", 4000, 4000, "records", ended=True)
    assert plain_line(done, 2.0) == "tf-1 Completed 4000/4000 records (100%) 2.0 records/s"
    # a training job whose step count is not known yet (-1) has no total
    assert job_position("training", {"step": 0, "total_steps": -1}, None) == (0, None, "")


def test_lines_come_every_interval_and_once_at_the_end(capsys):
    now = [0.0]
    lines = PlainLines(5.0, clock=lambda: now[0])
    for t, done in ((0, 0), (1, 0), (4.9, 2), (5, 3), (6, 4), (10, 8)):
        now[0] = t
        lines.show(Snapshot("tf-1", "InProgress", done, 10, "records"))
    now[0] = 11
    lines.show(Snapshot("tf-1", "Completed", 10, 10, "records", ended=True))
    lines.show(Snapshot("tf-1", "Completed", 10, 10, "records", ended=True))  # once only
    written = capsys.readouterr().err.splitlines()
    assert written == [
        "tf-1 InProgress 0/10 records (0%)",
        "tf-1 InProgress 3/10 records (30%) 0.8 records/s eta 9s",  # 3 in 4 s since idle
        "tf-1 InProgress 8/10 records (80%) 0.9 records/s eta 2s",
        "tf-1 Completed 10/10 records (100%) 1.0 records/s",
    ]

    quiet = PlainLines(0, clock=lambda: now[0])  # 0: only the line at the end
    quiet.show(Snapshot("tf-2", "InProgress", 1, 2, "records"))
    quiet.finish()  # a wait that ended without the job's end (a timeout) says where it is
    assert capsys.readouterr().err == "tf-2 InProgress 1/2 records (50%)\n"


def test_rate_ignores_the_time_before_anything_was_done():
    rate = Rate()
    for t, done in ((0, 0), (30, 0), (31, 5), (32, 10)):  # 30 s loading a model
        rate.add(t, done)
    assert rate.per_second() == pytest.approx(5.0)
    rate.add(100, 12)  # only the last minute counts
    assert rate.per_second() == pytest.approx(2 / 68)


def test_a_wait_without_counts_says_so_every_interval(capsys, monkeypatch):
    monkeypatch.setenv("SPRINGBOARD_PROGRESS_INTERVAL", "0.05")
    reset_settings()
    with waiting_status("deploying m: loading"):
        time.sleep(0.4)  # a hang-free sleep: lines are counted, not timed
    written = capsys.readouterr().err.splitlines()
    assert written[0] == "deploying m: loading"
    assert len(written) >= 3 and all(
        re.fullmatch(r"deploying m: loading \(\d+s\)", w) for w in written[1:]
    )


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(home) | {"SPRINGBOARD_PROGRESS_INTERVAL": "0.2"}
    return subprocess.run(
        [str(VENV_BIN / "springboard"), *args],
        env=env,
        capture_output=True,  # stderr a pipe, not a terminal: plain lines
        text=True,
        timeout=300,
    )


def progress_lines(stderr: str, job_id: str, unit: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if re.match(rf"{job_id} \w+ \d+(/\d+)? {unit}( \(\d+%\))?", line)
    ]


@pytest.mark.integration
def test_transform_wait_writes_progress_to_stderr_and_the_summary_to_stdout(tmp_path, isolated_env):
    from springboard.jobs import service

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.md").write_text("# not data\n")
    source = folder / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text_inputs": f"summarize: note {i} about rain"}) + "\n"
            for i in range(3)
        )
    )
    done = run_cli(
        isolated_env,
        "transform",
        T5,
        "--input",
        str(folder),
        "--output",
        str(tmp_path / "out"),
        "--env",
        'HYPER_PARAMS={"max_length": 4}',
        "--wait",
    )
    assert done.returncode == 0, done.stderr
    [job] = service.list_jobs()
    assert f"skipped 1 file(s) of {folder} that are not .jsonl/.json/.txt: notes.md" in done.stderr
    lines = progress_lines(done.stderr, job.id, "records")
    assert len(lines) >= 2, done.stderr  # the model loads for seconds: several lines
    assert lines[0].startswith((f"{job.id} Submitted 0/3 records", f"{job.id} InProgress"))
    assert re.fullmatch(rf"{job.id} Completed 3/3 records \(100%\)( [\d.]+ records/s)?", lines[-1])
    # stdout is the result alone: the summary line and the job's message
    summary, message = done.stdout.splitlines()
    assert summary.startswith(f"{job.id} Completed · 3 ok, 0 failed of 3 · tokens in ")
    assert message == "3 records succeeded"

    waited = run_cli(isolated_env, "jobs", "wait", job.id, "--json")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["id"] == job.id  # stdout parses: nothing else is there
    assert progress_lines(waited.stderr, job.id, "records") == [
        f"{job.id} Completed 3/3 records (100%)"
    ]


@pytest.mark.integration
def test_train_wait_json_shows_steps_and_losses_on_stderr(tmp_path, isolated_env):
    small = tmp_path / "train"
    small.mkdir()
    (small / "template.json").write_text((QG / "train" / "template.json").read_text())
    rows = (QG / "train" / "train.jsonl").read_text().splitlines(True)[:40]
    (small / "train.jsonl").write_text("".join(rows))
    done = run_cli(
        isolated_env,
        "train",
        T5,
        "--train",
        str(small),
        "-H",
        "max_steps=3",
        "-H",
        "validation_split_ratio=0.2",
        "--wait",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)  # stdout is the job as JSON, nothing more
    assert job["status"] == "Completed"
    lines = progress_lines(done.stderr, job["id"], "steps")
    assert lines, done.stderr
    assert any(re.search(r" \d/3 steps \(\d+%\).* train_loss=\d+\.\d{4}", line) for line in lines)
    assert re.match(rf"{job['id']} Completed 3/3 steps \(100%\)", lines[-1])
    assert "val_loss=" in lines[-1]


@pytest.mark.integration
def test_self_consistency_run_writes_plain_progress(tmp_path, isolated_env):
    arithmetic = ROOT / "examples" / "self-consistency" / "arithmetic"
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join((arithmetic / "questions.jsonl").read_text().splitlines(True)[:2]))
    done = run_cli(
        isolated_env,
        "self-consistency",
        "run",
        "--model",
        "springboard-tiny-llama",
        "--questions",
        str(questions),
        "--exemplars",
        str(arithmetic / "exemplars.jsonl"),
        "--shots",
        "1",
        "--paths",
        "2",
        "--temperature",
        "0.7",
        "--max-tokens",
        "8",
        "--resamples",
        "2",
        "--output",
        str(tmp_path / "sc"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["questions"] == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("self-consistency ")]
    assert len(lines) >= 2, done.stderr
    assert re.fullmatch(
        r"self-consistency greedy:Completed t0p7:Completed 4/4 records \(100%\)( .*)?", lines[-1]
    )
