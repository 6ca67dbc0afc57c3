"""`springboard self-consistency run|report` for real: invocation jobs on the bundled
text-generation model, the report's fields, the plot, resuming a run, scoring jobs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, cli_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
ARITHMETIC = ROOT / "examples" / "self-consistency" / "arithmetic"


def sc(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(VENV_BIN / "springboard"), "self-consistency", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode == 0) == ok, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_run_report_resume_and_score_existing_jobs(tmp_path, isolated_env):
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join((ARITHMETIC / "questions.jsonl").read_text().splitlines(True)[:6]))
    out = tmp_path / "sc"
    args = (
        "--model",
        "springboard-tiny-llama",
        "--questions",
        str(questions),
        "--exemplars",
        str(ARITHMETIC / "exemplars.jsonl"),
        "--shots",
        "2",
        "--paths",
        "7",
        "--temperature",
        "0.7",
        "--temperature",
        "1.0",
        "--max-tokens",
        "24",
        "--resamples",
        "20",
        "--price-in",
        "0.5",
        "--price-out",
        "1.5",
        "--output",
        str(out),
    )
    report = json.loads(sc(isolated_env, "run", *args, "--json").stdout)
    assert report["questions"] == 6 and report["paths"] == 7
    assert report["temperatures"] == [0.7, 1.0]
    assert 0 <= report["greedy"]["accuracy"] <= 1 and report["greedy"]["tokens_out"] > 0
    for entry in report["by_temperature"]:
        assert [p["n"] for p in entry["accuracy_by_n"]] == list(range(1, 8))
        assert all(p["resamples"] == 20 for p in entry["accuracy_by_n"])
        assert entry["tokens_in"] > 0 and entry["tokens_out"] > 0 and entry["seconds"] > 0
    assert report["cost"]["price_in"] == 0.5 and report["cost"]["greedy"] > 0
    assert (out / "report.json").is_file()
    assert (out / "accuracy_vs_n.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = json.loads((out / "run.json").read_text())
    assert set(run["jobs"]) == {"greedy", "t0.7", "t1"}
    # seven paths a question arrive as records of at most five generations, seeded apart
    sampled = Path(next((out / "outputs").glob(f"{run['jobs']['t0.7']}/*.out")))
    lines = [json.loads(line) for line in sampled.read_text().splitlines()]
    assert len(lines) == 12 and {len(line["modelOutput"]["generations"]) for line in lines} == {
        5,
        2,
    }
    assert len({line["modelInput"]["seed"] for line in lines}) == 12

    again = json.loads(sc(isolated_env, "run", *args, "--json").stdout)  # reuses the finished jobs
    assert json.loads((out / "run.json").read_text())["jobs"] == run["jobs"]
    assert again["by_temperature"] == report["by_temperature"]
    changed = sc(isolated_env, "run", *[a if a != "7" else "8" for a in args], ok=False)
    assert "--output" in changed.stderr and "paths" in changed.stderr

    shown = sc(isolated_env, "report", str(out))
    assert "greedy" in shown.stdout and "vote" in shown.stdout
    scored = json.loads(
        sc(
            isolated_env,
            "report",
            str(tmp_path / "rescored"),
            "--from-job",
            run["jobs"]["greedy"],
            "--from-job",
            run["jobs"]["t0.7"],
            "--questions",
            str(questions),
            "--resamples",
            "20",
            "--json",
        ).stdout
    )
    assert scored["temperatures"] == [0.7]
    assert scored["greedy"]["accuracy"] == report["greedy"]["accuracy"]
    assert [p["mean"] for p in scored["by_temperature"][0]["accuracy_by_n"]] == [
        p["mean"] for p in report["by_temperature"][0]["accuracy_by_n"]
    ]


def test_bad_inputs_are_named(tmp_path, isolated_env):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": 1, "question": "no answer"}\n')
    done = sc(
        isolated_env,
        "run",
        "--model",
        "springboard-tiny-llama",
        "--questions",
        str(bad),
        "--exemplars",
        str(ARITHMETIC / "exemplars.jsonl"),
        "--answer-format",
        "letters",
        "--output",
        str(tmp_path / "o"),
        ok=False,
    )
    assert "answer_format" in done.stderr or "letters" in done.stderr
    done = sc(
        isolated_env,
        "run",
        "--model",
        "springboard-tiny-llama",
        "--questions",
        str(bad),
        "--exemplars",
        str(ARITHMETIC / "exemplars.jsonl"),
        "--output",
        str(tmp_path / "o"),
        ok=False,
    )
    assert "answer" in done.stderr and "q.jsonl:1" in done.stderr and "Traceback" not in done.stderr


def test_as_many_exemplars_as_fit_the_context_by_default(llama_generator):
    from springboard.prompting import few_shot_prompt, load_exemplars
    from springboard.sdk.self_consistency import fitting_shots, load_questions

    exemplars = load_exemplars(ARITHMETIC / "exemplars.jsonl")
    questions = load_questions(ARITHMETIC / "questions.jsonl")
    count = llama_generator.count_tokens
    longest = [
        max(count([few_shot_prompt(exemplars[:k], q["question"]) for q in questions]))
        for k in range(len(exemplars) + 1)
    ]
    # new tokens that leave room for all but the last exemplar
    budget = 512 - (longest[-2] + longest[-1]) // 2
    shots = fitting_shots("springboard-tiny-llama", exemplars, questions, max_tokens=budget)
    assert shots == len(exemplars) - 1
    assert longest[shots] + budget <= 512 < longest[shots + 1] + budget
    assert fitting_shots("springboard-tiny-llama", exemplars, questions, max_tokens=64) == len(
        exemplars
    )
