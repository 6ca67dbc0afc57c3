"""The engine under streaming, on the bundled models for real: incremental detokenization
is exact (multi-byte characters, space clean-up, stop strings split across tokens, any
chunking); streamed text and logprobs equal the non-streamed answer for the same seeded
request on both models and both batchers; logprobs and presence/frequency penalties
behave; a stream closed early frees its rows.

Nothing of ours is patched; times are only hang guards, never asserted."""

from __future__ import annotations

import asyncio
import copy
import itertools
import math
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from springboard.errors import ClientError, ValidationError
from springboard.inference.detokenize import IncrementalDecoder
from springboard.inference.params import DecodingParams, resolve_decoding
from springboard.inference.rows import RowSampler, RowSpec
from springboard.serving.batcher import Batcher
from springboard.serving.protocol import TimeoutError_
from springboard.serving.service import EndpointService
from springboard.serving.settings import DeploymentSettings

HANG_GUARD = 60.0  # seconds; only ever a guard against a hang, never a measurement
TEXTS = [
    "naïve café ☕ 東京 — déjà vu",
    "Hello , world ! it 's a test . ok ?  end  ",
    "I do n't know , you 're right ' ok ' . x 've",
    "a😀b 🇯🇵 x\n\n y 12 + 5 = 17.",
]
STOPS = [(), ("東京",), ("é",), (" wor", "xyz"), ("☕ 東",), ("'s",), (" ,",), ("= 1", "😀b")]


def params(**values) -> DecodingParams:
    resolved, issues = resolve_decoding(values)
    assert not issues, issues
    return resolved


@pytest.fixture(params=["llama", "t5"])
def generator(request):
    return request.getfixturevalue(f"{request.param}_generator")


@contextmanager
def serving(generator, mode: str, **settings) -> Iterator[EndpointService]:
    service = EndpointService(
        "stream",
        generator.spec,
        DeploymentSettings(rolling_batch=mode, batch_wait_ms=0, **settings),
    )
    service.attach(generator)
    assert service.scheduler == mode
    try:
        yield service
    finally:
        service.shutdown()


def sample(service: EndpointService, series: str) -> float:
    return service.metrics.registry.get_sample_value(series) or 0.0


# -- incremental detokenization ------------------------------------------------------------


def final_text(tokenizer, ids: list[int], stop: tuple[str, ...]) -> str:
    """What `Generator.finish_sequence` does to text: decode, cut at the first stop."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    cuts = [text.find(s) for s in stop if s in text]
    return text[: min(cuts)] if cuts else text


def stream_text(
    tokenizer, ids: list[int], stop: tuple[str, ...], final: str, chunks: Iterator[int]
) -> str:
    decoder = IncrementalDecoder(tokenizer, stop)
    out, i = "", 0
    while i < len(ids):
        size = next(chunks)
        out += decoder.push(ids[i : i + size])
        i += size
        assert final.startswith(out), (out, final)  # never ahead of the final text
    return out + decoder.finish(final)


@pytest.mark.parametrize("clean_up", [False, True])
def test_the_decoder_is_exact_one_token_or_any_chunk_at_a_time(generator, clean_up, caplog):
    tokenizer = generator.tokenizer
    if clean_up:  # a tokenizer that rewrites " ." to "." after decoding
        tokenizer = copy.deepcopy(tokenizer)
        tokenizer.clean_up_tokenization_spaces = True
        tokenizer.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output = True
        assert tokenizer.decode(tokenizer.encode("a . b", add_special_tokens=False)) == "a. b"
    rng = random.Random(0)
    for text in TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False)
        for stop in STOPS:
            final = final_text(tokenizer, ids, stop)
            singles = iter(lambda: 1, None)
            assert stream_text(tokenizer, ids, stop, final, singles) == final
            for _ in range(8):
                chunks = iter(lambda: rng.randint(1, 6), None)
                assert stream_text(tokenizer, ids, stop, final, chunks) == final
    assert "diverged" not in caplog.text


def test_a_stop_string_split_across_tokens_never_leaks(llama_generator):
    tokenizer = llama_generator.tokenizer
    ids = tokenizer.encode("the café is open", add_special_tokens=False)
    decoder = IncrementalDecoder(tokenizer, ("é is",))
    shown = "".join(decoder.push([i]) for i in ids)
    assert shown == "the caf"  # not "the caf\xc3", not "the café", not "the café i"
    assert decoder.finish("the caf") == ""


def test_a_long_sequence_decodes_short_windows(llama_generator):
    tokenizer = llama_generator.tokenizer
    windows: list[int] = []

    class Counting:  # the Hugging Face tokenizer, with the length of each decode recorded
        def __getattr__(self, name):
            return getattr(tokenizer, name)

        def decode(self, ids, **kwargs):
            windows.append(len(ids))
            return tokenizer.decode(ids, **kwargs)

    ids = tokenizer.encode("naïve café ☕ 東京 — déjà vu. " * 20, add_special_tokens=False)
    decoder = IncrementalDecoder(Counting(), ())
    text = "".join(decoder.push([i]) for i in ids)
    assert text + decoder.finish(tokenizer.decode(ids)) == tokenizer.decode(ids)
    assert len(ids) > 400 and max(windows) <= 8


def test_bytes_that_never_form_a_character_are_not_held_forever(llama_generator):
    tokenizer = llama_generator.tokenizer
    byte = next(
        i
        for i in range(len(tokenizer))
        if tokenizer.decode([i, i]) == "\ufffd\ufffd" and tokenizer.decode([i]) == "\ufffd"
    )
    ids = [byte] * 40
    decoder = IncrementalDecoder(tokenizer, ())
    shown = "".join(decoder.push([i]) for i in ids)
    assert shown and set(shown) == {"\ufffd"}
    assert shown + decoder.finish(tokenizer.decode(ids)) == tokenizer.decode(ids)


# -- streamed == not streamed ----------------------------------------------------------------


async def streamed(service: EndpointService, planned) -> dict:
    """Per (item, seq): accumulated text after each event, logprobs, final event."""
    out: dict = {}
    async with service.stream(planned) as stream:
        async for event in stream:
            entry = out.setdefault(
                (event.item, event.seq), {"texts": [""], "logprobs": [], "finals": []}
            )
            entry["texts"].append(entry["texts"][-1] + event.text)
            entry["logprobs"].extend(event.logprobs or [])
            if event.finish_reason is not None:
                entry["finals"].append(event)
    return out


CASES = [("llama", "continuous"), ("llama", "dynamic"), ("t5", "dynamic")]


@pytest.mark.parametrize("model,mode", CASES)
def test_streamed_text_equals_the_answer_without_streaming(request, model, mode):
    generator = request.getfixturevalue(f"{model}_generator")
    free = generator.execute(generator.plan(["Once upon a time"], params(max_new_tokens=12)))
    stop = free[0].texts[0][3:5]  # a stop string the greedy answer reaches
    assert stop.strip(), free
    asks = [
        params(
            max_new_tokens=20,
            do_sample=True,
            seed=7,
            num_return_sequences=2,
            stop=[stop, "xyz"],
            logprobs=3,
        ),
        params(max_new_tokens=12, stop=[stop]),
        params(
            max_new_tokens=16,
            do_sample=True,
            seed=3,
            top_k=20,
            presence_penalty=0.5,
            frequency_penalty=1.0,
        ),
    ]
    prompts = ["Once upon a time", "Once upon a time", "naïve café ☕ 東京"]
    with serving(generator, mode, max_rolling_batch_size=8) as service:

        async def both():
            planned = await service.plan(prompts, asks)
            return await service.generate(planned), await streamed(service, planned)

        results, events = asyncio.run(both())
    reasons = set()
    for item, result in enumerate(results):
        for seq, text in enumerate(result.texts):
            got = events[(item, seq)]
            assert got["texts"][-1] == text, (item, seq)
            assert all(text.startswith(t) for t in got["texts"])  # no stop string leaks
            [final] = got["finals"]
            assert final.output_tokens == result.output_tokens[seq]
            assert final.input_tokens == result.input_tokens
            reason = result.finish_reasons[seq]
            assert final.finish_reason == {"eos_token": "stop", "stop_sequence": "stop"}.get(
                reason, reason
            )
            reasons.add(reason)
            if result.logprobs is None:
                assert got["logprobs"] == []
            else:
                assert got["logprobs"] == result.logprobs[seq]
    assert "stop_sequence" in reasons
    assert results[0].logprobs is not None and results[1].logprobs is None


@pytest.mark.parametrize("model,mode", CASES)
def test_reported_tokens_are_the_output_up_to_the_cut(request, model, mode):
    generator = request.getfixturevalue(f"{model}_generator")
    stop = generator.generate(["Once upon a time"], params(max_new_tokens=12))[0].texts[0][3:5]
    planned = generator.plan(
        ["Once upon a time", "naïve café", "x"],
        [
            params(max_new_tokens=18, do_sample=True, seed=4, num_return_sequences=2, logprobs=0),
            params(max_new_tokens=18, stop=[stop], logprobs=0),
            params(max_new_tokens=3, logprobs=0),
        ],
    )
    seen: dict[tuple[int, int], list[int]] = {}

    def on_token(item, seq, token, logprob):
        seen.setdefault((item, seq), []).append(token)
        assert logprob is not None and logprob.token_id == token

    with serving(generator, mode) as service:
        job = service.batcher.submit(planned, on_token=on_token)
        results = job.future.result(timeout=HANG_GUARD)
    for item, result in enumerate(results):
        for seq, text in enumerate(result.texts):
            ids = seen[(item, seq)]
            count = result.output_tokens[seq]
            assert len(ids) == count  # nothing past the end-of-sequence token or budget
            assert generator.finish_sequence(
                ids, planned[item].max_new_tokens, planned[item].params.stop
            ) == (text, count, result.finish_reasons[seq])
            assert [e.token_id for e in result.logprobs[seq]] == ids


def test_a_pass_run_again_does_not_report_tokens_twice(llama_generator, caplog):
    planned = [
        llama_generator.plan([prompt], params(max_new_tokens=8, do_sample=True, seed=i))
        for i, prompt in enumerate(["Once upon a time", "naïve café"])
    ]
    expected = [llama_generator.execute(items) for items in planned]
    seen: list[list[int]] = [[], []]
    shared = {"steps": 0}

    def fail_the_shared_pass(_module, _args, output):  # the outside world: torch's forward
        if output.logits.shape[0] > 1:
            shared["steps"] += 1
            if shared["steps"] == 4:
                raise RuntimeError("a device error in the shared pass")

    batcher = Batcher(llama_generator, DeploymentSettings(batch_wait_ms=0))
    jobs = [
        batcher.submit(items, on_token=lambda _i, _s, token, _lp, g=g: seen[g].append(token))
        for g, items in enumerate(planned)
    ]
    handle = llama_generator.model.register_forward_hook(fail_the_shared_pass)
    batcher.start()  # both are waiting: they share the first pass, which fails at step 4
    try:
        answers = [job.future.result(HANG_GUARD) for job in jobs]
    finally:
        batcher.stop()
        handle.remove()
    assert "alone" in caplog.text  # the shared pass failed after 3 tokens were reported
    assert answers == expected
    for ids, _items, [result] in zip(seen, planned, answers, strict=True):
        assert llama_generator.finish_sequence(ids, 8, ())[:2] == (
            result.texts[0],
            result.output_tokens[0],
        )
        assert len(ids) == result.output_tokens[0]


# -- logprobs and penalties --------------------------------------------------------------------


def test_logprobs_have_one_entry_per_output_token(generator):
    planned = generator.plan(
        ["Once upon a time", "naïve café"],
        [
            params(max_new_tokens=10, logprobs=5),
            params(max_new_tokens=10, logprobs=0, do_sample=True, seed=1, temperature=1.5),
        ],
    )
    greedy, sampled = generator.execute(planned)
    for result, top in ((greedy, 5), (sampled, 0)):
        [entries] = result.logprobs
        assert len(entries) == result.output_tokens[0]
        for entry in entries:
            assert entry.logprob <= 0 and math.isfinite(entry.logprob)
            assert entry.text == generator.tokenizer.decode([entry.token_id])
            assert len(entry.top) == top
            values = [lp for _, _, lp in entry.top]
            assert values == sorted(values, reverse=True)
    for entry in greedy.logprobs[0]:  # greedy takes the likeliest token
        assert entry.top[0][0] == entry.token_id
        assert entry.top[0][2] == pytest.approx(entry.logprob)
    assert generator.execute(generator.plan(["x"], params(max_new_tokens=4)))[0].logprobs is None


def test_logprobs_are_the_same_on_both_batchers(llama_generator):
    asks = params(max_new_tokens=12, do_sample=True, seed=9, logprobs=4)
    answers = []
    for mode in ("continuous", "dynamic"):
        with serving(llama_generator, mode) as service:

            async def go():
                return await service.generate(await service.plan(["Once upon a time"], asks))

            answers.append(asyncio.run(go())[0])
    continuous, dynamic = answers
    assert continuous.texts == dynamic.texts
    for a, b in zip(continuous.logprobs[0], dynamic.logprobs[0], strict=True):
        assert a.token_id == b.token_id and a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert [t[0] for t in a.top] == [t[0] for t in b.top]


def test_penalties_are_applied_per_row_to_generated_tokens_only():
    rows = [
        RowSpec(False, 1.0, 0, 1.0, None, 8, (), presence_penalty=0.5, frequency_penalty=0.25),
        RowSpec(False, 1.0, 0, 1.0, None, 8, ()),
    ]
    sampler = RowSampler(rows, start=2)  # the first two ids are the prompt
    input_ids = torch.tensor([[3, 3, 1, 1, 2], [3, 3, 1, 1, 2]])
    scores = sampler(input_ids, torch.zeros(2, 5))
    assert scores[0].tolist() == [0.0, -1.0, -0.75, 0.0, 0.0]  # token 3 was only prompted
    assert scores[1].tolist() == [0.0] * 5  # the other row asked for nothing
    counts = sampler.counts([[1, 1, 2], []], 5)  # the continuous path's rows keep lists
    assert sampler.process(torch.zeros(2, 5), counts).tolist() == scores.tolist()


@pytest.mark.parametrize("mode", ["continuous", "dynamic"])
def test_penalties_change_greedy_answers(llama_generator, mode):
    prompts = [
        "Once upon a time",
        "Q: Maya has 12 apples. Maya buys 5 more apples. How many apples does Maya have now?\nA:",
        "1 1 1 1 1 1",
    ]

    def repeats(results) -> int:
        return sum(
            sum(a == b for a, b in itertools.pairwise(ids))
            for ids in ([e.token_id for e in r.logprobs[0]] for r in results)
        )

    with serving(llama_generator, mode) as service:

        async def run(**penalties):
            asks = params(max_new_tokens=24, logprobs=0, **penalties)
            return await service.generate(await service.plan(prompts, asks))

        plain = asyncio.run(run())
        spread = asyncio.run(run(frequency_penalty=2.0))
        present = asyncio.run(run(presence_penalty=2.0))
        repeat = asyncio.run(run(frequency_penalty=-2.0))
    assert [r.texts for r in spread] != [r.texts for r in plain]
    assert [r.texts for r in present] != [r.texts for r in plain]
    assert repeats(spread) < repeats(plain) < repeats(repeat)
    assert [r.texts for r in plain] == [
        r.texts
        for r in llama_generator.execute(llama_generator.plan(prompts, params(max_new_tokens=24)))
    ]  # unset: as before


@pytest.mark.parametrize(
    "values,field",
    [
        ({"logprobs": 21}, "logprobs"),
        ({"logprobs": -1}, "logprobs"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"frequency_penalty": float("nan")}, "frequency_penalty"),
        ({"num_beams": 2, "logprobs": 1}, "logprobs"),
        ({"num_beams": 2, "presence_penalty": 0.5}, "presence_penalty"),
        ({"num_return_sequences": 2, "frequency_penalty": 1.0}, "frequency_penalty"),  # beams
    ],
)
def test_bad_logprobs_and_penalties_name_their_field(values, field):
    _, issues = resolve_decoding(values)
    assert [i.field for i in issues] == [field]


def test_beam_search_cannot_stream(llama_generator):
    beams = params(max_new_tokens=4, num_beams=2)
    planned = llama_generator.plan(["x"], beams)
    with pytest.raises(ClientError) as raised:
        llama_generator.execute(planned, on_token=lambda *_: None)
    assert raised.value.field == "num_beams"
    with serving(llama_generator, "continuous") as service:

        async def go():
            return service.stream(planned)

        with pytest.raises(ClientError) as raised:
            asyncio.run(go())
        assert raised.value.field == "num_beams"
    hand_made = DecodingParams(max_new_tokens=4, num_beams=2, logprobs=2)
    with pytest.raises(ValidationError) as invalid:
        llama_generator.plan(["x"], hand_made)
    assert invalid.value.field == "logprobs"


# -- a stream given up ---------------------------------------------------------------------------


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, f"hung waiting for {what}"
        time.sleep(0.01)


@contextmanager
def held(model, from_call: int) -> Iterator[threading.Event]:
    """Hold the torch model's forward pass (the outside world) from its `from_call`-th
    call on, until the event yielded is set."""
    release = threading.Event()
    calls = 0

    def hook(*_):
        nonlocal calls
        calls += 1
        if calls >= from_call and not release.wait(HANG_GUARD):
            release.set()  # a hang guard: never held twice

    handle = model.register_forward_hook(hook)
    try:
        yield release
    finally:
        release.set()
        handle.remove()


def gone(service: EndpointService, reason: str) -> float:
    return (
        service.metrics.registry.get_sample_value(
            "springboard_cancelled_requests_total", {"reason": reason}
        )
        or 0.0
    )


def test_closing_a_stream_frees_its_continuous_rows(llama_generator):
    asks = params(max_new_tokens=64, do_sample=True, seed=1, num_return_sequences=2, logprobs=0)
    full = llama_generator.generate(["Once upon a time"], asks)[0]
    assert full.finish_reasons == ["length", "length"]  # nothing ends on its own early
    with (
        serving(llama_generator, "continuous") as service,
        held(llama_generator.model, from_call=2) as release,
    ):

        async def two_events_then_leave() -> list:
            stream = service.stream(await service.plan(["Once upon a time"], asks))
            events = [await stream.__anext__(), await stream.__anext__()]  # the prefill's
            assert sample(service, "springboard_active_rows") == 2
            await stream.aclose()
            return events

        events = asyncio.run(two_events_then_leave())
        release.set()
        wait_until(
            lambda: sample(service, "springboard_cancelled_rows_total") == 2,
            "the rows to be cancelled",
        )
        assert sample(service, "springboard_active_rows") == 0
        assert gone(service, "client_gone") == 1
    assert {(e.item, e.seq) for e in events} == {(0, 0), (0, 1)}
    assert [e.logprobs[0].token_id for e in sorted(events, key=lambda e: e.seq)] == [
        lp[0].token_id for lp in full.logprobs
    ]


def test_a_silent_worker_times_out(llama_generator):
    with (
        serving(llama_generator, "continuous", model_server_timeout=0.05) as service,
        held(llama_generator.model, from_call=1) as release,
    ):

        async def no_token_comes():
            planned = await service.plan(["Once upon a time"], params(max_new_tokens=64))
            with pytest.raises(TimeoutError_) as raised:
                async for _ in service.stream(planned):
                    pass
            assert raised.value.field == "SAGEMAKER_MODEL_SERVER_TIMEOUT"

        asyncio.run(no_token_comes())
        release.set()
        wait_until(lambda: sample(service, "springboard_active_rows") == 0, "rows freed")
        assert gone(service, "timeout") == 1


def test_a_consumer_cancelled_mid_stream_frees_its_rows(llama_generator):
    asks = params(max_new_tokens=64, logprobs=0)  # an event per token, text or not
    with (
        serving(llama_generator, "continuous") as service,
        held(llama_generator.model, from_call=2) as release,
    ):

        async def consumer_cancelled():
            planned = await service.plan(["Once upon a time"], asks)
            first = asyncio.Event()

            async def consume():
                async for _ in service.stream(planned):
                    first.set()

            task = asyncio.ensure_future(consume())
            await asyncio.wait_for(first.wait(), HANG_GUARD)  # the prefill's token came,
            task.cancel()  # and the next step is held
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(consumer_cancelled())
        release.set()
        wait_until(
            lambda: sample(service, "springboard_cancelled_rows_total") == 1,
            "the row to be cancelled",
        )
        assert sample(service, "springboard_active_rows") == 0
        assert gone(service, "client_gone") == 1


def test_a_stream_interval_writes_fewer_larger_pieces_of_the_same_text(llama_generator):
    ask = params(max_new_tokens=24)
    with serving(llama_generator, "continuous", stream_interval_ms=200) as service:

        async def both():
            planned = await service.plan(["Once upon a time"], [ask])
            counted = []
            async with service.stream(planned) as stream:
                async for event in stream:
                    counted.append(event)
            return await service.generate(planned), counted

        [result], events = asyncio.run(both())
    assert "".join(e.text for e in events) == result.texts[0]
    assert events[0].text  # the first piece is not held back
    assert events[-1].output_tokens == result.output_tokens[0] == 24
    assert len(events) < 12  # tiny-llama steps take a few ms: several tokens per write
