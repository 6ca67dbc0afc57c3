"""The two bundled tiny models: they load offline, generate batched, rebuild reproducibly,
and ship the weights their training record names."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED = REPO_ROOT / "src" / "springboard" / "bundled"
SCRIPT = REPO_ROOT / "scripts" / "build_bundled_models.py"

MODELS = {
    "springboard-tiny-t5": AutoModelForSeq2SeqLM,
    "springboard-tiny-llama": AutoModelForCausalLM,
}
REQUIRED_FILES = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
}
PROMPTS = [
    "Maya has 12 apples.",
    "summarize: On Friday, Leo went to the market and bought 3 plums for Iván.",
]


def _unstamped(path: Path) -> dict:
    """A config file without `transformers_version`, which records the library that wrote
    it (a newer transformers in the allowed range) rather than anything the build chose."""
    config = json.loads(path.read_text())
    config.pop("transformers_version", None)
    return config


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: _sha256(p) for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_files(name: str) -> None:
    d = BUNDLED / name
    files = {p.name for p in d.iterdir()}
    assert files >= REQUIRED_FILES
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))], (
        "pickle weights must not ship"
    )
    assert (d / "model.safetensors").stat().st_size <= 20 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(MODELS))
def test_load_offline_and_generate_batched(name: str) -> None:
    d = BUNDLED / name
    tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
    model = MODELS[name].from_pretrained(d, local_files_only=True).eval()

    text = "Iván paid 3.50 for 12 stamps — café ☕ {ok}?"
    ids = tok(text).input_ids
    assert tok.unk_token_id not in ids  # byte-level: nothing is unknown
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert 1000 <= len(tok) <= 2000 and model.config.vocab_size == len(tok)

    if model.config.is_encoder_decoder:
        assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
        assert tok.padding_side == "right" and ids[-1] == tok.eos_token_id
        assert model.config.decoder_start_token_id == 0
    else:
        assert (tok.unk_token_id, tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (
            0,
            1,
            2,
            3,
        )
        assert tok.padding_side == "left" and ids[0] == tok.bos_token_id
    # transformers 5 leaves unset flags as None and applies do_sample=False at generate() time.
    assert model.generation_config.do_sample in (None, False)
    gen_json = json.loads((d / "generation_config.json").read_text())
    assert not {"do_sample", "temperature", "top_k", "top_p", "typical_p"} & set(gen_json)

    batch = tok(PROMPTS, return_tensors="pt", padding=True)
    assert batch.attention_mask[0].sum() < batch.attention_mask[1].sum()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # e.g. sampling flags set without do_sample, default max_length
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=5, do_sample=False)
    assert out.shape[0] == 2
    if model.config.is_encoder_decoder:
        assert 1 < out.shape[1] <= 6 and (out[:, 0] == 0).all()
    else:
        width = batch.input_ids.shape[1]
        assert out.shape[1] == width + 5
        assert torch.equal(out[:, :width], batch.input_ids)  # left padding keeps prompts aligned
    assert all(isinstance(s, str) for s in tok.batch_decode(out, skip_special_tokens=True))


@pytest.mark.slow
@pytest.mark.integration
def test_build_is_reproducible_and_weights_match_their_training_record(tmp_path: Path) -> None:
    """The build script makes the tokenizers and architectures byte-identically; the
    weights come from the training scripts (minutes, not a test's budget), and each model's
    training.json and card name the sha256 of the weights that ship (a model still at its
    random initialisation must match the fresh build byte for byte)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--output-dir", str(tmp_path), "--seed", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name in MODELS:
        rebuilt, shipped = _hashes(tmp_path / name), _hashes(BUNDLED / name)
        for file in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            assert rebuilt.get(file) == shipped.get(file), (
                f"{name}/{file} differs from a fresh build"
            )
        for file in ("config.json", "generation_config.json"):  # all but the writer's version stamp
            assert _unstamped(tmp_path / name / file) == _unstamped(BUNDLED / name / file), (
                f"{name}/{file} differs from a fresh build"
            )
        record_path = BUNDLED / name / "training.json"
        if not record_path.exists():  # still at its seeded random initialisation
            assert rebuilt == shipped, f"{name}: shipped files differ from a fresh build"
            continue
        record = json.loads(record_path.read_text())
        assert record["sha256"] == shipped["model.safetensors"], (
            f"{name}: weights differ from training.json"
        )
        assert record["sha256"] in (BUNDLED / name / "README.md").read_text()
