"""Benchmark model fixtures: a seeded, randomly initialised ~8M-parameter Llama.

Nothing is downloaded: the tokenizer files (and chat template) are copied from the bundled
``springboard-tiny-llama`` model and the weights come from a seeded ``torch`` RNG.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_LLAMA = REPO_ROOT / "src" / "springboard" / "bundled" / "springboard-tiny-llama"
# chat_template.jinja: so Springboard and `transformers serve` can both take chat messages
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")

# 10 layers x (4*256^2 attention + 3*256*688 MLP) + 1280*256 tied embedding ~= 8.2M params.
BENCH_LLAMA = dict(vocab_size=1280, hidden_size=256, intermediate_size=688,
                   num_hidden_layers=10, num_attention_heads=4, num_key_value_heads=4,
                   max_position_embeddings=512, tie_word_embeddings=True)
BOS_ID, EOS_ID, PAD_ID = 1, 2, 3  # the bundled Llama tokenizer's special ids


def build_bench_llama(output_dir: str | Path, *, seed: int = 0, **overrides: int) -> tuple[Path, int]:
    """Write a seeded random LlamaForCausalLM (+ the bundled tokenizer) to `output_dir`.

    Returns the directory and the parameter count (tied weights counted once).
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(BUNDLED_LLAMA / name, out / name)
    config = LlamaConfig(**{**BENCH_LLAMA, **overrides}, bos_token_id=BOS_ID,
                         eos_token_id=EOS_ID, pad_token_id=PAD_ID)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID,
                                               pad_token_id=PAD_ID)
    model.save_pretrained(out, safe_serialization=True)
    params = sum(p.numel() for p in model.parameters())
    return out, params
