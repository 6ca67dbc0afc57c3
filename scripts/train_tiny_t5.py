#!/usr/bin/env python
"""Train the bundled text2text model, `springboard-tiny-t5`, on the instruction tasks of
`synthetic_instructions.py` (summarize, data-to-text, past tense, extractive QA).

Seeded and deterministic for a given `--steps`, `--seed` and thread count: the model is
built by `build_bundled_models.build_t5` (seeded init, the shipped tokenizer), batches are
freshly generated from a seeded `random.Random`, and every example whose prompt is in a
held-out set (the shipped samples and `examples/instructions/heldout.jsonl`) is skipped.
Question generation is never trained: it is the fine-tuning journey's task. The result is
written with `build_bundled_models.save_model`; `measure_bundled_models.py --model t5`
re-measures it.

    .venv/bin/python scripts/train_tiny_t5.py [--steps 1200] [--output-dir DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

import synthetic_instructions as tasks  # noqa: E402
from build_bundled_models import DEFAULT_OUTPUT_DIR, T5_NAME, build_t5, save_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HELDOUT_FILES = [REPO / "examples" / "instructions" / "heldout.jsonl",
                 REPO / "examples" / "summarize" / "articles.jsonl"]


def tokenizer_dir(output_dir: Path) -> Path:
    """The tokenizer `build_bundled_models.py` wrote into `output_dir`, else the shipped one."""
    built = output_dir / T5_NAME
    return built if (built / "tokenizer.json").is_file() else DEFAULT_OUTPUT_DIR / T5_NAME


def held_out_keys() -> set[str]:
    keys = set()
    for path in HELDOUT_FILES:
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                keys.add(tasks.key(record.get("prompt") or record["text_inputs"]))
    return keys


def batches(seed: int, size: int, skip: set[str]):
    rng = random.Random(seed)
    while True:
        batch = []
        while len(batch) < size:
            _, prompt, target = tasks.example(rng)
            if tasks.key(prompt) not in skip:
                batch.append((prompt, target))
        yield batch


def train(args: argparse.Namespace) -> tuple[torch.nn.Module, object, dict]:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir(args.output_dir))
    model = build_t5(tokenizer, args.seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    started, recent = time.monotonic(), []
    stream = batches(args.seed, args.batch_size, held_out_keys())
    for step in range(args.steps):
        prompts, targets = zip(*next(stream), strict=True)
        inputs = tokenizer(list(prompts), padding=True, truncation=True, max_length=160,
                           return_tensors="pt")
        labels = tokenizer(list(targets), padding=True, truncation=True, max_length=48,
                           return_tensors="pt")["input_ids"]
        labels[labels == tokenizer.pad_token_id] = -100
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        recent.append(loss.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            print(f"step {step + 1}/{args.steps} loss {sum(recent) / len(recent):.4f} "
                  f"lr {schedule.get_last_lr()[0]:.2e} elapsed {time.monotonic() - started:.0f}s",
                  flush=True)
            recent = []
    model.eval()
    return model, tokenizer, {"steps": args.steps, "seconds": round(time.monotonic() - started, 1),
                              "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                              "threads": args.threads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (results are reproducible for the same count)")
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    args = parser.parse_args()
    model, tokenizer, info = train(args)
    # a fresh copy: the one used for training carries its padding/truncation state
    result = save_model(T5_NAME, model, AutoTokenizer.from_pretrained(tokenizer_dir(args.output_dir)),
                        args.output_dir, args.seed)
    print(f"saved {result.name}: {result.params} parameters, {result.model_bytes} bytes, "
          f"{info['seconds']} s; measuring", flush=True)
    from measure_tiny_t5 import measure_t5

    target = args.output_dir / T5_NAME
    figures = measure_t5(str(target))
    info.update(params=result.params, sha256=result.model_sha256, figures=figures)
    (target / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    (target / "README.md").write_text(card(info))
    print(card(info), flush=True)
    return 0


def card(info: dict) -> str:
    """The model card of the trained model: what it learned, how well, how to reproduce."""
    rows = "\n".join(f"| {name} | {r['n']} | {r['exact_match']:.3f} | {r['rougeL']:.3f} |"
                     for name, r in info["figures"].items())
    examples = "\n".join(f"- `{r['example']['prompt'][:90]}` → `{r['example']['output']}`"
                         for r in info["figures"].values())
    return f"""---
library_name: transformers
pipeline_tag: text2text-generation
license: apache-2.0
tags: [springboard, tiny, synthetic-tasks]
---

# springboard-tiny-t5

A {info['params']:,}-parameter T5 (`T5ForConditionalGeneration`) bundled with Springboard so
every text2text journey runs offline and shows something a person can judge. It was
trained from a seeded random initialisation on four instruction tasks written by the
repo's own generators (`scripts/synthetic_instructions.py`; no public data):

| prompt | target |
|---|---|
| `summarize: <news item of 3-5 sentences>` | its event sentence |
| `describe: name: … \| job: … \| town: … \| age: …` | one sentence saying them |
| `rewrite in the past tense: <sentence>` | the sentence in the past tense |
| `question: <question> context: <sentences>` | the answering span |

It was **not** trained to generate questions (`Ask a question about: <context>`): that is
what the fine-tuning journey teaches it (`docs/training.md`).

## Training

{info['steps']} steps of {info['batch_size']} freshly generated examples (held-out prompts
skipped), AdamW lr {info['lr']} with warmup and cosine decay, seed {info['seed']},
{info['threads']} torch thread(s): {info['seconds']:.0f} s on the 2-core build machine.
Weights: `model.safetensors` (float32, sha256 `{info['sha256']}`).

## Measured (greedy decoding through Springboard, held-out prompts)

| set | n | exact match | ROUGE-L F1 |
|---|---|---|---|
{rows}

For example:
{examples}

## Reproduce

```bash
.venv/bin/python scripts/train_tiny_t5.py --steps {info['steps']} --seed {info['seed']} --threads {info['threads']}
.venv/bin/python scripts/measure_tiny_t5.py        # re-measures the table above
```
"""


if __name__ == "__main__":
    sys.exit(main())
