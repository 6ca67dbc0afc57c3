"""The bundled models do their trained tasks on held-out prompts (so the quick start shows
something a person can judge), and the text2text model cannot do the task the
fine-tuning journey teaches. Figures on the full held-out sets are in each model card;
these are floors on small slices, measured through Springboard's own Generator."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from springboard.evaluation import exact_match, mean_scores, rouge_scores

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {  # task: (exact match, ROUGE-L) on the first 20 held-out prompts
    "summarize": (0.3, 0.8),
    "data-to-text": (0.6, 0.9),
    "past-tense": (0.8, 0.9),
    "extractive-qa": (0.5, 0.6),
}


@pytest.fixture(scope="module")
def t5():
    from springboard.inference import Generator

    return Generator.from_catalog("springboard-tiny-t5")


def _scores(generator, pairs):
    texts = generator.predict({"text_inputs": [p for p, _ in pairs], "max_length": 48})["generated_texts"]
    refs = [r for _, r in pairs]
    em = sum(exact_match(t, r) for t, r in zip(texts, refs, strict=True)) / len(pairs)
    return em, mean_scores(rouge_scores(zip(texts, refs, strict=True))).rougeL.fmeasure


def test_text2text_model_does_its_trained_tasks(t5):
    by_task = defaultdict(list)
    for line in (ROOT / "examples" / "instructions" / "heldout.jsonl").read_text().splitlines():
        record = json.loads(line)
        by_task[record["task"]].append((record["prompt"], record["target"]))
    for task, (em_floor, rouge_floor) in FLOORS.items():
        em, rouge = _scores(t5, by_task[task][:20])
        assert em >= em_floor and rouge >= rouge_floor, (task, em, rouge)


def test_text2text_model_cannot_yet_generate_questions(t5):
    records = [json.loads(line) for line in
               (ROOT / "examples" / "question-generation" / "test.jsonl").read_text().splitlines()]
    _, rouge = _scores(t5, [(f"Ask a question about: {r['context']}", r["question"]) for r in records[:20]])
    assert rouge < 0.3  # what fine-tuning raises (tests/test_training.py)
