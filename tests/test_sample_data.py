"""The sample data the repo ships is exactly what its seeded generators write, so it can
be regenerated, extended and trusted (our own text; no public dataset is copied)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _synthetic():
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "scripts" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_examples_match_their_generators(tmp_path):
    synthetic = _synthetic()
    synthetic.write_question_generation(tmp_path / "qg")
    synthetic.write_harbour_log(tmp_path / "harbour")
    synthetic.write_self_consistency(tmp_path / "sc")
    synthetic.write_invocation_records(tmp_path / "invocation")
    synthetic.write_instructions(tmp_path / "ex")
    pairs = [
        (tmp_path / "qg", ROOT / "examples" / "question-generation"),
        (tmp_path / "harbour", ROOT / "examples" / "domain-adaptation"),
        (tmp_path / "sc", ROOT / "examples" / "self-consistency"),
        (tmp_path / "invocation", ROOT / "examples" / "invocation"),
        (tmp_path / "ex" / "instructions", ROOT / "examples" / "instructions"),
        (tmp_path / "ex" / "summarize", ROOT / "examples" / "summarize"),
    ]
    for fresh, shipped in pairs:
        made = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
        assert made == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
        for name in made:
            assert (fresh / name).read_bytes() == (shipped / name).read_bytes(), (
                f"{shipped / name} is stale: run `python scripts/synthetic.py`"
            )


def test_held_out_records_are_not_in_the_training_set():
    import json

    qg = ROOT / "examples" / "question-generation"
    train = {
        json.loads(line)["context"]
        for line in (qg / "train" / "train.jsonl").read_text().splitlines()
    }
    test = [json.loads(line)["context"] for line in (qg / "test.jsonl").read_text().splitlines()]
    assert len(test) == 40
    assert not train & set(test)
