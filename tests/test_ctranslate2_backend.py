"""The compiled CPU backend (CTranslate2): same greedy text as the torch path at float32,
the same quality at int8, a cache that compiles once and again only when the source
changes, bad settings refused by name, and an endpoint deployed on it.

One compiled-model cache (a module home) serves every test here, so each variant of the
two bundled models is converted once per run; the endpoint test deploys into that home
and so loads its variant from the cache."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from springboard.catalog import Catalog
from springboard.compiled import check_quantize, compile_model, supported_quantizations
from springboard.config import reset_settings
from springboard.errors import ValidationError
from springboard.evaluation import mean_scores, rouge_scores
from springboard.evaluation.answers import extract_answer
from springboard.evaluation.voting import same_answer
from springboard.inference import Generator, LoadOptions
from springboard.inference.params import DecodingParams
from springboard.serving.settings import DeploymentSettings

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "springboard" / "bundled"
ARITHMETIC = ROOT / "examples" / "self-consistency" / "arithmetic"
T5, LLAMA = "springboard-tiny-t5", "springboard-tiny-llama"
COT = {"max_new_tokens": 64, "stop": ["\n\n", "\nQ:"], "return_full_text": False}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("ct2-home")


@pytest.fixture
def env(home, monkeypatch):
    """Point this test at the module's SPRINGBOARD_HOME, where the compiled cache lives."""
    monkeypatch.setenv("SPRINGBOARD_HOME", str(home))
    reset_settings()
    return home


@pytest.fixture(scope="module")
def compiled(home):
    """`compiled(model, quantize)`: the ctranslate2 Generator, loaded once per module."""
    loaded: dict[tuple[str, str], Generator] = {}

    def get(model_id: str, quantize: str) -> Generator:
        if (model_id, quantize) not in loaded:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SPRINGBOARD_HOME", str(home))
                reset_settings()
                options = LoadOptions(backend="ctranslate2", quantize=quantize)
                loaded[model_id, quantize] = Generator.from_catalog(model_id, options=options)
            reset_settings()
        return loaded[model_id, quantize]

    return get


def _heldout(n: int) -> list[tuple[str, str]]:
    lines = (ROOT / "examples" / "instructions" / "heldout.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [(r["prompt"], r["target"]) for r in records[:n]]


def _problems(n: int) -> tuple[list[str], list[str]]:
    from springboard.prompting import Prompter

    prompter = Prompter.load("chain-of-thought", ARITHMETIC / "exemplars.jsonl", shots=2)
    lines = (ARITHMETIC / "heldout-300.jsonl").read_text().splitlines()
    questions = [json.loads(line) for line in lines[:n]]
    return [prompter.render(q) for q in questions], [str(q["answer"]) for q in questions]


def _summaries(generator, prompts):
    return generator.predict({"text_inputs": prompts, "max_length": 48})["generated_texts"]


def _rouge_l(generator, pairs) -> float:
    texts = _summaries(generator, [p for p, _ in pairs])
    scores = rouge_scores(zip(texts, [r for _, r in pairs], strict=True))
    return mean_scores(scores).rougeL.fmeasure


def _accuracy(generator, prompts, gold) -> float:
    answers = generator.predict({"inputs": prompts, "parameters": COT})
    right = [
        same_answer(extract_answer(a["generated_text"]), g)
        for a, g in zip(answers, gold, strict=True)
    ]
    return sum(right) / len(right)


# -- parity and quality --------------------------------------------------------------------


def test_float32_greedy_text2text_equals_the_torch_path(compiled, t5_generator):
    prompts = [p for p, _ in _heldout(40)]
    assert type(compiled(T5, "float32")).__name__ == "CTranslate2Generator"
    assert _summaries(compiled(T5, "float32"), prompts) == _summaries(t5_generator, prompts)


@pytest.mark.slow
def test_float32_greedy_causal_equals_the_torch_path_with_details(compiled, llama_generator):
    prompts, _ = _problems(24)
    payload = {"inputs": prompts, "parameters": {**COT, "details": True}}
    assert compiled(LLAMA, "float32").predict(payload) == llama_generator.predict(payload)


@pytest.mark.slow
def test_int8_keeps_the_quality_of_float32(compiled):
    pairs = _heldout(80)
    rouge = {q: _rouge_l(compiled(T5, q), pairs) for q in ("float32", "int8")}
    assert abs(rouge["int8"] - rouge["float32"]) <= 0.02, rouge
    prompts, gold = _problems(100)
    accuracy = {q: _accuracy(compiled(LLAMA, q), prompts, gold) for q in ("float32", "int8")}
    assert abs(accuracy["int8"] - accuracy["float32"]) <= 0.02, accuracy


def test_a_seeded_sampled_request_gives_the_same_text_every_run(compiled):
    prompts, _ = _problems(1)
    payload = {
        "inputs": prompts * 2,
        "parameters": {**COT, "do_sample": True, "temperature": 1.0, "seed": 3},
    }
    generator = compiled(LLAMA, "float32")
    first = generator.predict(payload)
    assert generator.predict(payload) == first
    assert first[0] == first[1]


def test_batch_work_runs_chunks_side_by_side_with_the_same_answers(home, compiled):
    import torch

    def parallel(model_id: str) -> Generator:  # as a job loads it, with two threads
        threads = torch.get_num_threads()
        torch.set_num_threads(2)
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SPRINGBOARD_HOME", str(home))
                reset_settings()
                options = LoadOptions(
                    backend="ctranslate2", quantize="float32", parallel_batches=True
                )
                return Generator.from_catalog(model_id, options=options)
        finally:
            torch.set_num_threads(threads)
            reset_settings()

    t5 = parallel(T5)
    assert t5.model.engine.num_translators == 2  # two chunks at a time, a thread each
    prompts = [p for p, _ in _heldout(40)]  # three chunks of 16 rows
    assert _summaries(t5, prompts) == _summaries(compiled(T5, "float32"), prompts)
    # a seeded request runs one batch at a time: the same text as ever
    problems, _ = _problems(1)
    seeded = {
        "inputs": problems * 2,
        "parameters": {**COT, "do_sample": True, "temperature": 1.0, "seed": 3},
    }
    assert parallel(LLAMA).predict(seeded) == compiled(LLAMA, "float32").predict(seeded)


def test_rows_decode_the_same_with_and_without_the_per_token_control(compiled):
    # Rows sharing one budget, without stop strings or a listener, run without the
    # engine's per-step callback; a row with another budget brings the callback back.
    llama = compiled(LLAMA, "float32")
    prompts, _ = _problems(6)
    plain = DecodingParams(max_new_tokens=24)
    alone = llama.generate(prompts, plain)
    mixed = llama.generate(prompts, [plain] * 5 + [DecodingParams(max_new_tokens=8)])
    assert [r.texts for r in mixed[:5]] == [r.texts for r in alone[:5]]
    assert mixed[5].output_tokens == [8] and alone[5].output_tokens == [24]
    assert alone[5].texts[0].startswith(mixed[5].texts[0])


def test_parameters_the_engine_cannot_honour_are_refused_by_name(compiled):
    from springboard.inference.params import DecodingParams

    with pytest.raises(ValidationError) as caught:
        compiled(LLAMA, "float32").plan(
            ["Q: 1 + 1?"], DecodingParams(logprobs=2, presence_penalty=0.5)
        )
    assert {i.field for i in caught.value.issues} == {"logprobs", "presence_penalty"}
    assert all("ctranslate2 backend" in i.message for i in caught.value.issues)


def test_auto_follows_the_catalog_preset_and_torch_takes_no_quantization(env, compiled):
    compiled(T5, "float32")  # cached: the bundled models' preset names ctranslate2
    chosen = Generator.from_catalog(T5, options=LoadOptions(backend="auto"))
    assert (chosen.backend, chosen.quantization, chosen.variant.cache_hit) == (
        "ctranslate2",
        "float32",
        True,
    )
    with pytest.raises(ValidationError) as caught:
        Generator.from_catalog(T5, options=LoadOptions(backend="torch", quantize="int8"))
    assert caught.value.issues[0].field == "quantize"


# -- the compiled cache ------------------------------------------------------------------


def test_compiles_once_and_again_when_the_source_changes(env, tmp_path):
    spec = Catalog.load().get(T5)
    source = tmp_path / "t5"
    shutil.copytree(BUNDLED / T5, source)
    built = compile_model(spec, source, "int8_float32")
    assert not built.cache_hit and built.path.name.startswith("ctranslate2-int8_float32-")
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["seconds"] > 0 and len(manifest["source_sha256"]) == 64
    started = time.monotonic()
    again = compile_model(spec, source, "int8_float32")
    assert again.cache_hit and time.monotonic() - started < 1
    (source / "config.json").touch()  # a new mtime alone: the sha256 says it is the same
    assert compile_model(spec, source, "int8_float32").cache_hit
    config = json.loads((source / "config.json").read_text())
    (source / "config.json").write_text(json.dumps({**config, "dropout_rate": 0.2}))
    rebuilt = compile_model(spec, source, "int8_float32")
    assert not rebuilt.cache_hit
    assert rebuilt.manifest["source_sha256"] != manifest["source_sha256"]
    assert [p.name for p in rebuilt.path.parent.iterdir() if p.name.startswith(".tmp")] == []


def test_a_quantization_the_machine_cannot_run_is_refused_with_the_allowed_values(env):
    allowed = supported_quantizations()
    assert "float32" in allowed and "int8" in allowed
    with pytest.raises(ValidationError) as caught:
        check_quantize("int3")
    assert caught.value.issues[0].field == "quantize"
    assert all(q in caught.value.issues[0].fix for q in allowed)
    with pytest.raises(ValidationError) as deploy:
        DeploymentSettings.from_env({"OPTION_BACKEND": "ctranslate2", "OPTION_QUANTIZE": "int3"})
    assert deploy.value.issues[0].field == "OPTION_QUANTIZE"
    assert all(q in str(deploy.value) for q in allowed)
    with pytest.raises(ValidationError) as torch_too:
        DeploymentSettings.from_env({"OPTION_QUANTIZE": "int8"})
    assert "ctranslate2 backend only" in str(torch_too.value)
    with pytest.raises(ValidationError) as continuous:
        DeploymentSettings.from_env(
            {"OPTION_BACKEND": "ctranslate2", "OPTION_ROLLING_BATCH": "continuous"}
        )
    assert continuous.value.issues[0].field == "OPTION_BACKEND"


# -- an endpoint on the compiled backend -----------------------------------------------------


@pytest.mark.integration
def test_an_endpoint_deployed_on_ctranslate2_answers_and_says_so(env, compiled):
    from springboard.sdk import Model

    compiled(LLAMA, "int8")  # in the cache already: the server loads it without compiling
    predictor = Model(LLAMA).deploy(
        endpoint_name="fast", env={"OPTION_BACKEND": "ctranslate2", "OPTION_QUANTIZE": "int8"}
    )
    try:
        question = "Q: Maya has 12 apples. Maya buys 5 more apples. How many apples now?\nA:"
        answer = predictor.predict({"inputs": question, "parameters": COT})
        assert "The answer is" in answer[0]["generated_text"]
        streamed = "".join(predictor.stream({"inputs": question, "parameters": COT}))
        assert streamed.strip() == answer[0]["generated_text"].strip()
        info = httpx.get(predictor.url + "/info", timeout=10).json()
        assert (info["settings"]["backend"], info["settings"]["quantize"]) == (
            "ctranslate2",
            "int8",
        )
        metrics = httpx.get(predictor.url + "/metrics", timeout=10).text
        assert 'springboard_backend_info{backend="ctranslate2",quantization="int8"} 1.0' in metrics
        log = (env / "endpoints" / "fast" / "server.log").read_text()
        assert "from the compiled-model cache" in log and "compiling" not in log
    finally:
        predictor.delete_endpoint()
