"""Batch transform throughput: a Springboard transform job vs a naive per-record loop.

Same model (a seeded, randomly initialised ~10M-parameter T5 built offline with the
bundled tokenizer, or --model-dir), same records, same greedy settings, same run. The
naive baseline is what a user writes by hand: `model.generate` once per record. The job
is timed from its model being loaded to its end (its own `records_per_second`
metric; the baseline's load is not timed either). Also reports the worker's peak memory for 1x and 10x the input, which must not
grow with the input (the job streams). Last line: `ratio <job records/s / naive records/s>`.

    .venv/bin/python benchmarks/transform_throughput.py [--records 128] [--batch-size 64]
        [--backend torch|ctranslate2 [--quantize int8]]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
BUNDLED_T5 = REPO / "src" / "springboard" / "bundled" / "springboard-tiny-t5"
BACKEND_ENV: dict[str, str] = {}  # OPTION_BACKEND / OPTION_QUANTIZE of the job (--backend)
WORDS = ("river rose fell market town council rain school bridge road closed opened "
         "festival train late early farmers harvest storm power library budget vote").split()


def build_bench_t5(out: Path, seed: int = 0) -> int:
    """A seeded random T5 (~10M parameters) with the bundled tokenizer; returns params."""
    import torch
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    out.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(BUNDLED_T5 / name, out / name)
    config = T5Config(vocab_size=1280, d_model=256, d_ff=1024, d_kv=64, num_layers=4,
                      num_decoder_layers=4, num_heads=4, feed_forward_proj="gated-gelu",
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(decoder_start_token_id=0, eos_token_id=1,
                                               pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    return sum(p.numel() for p in model.parameters())


def write_records(path: Path, n: int) -> None:
    import random

    rng = random.Random(0)
    with open(path, "w") as handle:
        for i in range(n):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
            handle.write(json.dumps({"id": i, "text_inputs": f"summarize: {words}"}) + "\n")


def naive_loop(model_dir: Path, path: Path, max_new_tokens: int, limit: int) -> float:
    """records/s of one `generate` call per record over the first `limit` records
    (load not timed; a rate, so fewer records measure the same thing, faster)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    texts = [json.loads(line)["text_inputs"] for line in path.read_text().splitlines()][:limit]
    started = time.perf_counter()
    with torch.inference_mode():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
            tokenizer.decode(out[0], skip_special_tokens=True)
    return len(texts) / (time.perf_counter() - started)


def run_job(model_dir: Path, path: Path, out: Path, batch_size: int,
            max_new_tokens: int) -> tuple[float, float, str]:
    """(records/s after the model loaded, worker peak RSS in MiB, status)."""
    import psutil

    from springboard.jobs import paths, service, transform

    job = transform.submit("springboard-tiny-t5", input=str(path), output=str(out),
                           model_dir=str(model_dir), batch_size=batch_size,
                           env={"HYPER_PARAMS": json.dumps({"max_new_tokens": max_new_tokens}),
                                **BACKEND_ENV})
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pid = service.get(job.id).pid
            try:
                if pid:
                    peak[0] = max(peak[0], psutil.Process(pid).memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    final = service.wait(job.id, poll=0.1)
    done.set()
    sampler.join()
    # the job's own rate: records over the time since its model was loaded
    rate = [p["value"] for p in paths.read_metrics(job.id)
            if p["metric_name"] == "records_per_second"][-1]
    return rate, peak[0], final.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=128)
    parser.add_argument("--naive-records", type=int, default=48, help="records the slow baseline runs")
    from springboard.jobs.transform import DEFAULT_BATCH_SIZE

    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="the job's batch size (default: transform's default)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--no-memory-check", action="store_true", help="skip the 10x input run")
    parser.add_argument("--backend", choices=["torch", "ctranslate2", "auto"], default="torch",
                        help="the job's backend (ctranslate2: compiled, CPU)")
    parser.add_argument("--quantize", default=None, help="with --backend ctranslate2: int8, ...")
    args = parser.parse_args()
    BACKEND_ENV.update({"OPTION_BACKEND": args.backend},
                       **({"OPTION_QUANTIZE": args.quantize} if args.quantize else {}))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["SPRINGBOARD_HOME"] = str(tmp / "home")
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = tmp / "t5"
            print(f"model: seeded random T5, {build_bench_t5(model_dir) / 1e6:.1f}M parameters")
        small, large = tmp / "in.jsonl", tmp / "in10x.jsonl"
        write_records(small, args.records)
        naive = naive_loop(model_dir, small, args.max_new_tokens, args.naive_records)
        print(f"naive loop (generate per record): {naive:8.1f} records/s")
        job_rate, peak_1x, status = run_job(model_dir, small, tmp / "out", args.batch_size,
                                            args.max_new_tokens)
        print(f"springboard transform ({status}, batch {args.batch_size}): {job_rate:8.1f} records/s,"
              f" worker peak RSS {peak_1x:.0f} MiB")
        if not args.no_memory_check:
            write_records(large, args.records * 10)
            rate_10x, peak_10x, status = run_job(model_dir, large, tmp / "out10", args.batch_size,
                                                 args.max_new_tokens)
            print(f"springboard transform, 10x input ({status}): {rate_10x:8.1f} records/s, "
                  f"worker peak RSS {peak_10x:.0f} MiB ({peak_10x / peak_1x:.2f}x the 1x run)")
        print(f"ratio {job_rate / naive:.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
