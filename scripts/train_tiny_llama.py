#!/usr/bin/env python
"""Train the bundled `springboard-tiny-llama` on generated arithmetic word problems.

The model (built by `build_llama` in `scripts/build_bundled_models.py`, with the bundled
byte-level BPE tokenizer) learns to solve the problems of `scripts/synthetic_arithmetic.py`
step by step, in the exact chain-of-thought format Springboard prompts with
(`springboard.prompting.few_shot_prompt`): several "Q: ...\\nA: ... The answer is N.\\n\\n"
examples are packed into one sequence of up to ~480 tokens, so the model also sees long
few-shot contexts; the loss is on the answers only (rationale, answer and the blank line).
Each training rationale is drawn from all valid orders of the operations, so the model
learns several reasoning paths per problem -- what self-consistency voting feeds on.

Every problem is freshly generated; questions held out in `examples/self-consistency/
arithmetic/` (questions.jsonl, heldout-300.jsonl, exemplars.jsonl) are never trained on.

Deterministic: one thread, `torch.manual_seed(seed)`, data from `random.Random(seed)`,
AdamW with warmup and cosine decay over `--steps`. `--stop-after K` ends a run early (at
step K of the same schedule), `--checkpoints` saves intermediate models to try them.

Usage::

    OMP_NUM_THREADS=1 python scripts/train_tiny_llama.py --steps 900 --output-dir /tmp/llama-run
    OMP_NUM_THREADS=1 python scripts/train_tiny_llama.py --steps 900 \\
        --output-dir src/springboard/bundled            # writes springboard-tiny-llama/ there
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

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

import build_bundled_models as bbm  # noqa: E402
import synthetic_arithmetic as sa  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "springboard" / "bundled"
HELDOUT_DIR = ROOT / "examples" / "self-consistency" / "arithmetic"
HELDOUT_FILES = ("questions.jsonl", "heldout-300.jsonl", "exemplars.jsonl")

SEQ_TOKENS = 480          # pack examples until the next would pass this many tokens
BATCH_SEQS = 12           # sequences per packed step (~4-5 problems each)
SINGLE_BATCH = 48         # problems per single-problem step
SINGLE_SHARE = 0.6        # share of single-problem steps
LR, WARMUP, WEIGHT_DECAY = 3e-3, 40, 0.01


def heldout_keys() -> set[str]:
    keys = set()
    for name in HELDOUT_FILES:
        for line in (HELDOUT_DIR / name).read_text().splitlines():
            if line.strip():
                keys.add(sa.key(json.loads(line)["question"]))
    return keys


def load_tokenizer(seed: int = 0) -> PreTrainedTokenizerFast:
    """The bundled llama tokenizer, rebuilt exactly as `build_bundled_models.py --seed` does
    (so the saved tokenizer files are byte-identical to the bundled ones for seed 0)."""
    return bbm.build_tokenizer("llama", bbm.generate_corpus(seed))


def example_parts(p: dict) -> tuple[str, str]:
    """The prompt part (no loss) and the answer part (loss) of one example, as few_shot_prompt
    writes them: "Q: {question}\\nA:" and " {rationale} The answer is {answer}.\\n\\n"."""
    return f"Q: {p['question']}\nA:", f" {p['rationale']} The answer is {p['answer']}.\n\n"


class Packer:
    """Seeded stream of packed training sequences (input ids + loss mask)."""

    def __init__(self, tokenizer, rng: random.Random, avoid: set[str]):
        self.tok, self.rng, self.avoid = tokenizer, rng, avoid
        self.pending: dict | None = None
        self.problems = 0

    def _next_problem(self) -> dict:
        while True:
            p = sa.problem(self.rng)
            if sa.key(p["question"]) not in self.avoid:
                self.problems += 1
                return p

    def single(self, n_ops: int) -> tuple[list[int], list[int]]:
        """One problem with `n_ops` operations as its own sequence: <s>Q: ...\nA: ...\n\n."""
        while True:
            p = sa.problem(self.rng, n_ops)
            if sa.key(p["question"]) not in self.avoid:
                break
        self.problems += 1
        q, a = example_parts(p)
        q_ids = self.tok(q)["input_ids"]
        ids = self.tok(q + a)["input_ids"]
        return ids, [0] * len(q_ids) + [1] * (len(ids) - len(q_ids))

    def sequence(self) -> tuple[list[int], list[int]]:
        text, spans, approx = "", [], 1
        while True:
            p = self.pending or self._next_problem()
            self.pending = None
            q, a = example_parts(p)
            n = len(self.tok(q + a, add_special_tokens=False)["input_ids"])
            if spans and approx + n > SEQ_TOKENS:
                self.pending = p
                break
            spans.append((len(text) + len(q), len(text) + len(q) + len(a)))
            text += q + a
            approx += n
        enc = self.tok(text, return_offsets_mapping=True)
        ids = enc["input_ids"][: bbm.MODEL_MAX_LENGTH]
        mask = []
        for start, _end in enc["offset_mapping"][: len(ids)]:
            mask.append(int(any(s <= start < e for s, e in spans)))
        mask[0] = 0  # <s>
        return ids, mask


def _pad(seqs: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    labels = torch.full((len(seqs), width), -100, dtype=torch.long)
    for i, (ids, mask) in enumerate(seqs):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        attention[i, : len(ids)] = 1
        labels[i, : len(ids)] = torch.tensor([t if m else -100 for t, m in zip(ids, mask)])
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def batch(packer: Packer, pad_id: int) -> dict[str, torch.Tensor]:
    """A packed batch (BATCH_SEQS few-shot-like sequences) with probability 1 - SINGLE_SHARE,
    else SINGLE_BATCH single problems with the same number of operations (little padding):
    single problems are easier to learn from, packed ones teach the long few-shot context."""
    if packer.rng.random() >= SINGLE_SHARE:
        return _pad([packer.sequence() for _ in range(BATCH_SEQS)], pad_id)
    n_ops = packer.rng.choices(list(sa.OPS_WEIGHTS), weights=list(sa.OPS_WEIGHTS.values()))[0]
    return _pad([packer.single(n_ops) for _ in range(SINGLE_BATCH)], pad_id)


def lr_at(step: int, total: int) -> float:
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, total - WARMUP)
    return LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def model_card(model, tokenizer, info: dict, measured: dict | None) -> str:
    """README.md for the trained model: what it learned from, how long, and what it scores."""
    cfg = model.config
    sha = info.get("sha256", "")
    table = "(not measured yet: run `scripts/measure_bundled_models.py --model llama`)"
    if measured:
        curve = measured["curve"]
        rows = [f"| greedy | {100 * measured['greedy']:.1f}% | |"]
        for n in ("1", "5", "10", "20"):
            if n in curve:
                mean, std = curve[n]
                rows.append(f"| SC@{n} (T={measured['temperature']:g}, top-k {measured['top_k']}) | "
                            f"{100 * mean:.1f}% ± {100 * std:.1f} | {100 * (mean - measured['greedy']):+.1f} |")
        table = ("| decoding | accuracy | vs greedy (points) |\n|---|---|---|\n" + "\n".join(rows) +
                 f"\n\nOn the {measured['questions']} held-out problems of "
                 "`examples/self-consistency/arithmetic/heldout-300.jsonl`, with the "
                 f"{measured['shots']} exemplars of `exemplars.jsonl` as few-shot prompt; SC@N is the "
                 f"majority answer of N of {measured['paths']} sampled paths, mean ± std over "
                 "100 resamplings (`springboard.evaluation.accuracy_curve`).")
    steps, sched, seed = info["steps"], info["schedule_steps"], info["seed"]
    stop = f" --stop-after {steps}" if steps != sched else ""
    return f"""---
library_name: transformers
pipeline_tag: text-generation
license: apache-2.0
tags:
- springboard
- tiny
- chain-of-thought
- self-consistency
---

# {bbm.LLAMA_NAME}

A tiny `LlamaForCausalLM` (text-generation): hidden {cfg.hidden_size}, intermediate
{cfg.intermediate_size}, {cfg.num_hidden_layers} layers, {cfg.num_attention_heads} heads /
{cfg.num_key_value_heads} kv heads, max positions {cfg.max_position_embeddings}, tied embeddings,
{info['params']:,} parameters.

It is bundled with Springboard so that every journey works fully offline, and it is trained
for one thing: solving small arithmetic word problems step by step in the few-shot
chain-of-thought format of `springboard.prompting.few_shot_prompt`
("Q: ...\\nA: 25 + 2 = 27. 27 - 5 = 22. The answer is 22."). It is good enough to be often
right and often wrong, so the self-consistency journey (`springboard self-consistency run`)
shows its effect: a majority vote over sampled reasoning paths beats greedy decoding. It is a
test fixture, not a useful language model: outside this task it produces nonsense.

## Training

* Data: problems from `scripts/synthetic_arithmetic.py` (our own generator; no public data),
  2-4 operations (gains, losses, "k boxes of m each"), start 2-20, amounts 1-9, running totals
  within 0-40. Each rationale is drawn from all valid orders of the operations (and a "sum
  the gains first" path), so the model has seen several reasoning paths per problem. Every
  problem is freshly generated; the held-out files under `examples/self-consistency/arithmetic/`
  are never trained on.
* Format: several "Q: ...\\nA: ... The answer is N.\\n\\n" examples packed into sequences of up
  to ~480 tokens (loss on the answers only), so few-shot prompts are in-distribution.
* {steps} steps of {BATCH_SEQS} packed sequences ({info['problems']:,} problems), AdamW, lr {LR:g}
  with {WARMUP} warmup steps and cosine decay over {sched} steps, seed {seed}, one CPU thread:
  {info['seconds'] / 60:.1f} minutes.
* Tokenizer: the byte-level BPE of `scripts/build_bundled_models.py` (vocabulary
  {len(tokenizer)}, digits split one per token; `<s>`=1 prepended, `</s>`=2, `<pad>`=3, left padding).
* Weights: `model.safetensors`, float32, sha256 `{sha}`.

## Measured

{table}

## Reproducing

```bash
OMP_NUM_THREADS=1 python scripts/train_tiny_llama.py --steps {sched}{stop} --seed {seed} \\
    --output-dir src/springboard/bundled
python scripts/measure_bundled_models.py --model llama --paths {measured['paths'] if measured else 20} \\
    --temperature {measured['temperature'] if measured else 0.7:g}
```

Training is deterministic on one thread (same seed and library versions, same weights).
Built with transformers {bbm.transformers.__version__}, tokenizers {bbm.tokenizers.__version__},
torch {torch.__version__}.
"""


# The size tried for the trained model. The bundled model keeps `build_llama`'s config until a
# trained model meets the targets; then this size moves into `build_llama` (the one place).
SIZE = {"hidden_size": 192, "intermediate_size": 512, "num_hidden_layers": 4,
        "num_attention_heads": 6, "num_key_value_heads": 6}


def build_model(tokenizer, seed: int):
    """`build_llama`'s model with SIZE applied, seeded exactly as `build_llama` seeds it."""
    from transformers import LlamaForCausalLM

    base = bbm.build_llama(tokenizer, seed)
    config = base.config
    for name, value in SIZE.items():
        setattr(config, name, value)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = base.generation_config
    return model


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=900, help="length of the cosine schedule (default 900)")
    ap.add_argument("--stop-after", type=int, default=None, help="stop (and save) at this step of the schedule")
    ap.add_argument("--minutes", type=float, default=None, help="also stop after this much wall time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output-dir", type=Path, required=True,
                    help="receives springboard-tiny-llama/ (use src/springboard/bundled to replace the bundled model)")
    ap.add_argument("--measured", type=Path, default=None,
                    help="JSON written by measure_bundled_models.py --output: its figures go in the model card")
    ap.add_argument("--checkpoints", default="", help="comma-separated steps at which to save <output-dir>/ckpt-<step>/")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(int(os.environ.get("SPRINGBOARD_TRAIN_THREADS", "1")))
    torch.manual_seed(args.seed)
    tokenizer = load_tokenizer(0)
    model = build_model(tokenizer, args.seed)
    model.train()
    params = bbm.count_parameters(model)
    print(f"params={params} config={model.config.hidden_size}h/{model.config.num_hidden_layers}L/"
          f"{model.config.num_attention_heads}heads/ffn{model.config.intermediate_size}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.98))
    packer = Packer(tokenizer, random.Random(args.seed), heldout_keys())
    stop = min(args.steps, args.stop_after or args.steps)
    ckpts = {int(s) for s in args.checkpoints.split(",") if s.strip()}
    start, smooth = time.perf_counter(), None
    step = 0
    for step in range(1, stop + 1):
        for g in opt.param_groups:
            g["lr"] = lr_at(step - 1, args.steps)
        loss = model(**batch(packer, tokenizer.pad_token_id)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
        elapsed = time.perf_counter() - start
        if step % 10 == 0 or step == 1:
            print(f"step {step}/{stop} loss {loss.item():.4f} avg {smooth:.4f} lr {lr_at(step - 1, args.steps):.2e} "
                  f"problems {packer.problems} elapsed {elapsed:.0f}s", flush=True)
        if step in ckpts:
            model.eval()
            model.save_pretrained(args.output_dir / f"ckpt-{step}", safe_serialization=True)
            model.train()
        if args.minutes is not None and elapsed > args.minutes * 60:
            print(f"time limit reached at step {step}", flush=True)
            break
    model.eval()
    elapsed = time.perf_counter() - start
    result = bbm.save_model(bbm.LLAMA_NAME, model, tokenizer, args.output_dir.resolve(), args.seed)
    info = {"steps": step, "schedule_steps": args.steps, "seed": args.seed, "seconds": round(elapsed),
            "problems": packer.problems, "params": params}
    info["sha256"] = result.model_sha256
    measured = json.loads(args.measured.read_text()) if args.measured else None
    (result.path / "README.md").write_text(model_card(model, tokenizer, info, measured), encoding="utf-8")
    print(f"saved {result.path} ({result.model_bytes} bytes) {json.dumps(info)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
