#!/usr/bin/env python
"""Backend latency: the torch path vs the compiled CTranslate2 backend, same model, same run.

    .venv/bin/python benchmarks/backend_latency.py [--requests 30] [--quantize float32,int8]
        [--model-dir DIR] [--threads N]

Fully offline. It builds the seeded ~8M-parameter Llama of `endpoint_throughput.py`
(or uses `--model-dir`), then runs each backend in a child process of its own (so its
peak RSS is its own), through Springboard's one factory (`create_generator`, the catalog
entry springboard-tiny-llama with the weights overridden):

1. load time; for ctranslate2, the first load compiles into an empty cache (compile time)
   and a second load finds it there (cache hit time);
2. single-request latency: `--requests` greedy requests of 32 new tokens on prompts of
   5-40 words, one at a time, after 3 warm-up requests: p50 and p95;
3. batched throughput: one `generate` call over 16 and over 64 prompts (32 new tokens
   each), in new tokens per second;
4. peak RSS of the process.

Prints one line per backend, then `ratio p50 torch/<backend> <x>` lines (the goal in
issue 20: >= 3x lower p50 for the compiled backend) and the batched throughput of each
against torch's one-request-at-a-time rate (what a naive server reaches). On a shared
machine the figures are indicative; compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_ID = "springboard-tiny-llama"
NEW_TOKENS = 32
WORDS = ["the", "river", "rose", "after", "rain", "and", "the", "market", "in", "town", "stayed", "open", "late", "while", "farmers", "sold", "apples", "pears", "and", "bread", "to", "visitors", "from", "the", "valley"]


def prompts(n: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40))) for _ in range(n)]


def child(args: argparse.Namespace) -> None:
    """Measure one backend in this process; print one JSON line."""
    from springboard.catalog import Catalog
    from springboard.inference import LoadOptions
    from springboard.inference.generator import create_generator
    from springboard.inference.params import DecodingParams

    spec = Catalog.load().get(MODEL_ID)
    backend, quantize = args.child.split(":") if ":" in args.child else (args.child, None)
    options = LoadOptions(backend=backend, quantize=quantize, max_batch_size=64)
    out: dict[str, object] = {"backend": args.child}
    started = time.monotonic()
    generator = create_generator(spec, args.model_dir, options)
    out["load_s"] = round(time.monotonic() - started, 3)
    if backend == "ctranslate2":
        started = time.monotonic()
        create_generator(spec, args.model_dir, options)
        out["cache_hit_load_s"] = round(time.monotonic() - started, 3)
        out["compile_s"] = generator.variant.seconds  # type: ignore[attr-defined]
    params = DecodingParams(max_new_tokens=NEW_TOKENS)
    texts = prompts(args.requests + 3, seed=1)
    times, tokens = [], []
    for i, text in enumerate(texts):
        started = time.perf_counter()
        (result,) = generator.generate([text], params)
        if i >= 3:  # warm-up excluded
            times.append(time.perf_counter() - started)
            tokens.append(result.output_tokens[0])
    out["p50_ms"] = round(statistics.median(times) * 1000, 2)
    out["p95_ms"] = round(sorted(times)[int(0.95 * (len(times) - 1))] * 1000, 2)
    out["mean_new_tokens"] = round(statistics.mean(tokens), 1)
    out["single_tok_s"] = round(sum(tokens) / sum(times), 1)
    for size in (16, 64):
        batch = prompts(size, seed=2)
        generator.generate(batch[:4], params)  # warm the shapes a little
        started = time.perf_counter()
        results = generator.generate(batch, params, batch_size=size)
        seconds = time.perf_counter() - started
        out[f"batch{size}_tok_s"] = round(sum(r.output_tokens[0] for r in results) / seconds, 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="timed single requests")
    parser.add_argument("--quantize", default="float32,int8",
                        help="ctranslate2 quantizations to measure, comma-separated")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="OMP/engine threads (default 1)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="springboard-latency-") as tmp:
        work = Path(tmp)
        if args.model_dir is None:
            sys.path.insert(0, str(Path(__file__).parent))
            from _models import build_bench_llama

            args.model_dir, params = build_bench_llama(work / "llama", seed=0)
            print(f"model: LlamaForCausalLM, {params / 1e6:.2f}M params (seeded random)")
        env = {**os.environ, "SPRINGBOARD_HOME": str(work / "home"),
               "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
        print(f"{args.requests} single requests of {NEW_TOKENS} new tokens (greedy), "
              f"batches of 16 and 64; {args.threads} thread(s); load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        rows = []
        for backend in ["torch"] + [f"ctranslate2:{q}" for q in args.quantize.split(",") if q]:
            line = subprocess.run(
                [sys.executable, __file__, "--child", backend, "--requests", str(args.requests),
                 "--model-dir", str(args.model_dir)],
                env=env, capture_output=True, text=True, check=False)
            if line.returncode != 0:
                print(f"{backend}: failed\n{line.stderr[-2000:]}")
                continue
            row = json.loads(line.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        torch_row = next((r for r in rows if r["backend"] == "torch"), None)
        if torch_row is None:
            return
        for row in rows:
            if row is torch_row:
                continue
            print(f"ratio p50 torch/{row['backend']} {torch_row['p50_ms'] / row['p50_ms']:.2f}")
        for row in rows:
            print(f"{row['backend']}: batch16 {row['batch16_tok_s'] / torch_row['single_tok_s']:.1f}x, "
                  f"batch64 {row['batch64_tok_s'] / torch_row['single_tok_s']:.1f}x "
                  "torch one-at-a-time tokens/s")


if __name__ == "__main__":
    main()
