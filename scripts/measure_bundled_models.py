#!/usr/bin/env python
"""Measure the bundled models through Springboard itself (not through raw transformers).

`--model llama`: the self-consistency effect of `springboard-tiny-llama` on held-out
arithmetic word problems (`examples/self-consistency/arithmetic/heldout-300.jsonl` by
default). Every question gets the few-shot chain-of-thought prompt of
`springboard.prompting.few_shot_prompt` with the shipped exemplars (as many as fit the
context with `--max-tokens` new tokens), one greedy path and `--paths` sampled paths at
`--temperature` (top-k `--top-k`), all through `Generator.predict` with text-generation
payloads and the stop strings the self-consistency journey uses. It prints greedy accuracy,
SC@N (majority vote of N sampled paths, mean and std over resamplings, from
`springboard.evaluation.accuracy_curve`) and the gain of voting over greedy. Seeded.

`--model t5`: exact match and ROUGE-L of `springboard-tiny-t5` per trained task on
held-out prompts, on the transform sample, and on question generation (not trained);
see `measure_tiny_t5.py`.

Usage::

    python scripts/measure_bundled_models.py --model llama
    python scripts/measure_bundled_models.py --model llama --model-dir /tmp/run/springboard-tiny-llama \\
        --paths 10 --temperature 0.7 --output /tmp/measure.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
ARITHMETIC = ROOT / "examples" / "self-consistency" / "arithmetic"
LLAMA = "springboard-tiny-llama"
STOP = ["\nQ:", "\n\n"]


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _generate(generator, prompts: list[str], parameters: dict, batch: int) -> list[list[str]]:
    """One list of texts per prompt, `batch` prompts per `predict` call (seed varies per call)."""
    out: list[list[str]] = []
    base_seed = parameters.get("seed")
    for i in range(0, len(prompts), batch):
        params = dict(parameters)
        if base_seed is not None:
            params["seed"] = base_seed * 100_003 + i
        response = generator.predict({"inputs": prompts[i:i + batch], "parameters": params})
        for entry in response:
            entries = entry if isinstance(entry, list) else [entry]
            out.append([e["generated_text"] for e in entries])
    return out


def measure_llama(args: argparse.Namespace) -> dict:
    import torch

    from springboard.evaluation.answers import canonical_answer, extract_answer
    from springboard.evaluation.voting import accuracy_curve, same_answer
    from springboard.inference import Generator
    from springboard.inference.loading import LoadOptions
    from springboard.prompting import few_shot_prompt, load_exemplars
    from springboard.sdk.self_consistency import fitting_shots

    torch.set_num_threads(args.threads)
    questions = _read_jsonl(Path(args.questions))[: args.limit or None]
    exemplars = load_exemplars(args.exemplars)
    shots = fitting_shots(LLAMA, exemplars, questions, args.max_tokens) if args.shots is None \
        else args.shots
    prompts = [few_shot_prompt(exemplars[:shots], q["question"]) for q in questions]
    gold = [canonical_answer(q["answer"]) for q in questions]
    generator = Generator.from_catalog(LLAMA, model_dir=args.model_dir,
                                       options=LoadOptions(device="cpu", max_batch_size=args.rows))
    common = {"max_new_tokens": args.max_tokens, "stop": STOP, "return_full_text": False}
    start = time.perf_counter()
    greedy_texts = _generate(generator, prompts, {**common, "do_sample": False}, args.batch)
    greedy = [extract_answer(t[0]) for t in greedy_texts]
    greedy_acc = statistics.fmean(same_answer(a, g) for a, g in zip(greedy, gold))
    t_greedy = time.perf_counter() - start
    print(f"{len(questions)} questions, {shots} exemplars, greedy {greedy_acc:.1%} ({t_greedy:.0f}s)",
          flush=True)
    sampled_texts = _generate(generator, prompts, {
        **common, "do_sample": True, "temperature": args.temperature, "top_k": args.top_k,
        "top_p": 1.0, "num_return_sequences": args.paths, "seed": args.seed},
        max(1, args.batch // args.paths) if args.paths > 1 else args.batch)
    sampled = [[extract_answer(t) for t in texts] for texts in sampled_texts]
    curve = accuracy_curve(sampled, gold, resamples=args.resamples, seed=args.seed)
    seconds = time.perf_counter() - start
    by_n = {p.n: p for p in curve}
    print(f"model dir: {generator.model_dir}")
    print(f"T={args.temperature} top_k={args.top_k} paths={args.paths} resamples={args.resamples} "
          f"({seconds:.0f}s)")
    print(f"greedy   {greedy_acc:6.1%}")
    for n in [1, 5, 10, 20, 40]:
        if n in by_n:
            p = by_n[n]
            print(f"SC@{n:<5} {p.mean:6.1%} ± {p.std:.1%}   gain over greedy {100 * (p.mean - greedy_acc):+.1f} pts")
    unparsable = statistics.fmean(a is None for answers in sampled for a in answers)
    print(f"unparsable sampled paths: {unparsable:.1%}; greedy unparsable: "
          f"{statistics.fmean(a is None for a in greedy):.1%}")
    result = {"model_dir": str(generator.model_dir), "questions": len(questions), "shots": shots,
              "temperature": args.temperature, "top_k": args.top_k, "paths": args.paths,
              "greedy": greedy_acc, "curve": {p.n: [p.mean, p.std] for p in curve},
              "seconds": round(seconds),
              "per_question": [{"id": q["id"], "gold": g, "greedy": a, "sampled": s,
                                "greedy_text": t[0]}
                               for q, g, a, s, t in zip(questions, gold, greedy, sampled, greedy_texts)]}
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    return result


def measure_t5(args: argparse.Namespace) -> dict:
    """The text2text model's table (see `measure_tiny_t5.py`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measure_tiny_t5 import measure_t5 as measure, print_table

    results = measure(args.t5_model_dir)
    print_table(results)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["llama", "t5", "all"], default="all")
    ap.add_argument("--model-dir", default=None,
                    help="measure these files instead of the bundled ones (a springboard-tiny-llama/ folder)")
    ap.add_argument("--t5-model-dir", default=None, help="measure these T5 files instead of the bundled ones")
    ap.add_argument("--questions", default=str(ARITHMETIC / "heldout-300.jsonl"))
    ap.add_argument("--exemplars", default=str(ARITHMETIC / "exemplars.jsonl"))
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions (0: all)")
    ap.add_argument("--shots", type=int, default=None, help="exemplars to show (default: as many as fit)")
    ap.add_argument("--paths", type=int, default=20)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--top-k", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32, help="rows (prompts x paths) per predict call")
    ap.add_argument("--rows", type=int, default=32, help="rows per forward pass (the Generator's max_batch_size)")
    ap.add_argument("--resamples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output", default=None, help="also write the figures and per-question answers here (JSON)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.model in ("llama", "all"):
        measure_llama(args)
    if args.model in ("t5", "all"):
        measure_t5(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
