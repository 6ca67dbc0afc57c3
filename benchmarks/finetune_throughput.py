"""Fine-tuning throughput: a Springboard training job vs a bare transformers Trainer loop.

Same model (the seeded, randomly initialised ~8.2M-parameter Llama of `_models.py`, or
--model-dir), same data (the shipped harbour log, `examples/domain-adaptation`, cut into
blocks of --block tokens), same hyperparameters, same run. The baseline is what a user
writes by hand: tokenize, cut blocks, `Trainer(...).train()` with no callbacks. The job
is a real `springboard train` job: a worker process that streams metrics, checks for stop
requests, writes progress to the store and checkpoints every epoch. Both rates are input
tokens over the Trainer's own `train_runtime` (the `train()` loop), so model
loading, saving and registration are not timed for either; the job's wall time end to
end is printed too. By default the bare loop saves nothing (`--bare-save epoch` makes it
checkpoint like the job). Last line: `ratio <job tokens/s / bare tokens/s>`.

    .venv/bin/python benchmarks/finetune_throughput.py [--epochs 3] [--block 128]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _models import REPO_ROOT, build_bench_llama

DATA = REPO_ROOT / "examples" / "domain-adaptation" / "train" / "harbour.txt"


def hyperparameters(args: argparse.Namespace) -> dict[str, str]:
    return {"epoch": str(args.epochs), "max_input_length": str(args.block),
            "per_device_train_batch_size": str(args.batch_size), "learning_rate": "0.001",
            "validation_split_ratio": "0", "seed": "0", "peft_type": "none"}


def bare_trainer(model_dir: Path, out: Path, args: argparse.Namespace) -> tuple[float, int]:
    """(tokens/s, tokens) of a plain Trainer over the same blocks."""
    import torch
    from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq,
                              Trainer, TrainingArguments)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = tokenizer(DATA.read_text())["input_ids"] + [tokenizer.eos_token_id]
    blocks = [ids[i:i + args.block] for i in range(0, len(ids), args.block)]
    rows = [{"input_ids": b, "labels": list(b)} for b in blocks if len(b) > 1]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    training = TrainingArguments(
        output_dir=str(out), num_train_epochs=args.epochs, learning_rate=1e-3,
        per_device_train_batch_size=args.batch_size, seed=0, save_strategy=args.bare_save,
        logging_strategy="steps", logging_steps=1, report_to=[], use_cpu=True,
        disable_tqdm=True, include_num_input_tokens_seen="non_padding")
    trainer = Trainer(model=model, args=training, train_dataset=rows,
                      data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True),
                      processing_class=tokenizer)
    result = trainer.train()
    tokens = int(trainer.state.num_input_tokens_seen)
    return tokens / float(result.metrics["train_runtime"]), tokens


def springboard_job(model_dir: Path, args: argparse.Namespace) -> tuple[float, int, float, str]:
    """(tokens/s, tokens, wall seconds end to end, status) of a training job."""
    from springboard.catalog import Catalog, SourceKind
    from springboard.jobs import service
    from springboard.store.registered_models import register
    from springboard.training import jobs as training_jobs

    base = Catalog.load().get("springboard-tiny-llama")
    register(base.model_copy(update={
        "id": "bench-llama", "aliases": [],
        "source": base.source.model_copy(update={"kind": SourceKind.LOCAL, "path": str(model_dir)}),
    }).model_dump(mode="json"))
    job = training_jobs.submit("bench-llama", train=str(DATA), name="bench",
                               hyperparameters=hyperparameters(args))
    final = service.wait(job.id, poll=0.2)
    wall = (final.ended_at - final.created_at).total_seconds() if final.ended_at else float("nan")
    counts = final.counts or {}
    return (float(counts.get("tokens_per_second", 0.0)), int(counts.get("train_tokens", 0)),
            wall, final.status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--block", type=int, default=128, help="tokens per training block")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--bare-save", default="no", choices=["no", "epoch"],
                        help="the bare loop's save_strategy (the job always checkpoints every epoch)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["SPRINGBOARD_HOME"] = str(tmp / "home")
        model_dir = args.model_dir
        if model_dir is None:
            model_dir, params = build_bench_llama(tmp / "llama")
            print(f"model: seeded random Llama, {params / 1e6:.1f}M parameters")
        print(f"data: {DATA.relative_to(REPO_ROOT)}, blocks of {args.block} tokens, "
              f"{args.epochs} epochs, batch {args.batch_size}")
        bare, bare_tokens = bare_trainer(model_dir, tmp / "bare", args)
        print(f"bare Trainer loop:        {bare:9.0f} tokens/s ({bare_tokens} tokens)")
        rate, tokens, wall, status = springboard_job(model_dir, args)
        print(f"springboard training job: {rate:9.0f} tokens/s ({tokens} tokens, {status}; "
              f"{wall:.1f} s end to end incl. process start, load, save, register)")
        if tokens != bare_tokens:
            print(f"warning: the two runs saw different token counts ({tokens} vs {bare_tokens})")
        print(f"ratio {rate / bare:.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
