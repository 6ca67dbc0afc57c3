#!/usr/bin/env python
"""Train the bundled text2text model, `springboard-tiny-t5`, on the instruction tasks of
`synthetic_instructions.py` (summarize, data-to-text, past tense, extractive QA), each
written both in its prefix form and through the matching built-in prompt template of
`springboard.prompting` (zero- and one-shot), so in-context prompts work on it too.

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
from build_bundled_models import (DEFAULT_OUTPUT_DIR, T5_NAME, build_t5, build_tokenizer,  # noqa: E402
                                  generate_corpus, save_model)

REPO = Path(__file__).resolve().parents[1]
HELDOUT_FILES = [REPO / "examples" / "instructions" / "heldout.jsonl",
                 REPO / "examples" / "summarize" / "articles.jsonl"]
IN_CONTEXT = REPO / "examples" / "in-context"  # <template>/{examples,records}.jsonl, held out
TEMPLATE_SHARE = 0.5   # share of examples written through a built-in template (0 or 1 shot)
MAX_INPUT_TOKENS = 384
MICRO_BATCHES = 4      # a batch runs as this many chunks of similar length


def tokenizer_dir(output_dir: Path) -> Path:
    """The tokenizer `build_bundled_models.py` wrote into `output_dir`, else the shipped one."""
    built = output_dir / T5_NAME
    return built if (built / "tokenizer.json").is_file() else DEFAULT_OUTPUT_DIR / T5_NAME


def held_out_keys() -> set[str]:
    """Keys (of the prefix-form prompt) of every held-out record, also the in-context
    sets' records and examples, so none is trained on in either form."""
    keys = set()
    for path in HELDOUT_FILES:
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                keys.add(tasks.key(record.get("prompt") or record["text_inputs"]))
    by_template = {name: task for task, name in tasks.TEMPLATES.items()}
    for path in sorted(IN_CONTEXT.glob("*/*.jsonl")):
        task = by_template[path.parent.name]
        for line in path.read_text().splitlines():
            keys.add(tasks.key(tasks.prefix_prompt(task, json.loads(line))[0]))
    return keys


def batches(seed: int, size: int, skip: set[str]):
    """Batches of (prompt, target): each example in its prefix form ("summarize: ...") or,
    with probability TEMPLATE_SHARE, through the task's built-in prompt template with no
    example or with one other example of the same task as its shot."""
    from springboard.prompting import builtin_templates

    templates = builtin_templates()
    rng = random.Random(seed)
    while True:
        batch = []
        while len(batch) < size:
            task, fields = tasks.example_fields(rng)
            prompt, target = tasks.prefix_prompt(task, fields)
            if tasks.key(prompt) in skip:
                continue
            if rng.random() < TEMPLATE_SHARE:
                template = templates[tasks.TEMPLATES[task]]
                shots = rng.randint(0, 1)
                shown = [tasks.FIELDS[task](rng) for _ in range(shots)]
                prompt = template.model_copy(update={"shots": shots}).render(fields, shown)
            batch.append((prompt, target))
        yield batch


def accumulate(model, tokenizer, batch: list[tuple[str, str]]) -> float:
    """Backpropagate the batch's mean token loss in MICRO_BATCHES chunks of similar input
    length (one-shot prompts are ~3x longer than the rest: padding every row to the longest
    would triple the work); each chunk counts by its share of target tokens."""
    batch = sorted(batch, key=lambda pair: len(pair[0]))
    size = -(-len(batch) // MICRO_BATCHES)
    chunks = [batch[start:start + size] for start in range(0, len(batch), size)]
    encoded = []
    for chunk in chunks:
        prompts, targets = zip(*chunk, strict=True)
        inputs = tokenizer(list(prompts), padding=True, truncation=True,
                           max_length=MAX_INPUT_TOKENS, return_tensors="pt")
        labels = tokenizer(list(targets), padding=True, truncation=True, max_length=48,
                           return_tensors="pt")["input_ids"]
        labels[labels == tokenizer.pad_token_id] = -100
        encoded.append((inputs, labels))
    total = sum(int((labels != -100).sum()) for _, labels in encoded)
    value = 0.0
    for inputs, labels in encoded:
        share = int((labels != -100).sum()) / total
        loss = model(**inputs, labels=labels).loss * share
        loss.backward()
        value += loss.item()
    return value


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
        loss = accumulate(model, tokenizer, next(stream))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        recent.append(loss)
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
    # a fresh build: the one used for training carries its padding/truncation state, and a
    # reloaded one would save loading flags (is_local, ...) the build does not write
    result = save_model(T5_NAME, model, build_tokenizer("t5", generate_corpus(args.seed)),
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


def _tail(prompt: str, width: int = 90) -> str:
    """A prompt's end on one line (a one-shot prompt's query is at its end)."""
    text = prompt.replace("\n", "\\n")
    return text if len(text) <= width else "…" + text[-width:]


def card(info: dict) -> str:
    """The model card of the trained model: what it learned, how well, how to reproduce."""
    rows = "\n".join(f"| {name} | {r['n']} | {r['exact_match']:.3f} | {r['rougeL']:.3f} |"
                     for name, r in info["figures"].items())
    examples = "\n".join(f"- `{_tail(r['example']['prompt'])}` → `{r['example']['output']}`"
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

Half of the training examples were written instead through the matching built-in prompt
template (`springboard prompts list`: summarization, data-to-text, translation with
"Present tense" → "Past tense", extractive-qa), with no worked example or with one, so
the in-context journey (`docs/in-context-learning.md`) runs on it too. Through a template
with no example it does the tasks about as well as in prefix form; shown one worked
example, it copies from the example (names, numbers) far more than a large model would —
the table below has both.

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
