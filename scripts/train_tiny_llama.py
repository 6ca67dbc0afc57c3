#!/usr/bin/env python
"""Train the bundled `springboard-tiny-llama` on generated arithmetic word problems.

The model (built by `build_llama` in `scripts/build_bundled_models.py`, with its byte-level
BPE tokenizer whose corpus includes these problems) learns to solve the problems of
`scripts/synthetic_arithmetic.py` step by step, in the exact chain-of-thought format
Springboard prompts with (`springboard.prompting.few_shot_prompt`, the built-in
`chain-of-thought` template): each training sequence holds 1-3 problems back to back as
"Q: ...\nA: ... The answer is N.\n\n", so a prompt with up to two worked exemplars before
the question is in distribution; the loss is on the answers only (rationale, answer and the
blank line). Each training rationale is drawn from all valid orders of the operations, so
the model learns several reasoning paths per problem -- what self-consistency voting feeds on.

Every problem is freshly generated; questions held out in `examples/self-consistency/
arithmetic/` (questions.jsonl, heldout-300.jsonl, exemplars.jsonl) are never trained on.

Deterministic for a given thread count (`SPRINGBOARD_TRAIN_THREADS`, default 1):
`torch.manual_seed(seed)`, data from `random.Random(seed)`, AdamW with warmup and cosine
decay over `--steps`. `--stop-after K` ends a run at step K of the same schedule, and
`--checkpoints` saves the models a run stopped at those steps would (to choose K). After
training the model is measured through Springboard (`measure_bundled_models.py`: greedy
and self-consistency on the 300 held-out problems) and the figures go into its
`training.json` and model card; `--finish DIR` does only that, for a saved model.

Usage::

    python scripts/train_tiny_llama.py --steps 1100 --output-dir /tmp/llama-run
    python scripts/train_tiny_llama.py --steps 1100 \
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

BATCH_PROBLEMS = 64                              # problems per step
PROBLEMS_PER_SEQUENCE = {1: 0.3, 2: 0.3, 3: 0.4}  # k problems per sequence, drawn per step
LR, WARMUP, WEIGHT_DECAY = 3e-3, 40, 0.01
PATHS, TEMPERATURE, TOP_K = 20, 0.7, 40  # how the trained model is measured (self-consistency)


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
    return bbm.build_tokenizer("llama", bbm.llama_corpus(seed))


def example_parts(p: dict) -> tuple[str, str]:
    """The prompt part (no loss) and the answer part (loss) of one example, as few_shot_prompt
    writes them: "Q: {question}\\nA:" and " {rationale} The answer is {answer}.\\n\\n"."""
    return f"Q: {p['question']}\nA:", f" {p['rationale']} The answer is {p['answer']}.\n\n"


class Packer:
    """Seeded stream of training sequences (input ids + loss mask): each holds 1-3 problems
    back to back in the few-shot layout, so a prompt with up to two exemplars before the
    question is in distribution; the loss covers every answer."""

    def __init__(self, tokenizer, rng: random.Random, avoid: set[str]):
        self.tok, self.rng, self.avoid = tokenizer, rng, avoid
        self.problems = 0

    def _next_problem(self) -> dict:
        while True:
            p = sa.problem(self.rng)
            if sa.key(p["question"]) not in self.avoid:
                self.problems += 1
                return p

    def sequence(self, k: int) -> tuple[list[int], list[int]]:
        ids, mask = [self.tok.bos_token_id], [0]
        for _ in range(k):
            q, a = example_parts(self._next_problem())
            q_ids = self.tok(q, add_special_tokens=False)["input_ids"]
            a_ids = self.tok(a, add_special_tokens=False)["input_ids"]
            ids += q_ids + a_ids
            mask += [0] * len(q_ids) + [1] * len(a_ids)
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
    """BATCH_PROBLEMS problems as sequences of k (1-3, drawn per step) problems each."""
    k = packer.rng.choices(list(PROBLEMS_PER_SEQUENCE), weights=list(PROBLEMS_PER_SEQUENCE.values()))[0]
    return _pad([packer.sequence(k) for _ in range(BATCH_PROBLEMS // k)], pad_id)


def lr_at(step: int, total: int) -> float:
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, total - WARMUP)
    return LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def model_card(cfg, vocab_size: int, info: dict, measured: dict | None) -> str:
    """README.md for the trained model: what it learned from, how long, and what it scores."""
    sha = info.get("sha256", "")
    table = "(not measured yet: run `scripts/measure_bundled_models.py --model llama`)"
    if measured:
        curve = {str(n): point for n, point in measured["curve"].items()}
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
  2-4 operations (gains, losses, "k boxes of m each"), start 2-30, amounts 1-20, running totals
  within 0-60. Each rationale is drawn from all valid orders of the operations (and a "sum
  the gains first" path), so the model has seen several reasoning paths per problem. Every
  problem is freshly generated; the held-out files under `examples/self-consistency/arithmetic/`
  are never trained on.
* Format: 1-3 "Q: ...\\nA: ... The answer is N.\\n\\n" examples per sequence (loss on the
  answers only), so prompts with up to two exemplars are in distribution (more are not: use
  `--shots 2` or fewer with this model).
* {steps} steps of {BATCH_PROBLEMS} problems ({info['problems']:,} problems), AdamW, lr {LR:g}
  with {WARMUP} warmup steps and cosine decay over {sched} steps, seed {seed},
  {info.get('threads', 1)} CPU thread(s): {info['seconds'] / 60:.1f} minutes.
* Tokenizer: the byte-level BPE of `scripts/build_bundled_models.py` (vocabulary
  {vocab_size}, digits split one per token and the space before a number a token of its own; `<s>`=1 prepended, `</s>`=2, `<pad>`=3, left padding).
  That a digit is one token wherever it stands matters: with a tokenizer that kept the
  space on a number's first digit (" 1", "3"), this recipe reached 55% greedy in 30 minutes
  (1500 steps) and voting gained only +1.6 points at N=10 (T=0.5; this model: 67% and +5.5 there).
* Weights: `model.safetensors`, float32, sha256 `{sha}`.

## Measured

{table}

## Reproducing

```bash
SPRINGBOARD_TRAIN_THREADS={info.get('threads', 1)} python scripts/train_tiny_llama.py --steps {sched}{stop} --seed {seed} \\
    --output-dir src/springboard/bundled
python scripts/measure_bundled_models.py --model llama --paths {measured['paths'] if measured else PATHS} \\
    --temperature {measured['temperature'] if measured else TEMPERATURE:g} --top-k {measured['top_k'] if measured else TOP_K}
```

Training is deterministic for a given thread count (same seed and library versions, same
weights).
Built with transformers {bbm.transformers.__version__}, tokenizers {bbm.tokenizers.__version__},
torch {torch.__version__}.
"""


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1100, help="length of the cosine schedule (default 1100)")
    ap.add_argument("--stop-after", type=int, default=None, help="stop (and save) at this step of the schedule")
    ap.add_argument("--minutes", type=float, default=None, help="also stop after this much wall time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output-dir", type=Path, required=True,
                    help="receives springboard-tiny-llama/ (use src/springboard/bundled to replace the bundled model)")
    ap.add_argument("--no-measure", action="store_true", help="skip measuring the trained model")
    ap.add_argument("--finish", type=Path, default=None,
                    help="only measure this saved springboard-tiny-llama/ folder and write its card")
    ap.add_argument("--checkpoints", default="", help="comma-separated steps at which to save <output-dir>/ckpt-<step>/")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    threads = int(os.environ.get("SPRINGBOARD_TRAIN_THREADS", "1"))
    torch.set_num_threads(threads)
    if args.finish is not None:
        finish(args.finish, threads)
        return 0
    torch.manual_seed(args.seed)
    tokenizer = load_tokenizer(0)
    model = bbm.build_llama(tokenizer, args.seed)
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
        if step in ckpts:  # the same files a run with --stop-after {step} writes
            model.eval()
            save(model, tokenizer, args.output_dir / f"ckpt-{step}",
                 info_at(step, args, packer, elapsed, params, threads))
            model.train()
        if args.minutes is not None and elapsed > args.minutes * 60:
            print(f"time limit reached at step {step}", flush=True)
            break
    model.eval()
    path = save(model, tokenizer, args.output_dir,
                info_at(step, args, packer, time.perf_counter() - start, params, threads))
    print(f"saved {path}", flush=True)
    if not args.no_measure:
        finish(path, threads)
    return 0


def info_at(step: int, args: argparse.Namespace, packer: Packer, seconds: float, params: int,
            threads: int) -> dict:
    return {"steps": step, "schedule_steps": args.steps, "seed": args.seed, "seconds": round(seconds),
            "problems": packer.problems, "params": params, "threads": threads}


def save(model, tokenizer, output_dir: Path, info: dict) -> Path:
    """The model as `output_dir/springboard-tiny-llama/`, with training.json and its card."""
    result = bbm.save_model(bbm.LLAMA_NAME, model, tokenizer, output_dir.resolve(), info["seed"])
    info = {**info, "sha256": result.model_sha256}
    (result.path / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    (result.path / "README.md").write_text(model_card(model.config, len(tokenizer), info, None),
                                           encoding="utf-8")
    return result.path


def finish(model_dir: Path, threads: int) -> dict:
    """Measure a saved model through Springboard (greedy and self-consistency on the held-out
    problems) and write the figures into its training.json and model card."""
    from transformers import AutoConfig

    from measure_bundled_models import measure_llama
    from measure_bundled_models import parse_args as measure_args

    measured = measure_llama(measure_args([
        "--model", "llama", "--model-dir", str(model_dir), "--paths", str(PATHS),
        "--temperature", str(TEMPERATURE), "--top-k", str(TOP_K), "--threads", str(threads)]))
    figures = {k: v for k, v in measured.items() if k not in ("per_question", "model_dir")}
    info = json.loads((model_dir / "training.json").read_text())
    info["measured"] = figures
    (model_dir / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    vocab = len(PreTrainedTokenizerFast.from_pretrained(model_dir))
    (model_dir / "README.md").write_text(model_card(AutoConfig.from_pretrained(model_dir), vocab,
                                                    info, figures), encoding="utf-8")
    return figures


if __name__ == "__main__":
    sys.exit(main())
