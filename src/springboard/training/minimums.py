"""How much data a training job needs: measured before the job exists (`jobs.submit`)
and checked again by the worker on what it tokenized (`trainer`), so an empty or
too-small dataset is refused with the minimum, not failed in PyTorch or trained on two
tokens.

The rule, in the unit the recipe trains on — examples, or for domain adaptation tokens
cut into blocks of `max_input_length`:
- `train` needs one example (one full block); two (two blocks) when no validation data is
  given and `validation_split_ratio` > 0, since one is held out;
- `max_train_samples=0` leaves nothing to train on;
- `validation` data needs one example (for text, two tokens: a block to score).

Reading and parsing the files is `data`'s job, tokenizing for training the trainer's; this
module counts and reports. At submit, tokens are counted with the model's `tokenizer.json`
(the fast tokenizer the trainer loads, without importing transformers) when its files are
on this machine; otherwise only blank text is refused there and the worker checks the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from springboard.catalog import ModelSpec, Task
from springboard.catalog.spec import SourceKind
from springboard.errors import Issue, ValidationError
from springboard.training import data
from springboard.training.config import TrainingConfig

CONTEXT = "not enough data to train"
CHUNK = 100_000  # characters tokenized at a time; counting stops once the minimum is met

Unit = Literal["example", "token"]


@dataclass(frozen=True)
class Found:
    """What one channel holds, in the unit its recipe trains on."""

    field: str  # the channel: `train` or `validation`
    location: str
    amount: int | None  # None: not counted here (no tokenizer on this machine)
    unit: Unit


def shortfalls(
    config: TrainingConfig, train: Found, validation: Found | None, *, block: int
) -> list[Issue]:
    """Every way `train` and `validation` fall short of what a job needs (empty: enough).
    `block` is the tokens per block of domain adaptation (`TrainingConfig.input_length`)."""
    ratio = config.validation_split_ratio
    splitting = validation is None and ratio > 0
    tokens = train.unit == "token"
    one = block if tokens else 1
    need = one * (2 if splitting else 1)
    issues = []
    if train.amount is not None and train.amount < need:
        why = f"blocks of max_input_length={block} tokens" if tokens else ""
        if splitting:
            held = "one block" if tokens else "one"
            why += f"{', and ' if why else ''}validation_split_ratio={ratio} holds {held} out"
        fixes = ["add text, or lower max_input_length" if tokens else "add examples"]
        if splitting and train.amount >= one:  # enough without the split
            fixes.append("give validation data, or set validation_split_ratio=0")
        issues.append(
            Issue(
                train.field,
                f"found {_count(train.amount, train.unit)} in {train.location}; training needs "
                f"at least {_count(need, train.unit)}" + (f" ({why})" if why else ""),
                train.location,
                "; ".join(fixes),
            )
        )
    if config.max_train_samples == 0:
        issues.append(
            Issue(
                "max_train_samples",
                "0 leaves no example to train on",
                0,
                "use -1 (all of them) or a positive number",
            )
        )
    if validation is not None:
        need = 2 if validation.unit == "token" else 1
        if validation.amount is not None and validation.amount < need:
            issues.append(
                Issue(
                    validation.field,
                    f"found {_count(validation.amount, validation.unit)} in {validation.location}; "
                    f"validation data needs at least {_count(need, validation.unit)}",
                    validation.location,
                    "add "
                    + ("text" if validation.unit == "token" else "examples")
                    + ", or train without validation data",
                )
            )
    return issues


def require(config: TrainingConfig, train: Found, validation: Found | None, *, block: int) -> None:
    """Raise `ValidationError` with every shortfall of `shortfalls`."""
    issues = shortfalls(config, train, validation, block=block)
    if issues:
        raise ValidationError(issues, context=CONTEXT)


def measure(
    spec: ModelSpec,
    config: TrainingConfig,
    location: str,
    field: str,
    *,
    template_from: str | None = None,
) -> Found:
    """Read a channel as its job will (every record checked, see `data`) and count it."""
    if spec.task is Task.TEXT2TEXT:
        examples = data.load_instruction(location, field=field, template_from=template_from)
    elif config.causal_instructions:
        examples = data.load_instruction(
            location,
            causal=True,
            chat_dataset=config.chat_dataset,
            field=field,
            template_from=template_from,
        )
    else:
        return _measure_text(spec, config, location, field)
    return Found(field, location, len(examples), "example")


def _measure_text(spec: ModelSpec, config: TrainingConfig, location: str, field: str) -> Found:
    texts = data.load_domain_text(location, field=field)
    counter = token_counter(spec)
    amount: int | None
    if counter is None:  # no tokenizer here: refuse blank text, the worker counts tokens
        amount = None if any(text.strip() for text in texts) else 0
    else:
        amount = count_tokens(texts, counter, enough=2 * config.input_length(spec.context_length))
    return Found(field, location, amount, "token")


def count_tokens(texts: Iterable[str], counter: Callable[[str], int], *, enough: int) -> int:
    """Tokens the trainer makes of `texts` (each with its end-of-sequence token); a long
    text is counted a chunk at a time, and counting stops at `enough`."""
    total = 0
    for text in texts:
        for start in range(0, max(len(text), 1), CHUNK):
            total += counter(text[start : start + CHUNK])
            if total >= enough:
                return total
    return total


def token_counter(spec: ModelSpec) -> Callable[[str], int] | None:
    """Tokens per text as the trainer counts them (the tokenizer's ids plus the
    end-of-sequence token it appends), or None when the tokenizer is not on this machine."""
    file = _tokenizer_file(spec)
    if file is None:
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(file))
    return lambda text: len(tokenizer.encode(text).ids) + 1


def _tokenizer_file(spec: ModelSpec) -> Path | None:
    """The model's `tokenizer.json` if it is on this machine; never downloads."""
    source = spec.source
    if source.kind is SourceKind.BUNDLED:
        from springboard.artifacts.resolve import bundled_root

        folder: Path | None = bundled_root() / (source.path or "")
    elif source.kind is SourceKind.LOCAL:
        folder = Path(source.path).expanduser() if source.path else None
    else:
        from huggingface_hub import try_to_load_from_cache

        from springboard.artifacts.resolve import hf_cache_dir

        cached = try_to_load_from_cache(
            source.repo_id or "",
            "tokenizer.json",
            cache_dir=hf_cache_dir(),
            revision=source.revision,
        )
        return Path(cached) if isinstance(cached, str) else None
    file = folder / "tokenizer.json" if folder is not None else None
    return file if file is not None and file.is_file() else None


def _count(amount: int, unit: Unit) -> str:
    return f"{amount} {unit}{'' if amount == 1 else 's'}"
