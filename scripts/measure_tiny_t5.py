#!/usr/bin/env python
"""Re-measure the bundled text2text model: exact match and ROUGE-L per trained task on
the held-out prompts (`examples/instructions/heldout.jsonl`), ROUGE on the transform
quick start's sample (`examples/summarize`), on the in-context sets (`examples/in-context`,
0- and 1-shot prompts from the built-in templates), and — the task it was not trained on —
question generation (`examples/question-generation/test.jsonl`), all through
Springboard's own Generator with greedy decoding.

    .venv/bin/python scripts/measure_tiny_t5.py [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
REPO = Path(__file__).resolve().parents[1]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def measure_t5(model_dir: str | None = None) -> dict[str, Any]:
    """{task: {"exact_match", "rougeL", "n"}} for the trained tasks, the summarize sample
    and question generation."""
    from springboard.catalog import Catalog
    from springboard.evaluation import exact_match, mean_scores, rouge_scores
    from springboard.inference import Generator

    spec = Catalog.load().get("springboard-tiny-t5")
    generator = Generator(spec, model_dir) if model_dir else Generator.from_catalog(spec.id)

    def generate(prompts: list[str]) -> list[str]:
        out: list[str] = []
        for start in range(0, len(prompts), 32):
            out += generator.predict({"text_inputs": prompts[start:start + 32],
                                      "max_length": 48})["generated_texts"]
        return out

    sets: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for record in _jsonl(REPO / "examples" / "instructions" / "heldout.jsonl"):
        sets[record["task"]].append((record["prompt"], record["target"]))
    summaries = {r["id"]: r["summary"] for r in _jsonl(REPO / "examples" / "summarize" / "summaries.jsonl")}
    sets["summarize sample (transform quick start)"] = [
        (r["text_inputs"], summaries[r["id"]]) for r in _jsonl(REPO / "examples" / "summarize" / "articles.jsonl")]
    from springboard.prompting import Prompter

    for folder in sorted((REPO / "examples" / "in-context").iterdir()):
        for shots in (0, 1):
            prompter = Prompter.load(folder.name, folder / "examples.jsonl", shots=shots)
            target = prompter.template.target
            sets[f"{folder.name} (built-in template, {shots}-shot)"] = [
                (prompter.render(r), r[target]) for r in _jsonl(folder / "records.jsonl")]
    sets["question generation (not trained)"] = [
        (f"Ask a question about: {r['context']}", r["question"])
        for r in _jsonl(REPO / "examples" / "question-generation" / "test.jsonl")]
    results = {}
    for name, pairs in sets.items():
        texts = generate([p for p, _ in pairs])
        refs = [t for _, t in pairs]
        results[name] = {
            "n": len(pairs),
            "exact_match": round(sum(exact_match(t, r) for t, r in zip(texts, refs, strict=True)) / len(pairs), 3),
            "rougeL": round(mean_scores(rouge_scores(zip(texts, refs, strict=True))).rougeL.fmeasure, 3),
            "example": {"prompt": pairs[0][0], "output": texts[0], "reference": refs[0]},
        }
    return results


def print_table(results: dict[str, Any]) -> None:
    print(f"{'task':42} {'n':>4} {'exact':>6} {'ROUGE-L':>8}")
    for name, r in results.items():
        print(f"{name:42} {r['n']:>4} {r['exact_match']:>6.3f} {r['rougeL']:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", help="measure these weights instead of the bundled ones")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure_t5(args.model_dir)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results)


if __name__ == "__main__":
    main()
