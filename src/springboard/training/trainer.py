"""The training job's worker side: fine-tune, stream metrics, save, register.

One trainer for every recipe (text2text instruction tuning, causal domain adaptation,
causal instruction/chat tuning), full or LoRA, configured by one `TrainingConfig` built
from the validated hyperparameters (the catalog's defaults merged in; no default is
repeated here). Metrics go to the job's stream and log as `train_loss=0.123` lines, and
the job's counts carry the step, total steps and latest losses (what `train --wait`
shows); at the end, the last logged losses. Checkpoints are written every epoch and every
`save_steps` steps; a stop request ends training after the current step with a checkpoint,
and `resume` continues from it; a successful run removes them unless `keep_checkpoints`.
The result is saved as safetensors (LoRA merged into the base, the adapter kept beside it)
and registered in the catalog under the id `jobs.submit` chose, `<base-id>-ft-<name>`.
Whether there is enough data is checked here again (`minimums`), with the model's tokenizer.
`run` is `fit` (train) then `finish` (save, register); a job placed on a Ray cluster runs
`fit` on each Ray Train worker instead (`distributed`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from springboard import permissions, thread_budget
from springboard.catalog import Catalog, ModelSpec, SourceKind, Task
from springboard.config import get_settings
from springboard.jobs.states import JobStatus
from springboard.jobs.worker import JobContext, Outcome
from springboard.training import checkpoint_sync, checkpoints, data, minimums
from springboard.training.config import TrainingConfig

log = logging.getLogger("springboard.training")


class _Examples:
    """Tokenized examples as a torch-style dataset of dicts."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


def _tokenize(
    tokenizer: Any, spec: ModelSpec, config: TrainingConfig, train_dir: str, validation: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    max_in = config.input_length(spec.context_length)
    if spec.task is Task.TEXT2TEXT:
        max_out = config.output_length(spec.context_length)

        def encode(ex: data.Example) -> dict[str, Any]:
            ids = tokenizer(ex.prompt, truncation=True, max_length=max_in)["input_ids"]
            labels = tokenizer(ex.completion, truncation=True, max_length=max_out)["input_ids"]
            return {"input_ids": ids, "labels": labels}

        def load(path: str) -> list[dict[str, Any]]:
            return [encode(e) for e in data.load_instruction(path, template_from=train_dir)]
    elif config.causal_instructions:
        eos = tokenizer.eos_token or ""

        def encode(ex: data.Example) -> dict[str, Any]:
            prompt = tokenizer(ex.prompt)["input_ids"]
            target = tokenizer(ex.completion + eos, add_special_tokens=False)["input_ids"]
            ids = (prompt + target)[:max_in]
            labels = ([-100] * len(prompt) + target)[:max_in]  # loss on the response only
            return {"input_ids": ids, "labels": labels}

        def load(path: str) -> list[dict[str, Any]]:
            examples = data.load_instruction(
                path, causal=True, chat_dataset=config.chat_dataset, template_from=train_dir
            )
            return [encode(e) for e in examples]
    else:

        def load(path: str) -> list[dict[str, Any]]:
            ids = [
                t
                for text in data.load_domain_text(path)
                for t in tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]
            ]
            blocks = [ids[i : i + max_in] for i in range(0, len(ids), max_in)]
            return [{"input_ids": b, "labels": list(b)} for b in blocks if len(b) > 1]

    unit: minimums.Unit = (
        "example" if spec.task is Task.TEXT2TEXT or config.causal_instructions else "token"
    )

    def found(field: str, location: str, rows: list[dict[str, Any]]) -> minimums.Found:
        amount = len(rows) if unit == "example" else sum(len(r["input_ids"]) for r in rows)
        return minimums.Found(field, location, amount, unit)

    train = load(train_dir)
    val = load(validation) if validation else []
    # checked at submit too; here with the model's own tokenizer, which submit may not have
    minimums.require(
        config,
        found("train", train_dir, train),
        found("validation", validation, val) if validation else None,
        block=max_in,
    )
    if not validation:
        train, val = data.split(train, config.validation_split_ratio, config.train_data_split_seed)
    return _at_most(train, config.max_train_samples), _at_most(val, config.max_val_samples)


def _at_most(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    return rows if limit < 0 else rows[:limit]


@dataclass
class Fitted:
    """A finished fit, for `finish` to save and register."""

    spec: ModelSpec
    model: Any
    tokenizer: Any
    lora: bool
    final: dict[str, Any]
    lineage_only: dict[str, Any]
    out_dir: Path
    keep_checkpoints: bool


def run(ctx: JobContext) -> Outcome:
    if ctx.row["settings"].get("cluster"):  # DDP over Ray Train workers
        from springboard.training.distributed import run_on_cluster

        return run_on_cluster(ctx)
    fitted = fit(ctx)
    return fitted if isinstance(fitted, Outcome) else finish(ctx, fitted)


def fit(
    ctx: JobContext, spec: ModelSpec | None = None, base_dir: Path | None = None
) -> Fitted | Outcome:
    """Train as the job's settings say; a stopped run is its Outcome. `spec` and `base_dir`
    (the base model's files) are looked up unless given (a Ray Train worker is given them)."""
    import torch
    import torch.distributed as dist
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        EarlyStoppingCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from springboard.artifacts import resolve_model_dir

    settings = ctx.row["settings"]
    hp: dict[str, Any] = settings["hyperparameters"]
    config = TrainingConfig.from_hyperparameters(hp)
    spec = spec or Catalog.load().get(ctx.row["model_id"], ctx.row["model_version"])
    base_dir = base_dir or resolve_model_dir(spec)
    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    auto = AutoModelForSeq2SeqLM if spec.task is Task.TEXT2TEXT else AutoModelForCausalLM
    quantize = config.int8_quantization and torch.cuda.is_available()  # refused on CPU at submit
    if quantize:
        from transformers import BitsAndBytesConfig

        model = auto.from_pretrained(
            base_dir, device_map="auto", quantization_config=BitsAndBytesConfig(load_in_8bit=True)
        )
    else:
        model = auto.from_pretrained(base_dir, dtype=torch.float32)
    # Tied weights (T5's and Llama's lm_head is the embedding) are left out of checkpoints,
    # so resuming found them "missing" and the trainer warned about it. Declared as not
    # saved, the trainer re-ties them on load instead; what is written does not change.
    model._keys_to_ignore_on_save = set(getattr(model, "all_tied_weights_keys", None) or {})
    lora = config.lora
    if lora:
        from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

        if quantize:
            model = prepare_model_for_kbit_training(model)

        model = get_peft_model(
            model,
            LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules="all-linear",
                task_type=TaskType.SEQ_2_SEQ_LM
                if spec.task is Task.TEXT2TEXT
                else TaskType.CAUSAL_LM,
            ),
        )
    train_rows, val_rows = _tokenize(
        tokenizer, spec, config, settings["train"], settings.get("validation")
    )
    log.info("train examples %d, validation examples %d", len(train_rows), len(val_rows))
    ctx.save_counts(
        {**ctx.counts, "train_examples": len(train_rows), "validation_examples": len(val_rows)}
    )
    out_dir = ctx.dir / "checkpoints"
    has_val = bool(val_rows)
    patience = config.early_stopping_patience
    args = TrainingArguments(
        output_dir=str(out_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size or config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float < 1 is a ratio
        weight_decay=config.weight_decay,
        label_smoothing_factor=config.label_smoothing_factor,
        seed=config.seed,
        eval_strategy="epoch" if has_val else "no",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=has_val and patience > 0,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_strategy="steps",
        logging_steps=1,
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        # Under DDP (Ray Train workers, `distributed`) the trainer multiplies the loss by the
        # worker count for any model whose forward takes **kwargs, but T5 computes its own
        # mean and ignores the token count: loss and gradients came out x the workers. Each
        # worker's mean, averaged by DDP, instead. One process (no process group): as ever.
        average_tokens_across_devices=not (dist.is_available() and dist.is_initialized()),
    )
    save_steps = config.save_steps
    shared = settings.get("checkpoint_uri")  # a copy of each checkpoint there too

    class Stream(TrainerCallback):
        """Job metrics and progress from the trainer's logs; checkpoints every `save_steps`;
        a stop request ends training after the current step, with a checkpoint."""

        names: ClassVar[dict[str, str]] = {
            "loss": "train_loss",
            "eval_loss": "val_loss",
            "learning_rate": "learning_rate",
            "train_tokens_per_second": "tokens_per_second",
        }

        def __init__(self) -> None:
            self.progress: dict[str, Any] = {}
            self.saved_at = 0.0
            self.tokens_at_start = 0  # a resumed run starts from the checkpoint's count

        # the parameters keep TrainerCallback's names: the trainer may pass them by keyword
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.tokens_at_start = state.num_input_tokens_seen

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            logs = logs or {}
            for key, name in self.names.items():
                if key in logs and math.isfinite(float(logs[key])):
                    value = round(float(logs[key]), 6)
                    ctx.metric(
                        name, value, step=state.global_step, epoch=round(float(state.epoch or 0), 4)
                    )
                    self.progress[name] = value
            if "epoch" in logs:
                ctx.metric("epoch", round(float(logs["epoch"]), 4), step=state.global_step)
            self.progress.update(
                step=state.global_step,
                total_steps=state.max_steps,
                epoch=round(float(state.epoch or 0), 4),
            )
            if "eval_loss" in logs or time.monotonic() - self.saved_at > 1.0:  # bounded DB writes
                self.saved_at = time.monotonic()
                ctx.save_counts({**ctx.counts, **self.progress})

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if shared:  # before training goes on: a node lost now loses no saved step
                checkpoint_sync.publish(out_dir / f"checkpoint-{state.global_step}", shared)
            # a point in the metrics stream, so a checkpoint is an event even once removed
            ctx.metric("checkpoint", state.global_step, step=state.global_step)

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            thread_budget.revise()  # a job or server started or ended beside this one

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if save_steps and state.global_step % save_steps == 0:
                control.should_save = True
            if ctx.stop_requested():
                control.should_save = True
                control.should_training_stop = True

    stream = Stream()
    callbacks: list[Any] = [stream]
    if has_val and patience > 0:
        callbacks.append(EarlyStoppingCallback(patience, config.early_stopping_threshold))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=_Examples(train_rows),
        eval_dataset=_Examples(val_rows) if has_val else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=None, padding=True),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    if shared:  # a newer checkpoint there (another node's, the last job's) is resumed
        checkpoint_sync.restore_all(shared, out_dir)
    last = checkpoints.newest(out_dir)
    if last is not None:
        log.info("resuming from %s", last.name)
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    state = trainer.state  # step and total from the trainer, even when nothing was logged
    ctx.save_counts(
        {
            **ctx.counts,
            **stream.progress,
            "step": state.global_step,
            "total_steps": state.max_steps,
            "epoch": round(float(state.epoch or 0), 4),
        }
    )
    if ctx.stop_requested():
        return Outcome(
            JobStatus.STOPPED,
            f"stopped at step {trainer.state.global_step}; "
            "the checkpoint is kept: `springboard jobs resume` continues from it",
        )
    runtime = float(result.metrics.get("train_runtime", 0.0))
    tokens = int(trainer.state.num_input_tokens_seen)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    final: dict[str, Any] = {
        "train_runtime": round(runtime, 3),
        "train_tokens": tokens,
    }
    if losses:  # the last logged loss, to read beside the last val_loss
        final["train_loss"] = round(float(losses[-1]), 6)
    if runtime > 0:  # this session's tokens over this session's train() time
        final["tokens_per_second"] = round((tokens - stream.tokens_at_start) / runtime, 1)
    evals = [entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry]
    if evals:
        final["val_loss"] = round(float(evals[-1]), 6)
    if spec.task is Task.TEXT2TEXT and val_rows:
        final["val_rougeL"] = _validation_rouge_l(
            trainer.model, tokenizer, val_rows, config.generation_length(spec.context_length)
        )
        ctx.metric("val_rougeL", final["val_rougeL"], step=trainer.state.global_step)
    # the run's mean loss (what the trainer reports) goes to the lineage only: not a
    # figure to compare with the final val_loss
    mean = {"train_loss_mean": round(float(result.training_loss), 6)}
    return Fitted(
        spec, trainer.model, tokenizer, lora, final, mean, out_dir, config.keep_checkpoints
    )


def finish(ctx: JobContext, fitted: Fitted) -> Outcome:
    """Save and register the fitted model, copy it where asked, remove the checkpoints."""
    settings = ctx.row["settings"]
    hp: dict[str, Any] = settings["hyperparameters"]
    model_id = _save_and_register(
        ctx,
        fitted.spec,
        fitted.model,
        fitted.tokenizer,
        fitted.lora,
        hp,
        fitted.final,
        fitted.lineage_only,
    )
    if settings.get("output"):  # a copy where the user asked (training.jobs.submit's `output`)
        from springboard.artifacts import storage

        storage.upload_tree(get_settings().home / "models" / model_id, settings["output"], "output")
    if settings.get("archive"):  # the managed hub's <output_path>/<job>/output/model.tar.gz
        from springboard.artifacts import model_archive

        model_archive.write(model_id, settings["archive"])
        log.info("wrote %s", settings["archive"])
    removed = checkpoints.after_success(fitted.out_dir, fitted.keep_checkpoints)
    if settings.get("checkpoint_uri") and not fitted.keep_checkpoints:
        checkpoint_sync.remove(settings["checkpoint_uri"])
        removed += f"; also from {settings['checkpoint_uri']}"
    return Outcome(JobStatus.COMPLETED, f"registered {model_id}; {removed}")


def _validation_rouge_l(
    model: Any,
    tokenizer: Any,
    rows: list[dict[str, Any]],
    max_new_tokens: int,
    batch_size: int = 16,
) -> float:
    """Mean ROUGE-L F1 of the model's greedy generations (up to `generation_max_length`
    tokens) against the validation targets: the task metric, beside the loss."""
    import torch

    from springboard.evaluation import mean_scores, rouge_scores

    model.eval()
    pairs = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            inputs = tokenizer.pad(
                {"input_ids": [r["input_ids"] for r in batch]}, return_tensors="pt"
            )
            out = model.generate(  # max_length=None: the model's own default would clash
                **inputs.to(model.device),
                max_new_tokens=max_new_tokens,
                max_length=None,
                do_sample=False,
            )
            texts = tokenizer.batch_decode(out, skip_special_tokens=True)
            pairs += [
                (text, tokenizer.decode(r["labels"], skip_special_tokens=True))
                for text, r in zip(texts, batch, strict=True)
            ]
    return round(mean_scores(rouge_scores(pairs)).rougeL.fmeasure, 4)


def fine_tuned_id(base_id: str, job_name: str) -> str:
    """The registered model's id: `<base-id>-ft-<job name>` (`jobs.submit` passes the job
    id's random part for a job without a name)."""
    return f"{base_id}-ft-{job_name}".lower()


def _save_and_register(
    ctx: JobContext,
    spec: ModelSpec,
    model: Any,
    tokenizer: Any,
    lora: bool,
    hp: dict[str, Any],
    final: dict[str, Any],
    lineage_only: dict[str, Any],
) -> str:
    from springboard.store.registered_models import register

    # chosen at submit (`jobs.submit`), where it was checked to be free
    model_id = ctx.row["outputs"].get("model_id") or fine_tuned_id(spec.id, ctx.row["name"])
    home = get_settings().home
    target = permissions.private_dir(home / "models" / model_id, home)  # files: the worker's umask
    if lora:
        model.save_pretrained(target / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    registered = spec.model_copy(
        update={
            "id": model_id,
            "version": "1.0.0",
            "name": f"{spec.name} fine-tuned ({ctx.row['name']})",
            "aliases": [],
            "source": spec.source.model_copy(
                update={"kind": SourceKind.LOCAL, "path": str(target), "repo_id": None}
            ),
            "eula_required": spec.eula_required,  # a fine-tuned gated model stays gated
            "lineage": {
                "base_model": spec.id,
                "base_version": spec.version,
                "job_id": ctx.job_id,
                "train": ctx.row["settings"]["train"],
                "validation": ctx.row["settings"].get("validation"),
                "hyperparameters": hp,
                "final_metrics": {**final, **lineage_only},
                "adapter": str(target / "adapter") if lora else None,
            },
        }
    )
    register(registered.model_dump(mode="json"))
    ctx.save_counts({**ctx.counts, "model_id": model_id, **final})
    log.info("saved %s to %s and registered it", model_id, Path(target))
    return model_id
