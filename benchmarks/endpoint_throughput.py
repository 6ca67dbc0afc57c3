#!/usr/bin/env python
"""Endpoint throughput: a Springboard endpoint vs. the naive one-request-at-a-time server,
and its OpenAI chat API streamed vs. not, beside `transformers serve`.

    .venv/bin/python benchmarks/endpoint_throughput.py --clients 16
        [--rolling-batch auto|continuous|dynamic] [--batch-wait-ms MS] [--model-dir DIR]
        [--chat-rounds 3] [--torch-threads N] [--backend torch|ctranslate2 [--quantize int8]]

Fully offline and loopback only. It

1. builds a seeded, randomly initialised ~8M-parameter LlamaForCausalLM in a temp dir,
   with the bundled springboard-tiny-llama tokenizer and chat template (or uses
   `--model-dir DIR`);
2. deploys a Springboard endpoint on it (catalog entry springboard-tiny-llama,
   `--model-dir` overriding its weights) in an isolated SPRINGBOARD_HOME, with
   OPTION_MAX_ROLLING_BATCH_SIZE=clients, and OPTION_ROLLING_BATCH / SPRINGBOARD_BATCH_WAIT_MS
   when given; the endpoint is always deleted at the end;
3. starts the naive baseline (`benchmarks/naive_server.py`: transformers
   `model.generate`, one request at a time, greedy, no batching) on the same directory;
4. when `transformers serve` can run here (it needs `transformers[serving]`, i.e. the
   `openai` package), also drives `transformers serve --continuous-batching` through
   its `/v1/completions` API; otherwise it prints why it was skipped;
5. drives each server with the same closed-loop load: `--clients` concurrent clients,
   `--requests` timed requests in all (after a warm-up that opens every connection), each
   asking for 32 new tokens greedily on prompts of 5-40 words;
6. drives Springboard and `transformers serve` through `/v1/chat/completions` too, each
   prompt the only user message, `max_tokens` 32, temperature 0: `--chat-rounds` rounds of
   `--requests` non-streamed and `--requests` streamed (`stream_options.include_usage`;
   events read as they arrive, completion tokens from the usage chunk), the order
   alternating per round; prints tokens/s of each, time to first token (the first chunk
   with content) p50/p95, tokens per reply and finish reasons, what in each reply differs
   from OpenAI's shape, and whether streamed text equals non-streamed text;
7. prints per server requests/s, output tokens/s, p50/p95 latency and peak server RSS
   (sampled every 50 ms, children included), then a line per chat server, the line
   `streaming/non-streaming tokens/s <x>` (Springboard's, the median over rounds) and
   last a line `ratio <springboard_rps / naive_rps>`.

For the Springboard endpoint it also prints how it batched: the `springboard_batch_rows`
histogram of GET /metrics (rows per forward pass: per decoding step under continuous
batching, per batch under dynamic batching) and, under dynamic batching, the exact batch
sequence recovered from response headers (the requests of one batch share their
`X-Springboard-Model-Time-Ms`). CPU used by the server, by this process (the load
generator), by other processes and hypervisor steal time during each run are reported,
since all of them skew the numbers on a shared machine. Every server gets
`--torch-threads` OpenMP threads (default: the CPUs less one), and every server is
stopped at the end, also on SIGTERM; `--phase-timeout` bounds each server's loads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import psutil  # noqa: E402
from _batching import report_batching, scrape_batch_rows  # noqa: E402
from _chat_load import Reply, chat_body, compare_texts, describe_replies, read_chat  # noqa: E402
from _load import NEW_TOKENS, Result, Target, measure, merge, noisy, percentile  # noqa: E402
from _servers import (free_port, log_tail, start_naive, stop_process,  # noqa: E402
                      transformers_serve_problem, wait_http)

MODEL_ID = "springboard-tiny-llama"
WORDS = (
    "the a quick brown fox jumps over lazy dog while teacher counted apples near river bank "
    "on Monday morning Maya walked to market with her friend and bought seven small oranges "
    "because weather was warm sunny so they sat in garden reading about old ships stars maps "
    "after lunch baker repaired wooden ladder carefully before evening train left station"
).split()


# --------------------------------------------------------------------------------------
# Prompts and requests
# --------------------------------------------------------------------------------------


def make_prompts(count: int, seed: int) -> list[str]:
    """`count` prompts of 5-40 words, different lengths, reproducible."""
    rng = random.Random(seed)
    prompts = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 40))]
        prompts.append(" ".join(words).capitalize() + ".")
    return prompts


def springboard_body(prompt: str) -> dict:
    return {"inputs": prompt, "parameters": {"max_new_tokens": NEW_TOKENS, "do_sample": False,
                                             "details": True}}


def header_tokens(response: httpx.Response) -> int:
    return int(response.headers["x-springboard-output-tokens"])


def completion_body(model: str) -> Callable[[str], dict]:
    return lambda prompt: {"model": model, "prompt": prompt, "max_tokens": NEW_TOKENS,
                           "temperature": 0.0}


def usage_tokens(response: httpx.Response) -> int:
    return int(response.json()["usage"]["completion_tokens"])


# --------------------------------------------------------------------------------------
# Chat completions, non-streamed and streamed
# --------------------------------------------------------------------------------------


def time_left(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"{what}: out of time (--phase-timeout)")
    return left


def run_chat(server: str, base_url: str, pid: int, model: str, warmup: list[str],
             rounds: list[list[str]], args: argparse.Namespace, deadline: float,
             metrics_url: str | None = None, rolling_batch: str = "dynamic"
             ) -> list[tuple[Result, Result]]:
    """`/v1/chat/completions` with the same load non-streamed and streamed: prints what it
    gave and returns the (non-streamed, streamed) results of each round.

    Round i sends the prompts `rounds[i]` both ways, non-streamed first in even rounds and
    streamed first in odd ones, so neither a drift of the machine's load nor a server's
    prefix cache favours one way.
    """
    url = f"{base_url}/v1/chat/completions"
    plain = Target(f"{server}-chat", url, pid,
                   chat_body(model, stream=False, max_tokens=NEW_TOKENS), read=read_chat)
    sse = Target(f"{server}-chat-sse", url, pid,
                 chat_body(model, stream=True, max_tokens=NEW_TOKENS), stream=True)
    runs: dict[str, list[Result]] = {plain.name: [], sse.name: []}
    passes: dict[str, dict[str, float]] = {plain.name: {}, sse.name: {}}
    for i, timed in enumerate(rounds):
        for target in (plain, sse) if i % 2 == 0 else (sse, plain):
            before: dict[str, float] = {}
            scrape = (lambda: before.update(scrape_batch_rows(metrics_url))) if metrics_url \
                else None
            runs[target.name].append(measure(
                target, warmup + timed, len(warmup), args.clients, args.timeout,
                time_left(deadline, target.name), after_warmup=scrape))
            if metrics_url:
                total = passes[target.name]
                for key, value in scrape_batch_rows(metrics_url).items():
                    total[key] = total.get(key, 0.0) + value - before.get(key, 0.0)
    pairs = list(zip(runs[plain.name], runs[sse.name]))
    results = merged(pairs)
    for r in results:
        print(r.line())
        if metrics_url:
            report_batching(r, {}, passes[r.name], rolling_batch)
        if r.ttfts:
            print(f"  TTFT (first chunk with content) p50 {percentile(r.ttfts, 50) * 1000:.0f} ms"
                  f"  p95 {percentile(r.ttfts, 95) * 1000:.0f} ms")
        for line in describe_replies([s.reply for s in r.samples if s.reply], NEW_TOKENS):
            print(line)
    texts = [{s.prompt: s.reply.text for s in r.samples if s.reply} for r in results]
    print(compare_texts(*texts))
    print(f"  {server} chat streaming/non-streaming tokens/s by round: " + " ".join(
        f"{b.tps / a.tps:.2f}" + ("~" if noisy(a) or noisy(b) else "") for a, b in pairs)
        + f" (median {stream_ratio(pairs):.2f}"
        + ("; ~ other processes or steal took over 0.1 cores" if any(
            noisy(r) for pair in pairs for r in pair) else "") + ")", flush=True)
    return pairs


def merged(pairs: list[tuple[Result, Result]]) -> tuple[Result, Result]:
    """The non-streamed and the streamed results of all rounds."""
    return merge([a for a, _ in pairs]), merge([b for _, b in pairs])



def stream_ratio(pairs: list[tuple[Result, Result]]) -> float:
    """The median over rounds of streamed tokens/s over non-streamed tokens/s: a round that
    other processes disturbed moves it less than it moves the ratio of the totals."""
    return statistics.median(b.tps / a.tps for a, b in pairs)

# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def default_torch_threads() -> int:
    """Torch threads per server from the CPU budget: all but one of the CPUs we may use.

    Servers run one at a time, but the load generator, a server's HTTP side (its event
    loop, streaming most of all) and other people's processes need CPU too, and an OpenMP
    team whose threads get preempted waits at every barrier: with as many threads as
    cores, one busy core elsewhere made a run ~20x slower on a 2-core machine.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) - 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--requests", type=int, default=None,
                        help="timed requests per server (default max(64, 4 * clients))")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed warm-up requests per server, sent by the same clients, "
                             "so every connection is open before timing (default clients, "
                             "at most 32)")
    parser.add_argument("--rolling-batch", choices=["auto", "continuous", "dynamic"],
                        default=None, help="OPTION_ROLLING_BATCH of the endpoint: its scheduler "
                                           "(default: the endpoint's own default)")
    parser.add_argument("--batch-wait-ms", type=float, default=None,
                        help="SPRINGBOARD_BATCH_WAIT_MS of the endpoint: how long a dynamic batch "
                             "waits for more requests (default: the endpoint's own default)")
    parser.add_argument("--stream-interval-ms", type=float, default=None,
                        help="SPRINGBOARD_STREAM_INTERVAL_MS of the endpoint (default: its default)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="OMP_NUM_THREADS for every server process (default: the CPUs "
                             "this process may use minus one, at least 1; 0 leaves it to the "
                             "environment: unset, torch takes one thread per core)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="use this model directory instead of building the 8M model")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and prompts")
    parser.add_argument("--backend", choices=["torch", "ctranslate2", "auto"], default="torch",
                        help="OPTION_BACKEND of the endpoint (ctranslate2: compiled, CPU)")
    parser.add_argument("--quantize", default=None,
                        help="OPTION_QUANTIZE with --backend ctranslate2 (float32, int8, ...)")
    parser.add_argument("--skip-naive", action="store_true",
                        help="skip the naive baseline (no ratio line)")
    parser.add_argument("--skip-transformers-serve", action="store_true",
                        help="do not try `transformers serve --continuous-batching`")
    parser.add_argument("--chat-rounds", type=int, default=3,
                        help="rounds of /v1/chat/completions load per server, each --requests "
                             "non-streamed and --requests streamed, the order alternating "
                             "(default 3; 0 skips chat)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, s")
    parser.add_argument("--phase-timeout", type=float, default=300.0,
                        help="bound on each server's whole run (all its loads), s")
    parser.add_argument("--dump-samples", type=Path, default=None,
                        help="write every timed request (times, tokens, headers) as JSON Lines")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the temp dir (server logs, SPRINGBOARD_HOME) and print it")
    args = parser.parse_args(argv)
    if args.torch_threads is None:
        args.torch_threads = default_torch_threads()
    if not 0 <= args.torch_threads <= 256:
        parser.error("--torch-threads must be in 0..256")
    if not 1 <= args.clients <= 256:
        parser.error("--clients must be in 1..256")
    args.requests = args.requests or max(64, 4 * args.clients)
    if args.requests < 1 or args.requests > 10_000:
        parser.error("--requests must be in 1..10000")
    args.warmup = min(args.clients, 32) if args.warmup is None else args.warmup
    if not 0 <= args.warmup <= 256:
        parser.error("--warmup must be in 0..256")
    if not 0 <= args.chat_rounds <= 8:
        parser.error("--chat-rounds must be in 0..8")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # `kill` (or make being stopped) still runs the `finally` that stops every server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="springboard-bench-"))
    os.environ["SPRINGBOARD_HOME"] = str(work / "home")  # isolated state; before importing
    os.environ.pop("SPRINGBOARD_DATABASE_URL", None)
    if args.torch_threads:  # inherited by every server started below
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.torch_threads)

    from springboard.config import reset_settings
    from springboard.serving import endpoints

    reset_settings()
    # The first warmup + requests prompts are the completions load; chat round i sends the
    # i-th block of --requests (round 0: the same prompts), each as the only user message.
    everything = make_prompts(args.warmup + args.requests * max(1, args.chat_rounds), args.seed)
    prompts = everything[:args.warmup + args.requests]
    rounds = [everything[args.warmup + i * args.requests:args.warmup + (i + 1) * args.requests]
              for i in range(args.chat_rounds)]
    results: dict[str, Result] = {}
    chats: dict[str, list[tuple[Result, Result]]] = {}  # per server, each chat round
    naive: subprocess.Popen | None = None
    endpoint: str | None = None
    try:
        if args.model_dir:
            model_dir = args.model_dir.expanduser().resolve()
            print(f"model: {model_dir} (given)")
        else:
            from _models import build_bench_llama

            model_dir, params = build_bench_llama(work / "bench-llama-8m", seed=args.seed)
            print(f"model: LlamaForCausalLM, {params / 1e6:.2f}M params, seed {args.seed}, "
                  f"built in {time.monotonic() - t0:.1f} s")
        print(f"load: {args.clients} clients, {args.requests} timed requests (+{args.warmup} "
              f"warm-up) of {NEW_TOKENS} new tokens, greedy, prompts of 5-40 words; "
              f"{psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} per server")

        # The naive server loads while the endpoint deploys.
        if not args.skip_naive:
            naive_port = free_port()
            naive = start_naive(model_dir, naive_port, work / "naive.log")
        env = {"OPTION_MAX_ROLLING_BATCH_SIZE": str(args.clients), "OPTION_BACKEND": args.backend}
        if args.quantize:
            env["OPTION_QUANTIZE"] = args.quantize
        if args.batch_wait_ms is not None:
            env["SPRINGBOARD_BATCH_WAIT_MS"] = f"{args.batch_wait_ms:g}"
        if args.rolling_batch is not None:
            env["OPTION_ROLLING_BATCH"] = args.rolling_batch
        if args.stream_interval_ms is not None:
            env["SPRINGBOARD_STREAM_INTERVAL_MS"] = f"{args.stream_interval_ms:g}"
        endpoint = f"bench-{os.getpid()}"
        info = endpoints.deploy(MODEL_ID, name=endpoint, model_dir=str(model_dir), env=env,
                                timeout=300)
        assert info.url and info.pid
        shown = ("OPTION_BACKEND", "OPTION_QUANTIZE", "OPTION_ROLLING_BATCH",
                 "OPTION_MAX_ROLLING_BATCH_SIZE", "SPRINGBOARD_BATCH_WAIT_MS",
                 "SPRINGBOARD_STREAM_INTERVAL_MS")
        print(f"springboard endpoint {endpoint} at {info.url}: " + ", ".join(
            f"{k}={info.settings[k]}" for k in shown if k in info.settings))
        deadline = time.monotonic() + args.phase_timeout
        sb = Target("springboard", f"{info.url}/invocations", info.pid, springboard_body,
                    header_tokens, metrics_url=f"{info.url}/metrics")
        rolling = info.settings.get("OPTION_ROLLING_BATCH", "dynamic")
        before: dict[str, float] = {}
        results["springboard"] = r = measure(
            sb, prompts, args.warmup, args.clients, args.timeout, time_left(deadline, sb.name),
            after_warmup=lambda: before.update(scrape_batch_rows(sb.metrics_url)))
        print(r.line(), flush=True)
        report_batching(r, before, scrape_batch_rows(sb.metrics_url), rolling)
        if rounds:
            # the model name is the endpoint's name (its catalog id is accepted too)
            chats["springboard"] = pairs = run_chat(
                "springboard", info.url, info.pid, endpoint, prompts[:args.warmup], rounds,
                args, deadline, metrics_url=sb.metrics_url, rolling_batch=rolling)
            results["springboard-chat"], results["springboard-chat-sse"] = merged(pairs)
        endpoints.delete(endpoint)  # frees its CPU and memory before the next server runs
        endpoint = None

        if naive is not None:
            wait_http(f"http://127.0.0.1:{naive_port}/ping", naive, 300, "the naive server")
            nv = Target("naive", f"http://127.0.0.1:{naive_port}/invocations", naive.pid,
                        springboard_body, header_tokens)
            results["naive"] = r = measure(nv, prompts, args.warmup, args.clients,
                                           args.timeout, args.phase_timeout)
            print(r.line(), flush=True)
            stop_process(naive)

        if not args.skip_transformers_serve:
            run_transformers_serve(args, model_dir, prompts, rounds, work, results, chats)
    finally:
        if endpoint is not None:
            with contextlib.suppress(Exception):
                endpoints.delete(endpoint)
        if naive is not None:
            stop_process(naive)
        if args.keep_logs:
            print(f"logs and state kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if args.dump_samples:
        with open(args.dump_samples, "w") as out:
            for r in results.values():
                for s in r.samples:
                    reply = s.reply or Reply(s.tokens)
                    out.write(json.dumps({"server": r.name, "sent": s.sent, "latency": s.latency,
                                          "finished": s.finished, "tokens": s.tokens,
                                          "ttft": reply.ttft, "finish_reason": reply.finish,
                                          "problems": reply.problems,
                                          "headers": s.headers}) + "\n")
    for r in results.values():
        if noisy(r):
            print(f"warning: during the {r.name} run other processes used "
                  f"{r.other_cpu / r.elapsed:.2f} cores and steal took "
                  f"{r.steal / r.elapsed:.2f} cores (of {psutil.cpu_count()}): numbers are noisy")
    print(f"total time {time.monotonic() - t0:.1f} s")
    chat_summary(chats)
    if "naive" in results and "springboard" in results:
        print(f"ratio {results['springboard'].rps / results['naive'].rps:.2f}")
    return 0


def chat_summary(chats: dict[str, list[tuple[Result, Result]]]) -> None:
    """The chat figures side by side, then Springboard's streaming/non-streaming line."""
    for server, pairs in chats.items():
        plain, sse = merged(pairs)
        if not sse.ttfts:
            continue
        print(f"chat {server:<18} non-streaming {plain.tps:6.1f} tok/s  streaming "
              f"{sse.tps:6.1f} tok/s  TTFT p50 {percentile(sse.ttfts, 50) * 1000:4.0f} ms  "
              f"p95 {percentile(sse.ttfts, 95) * 1000:4.0f} ms  streaming/non-streaming "
              f"{stream_ratio(pairs):.2f}  ({plain.tokens / plain.requests:.1f} / "
              f"{sse.tokens / sse.requests:.1f} tok/req)")
    if "springboard" in chats:
        pairs = chats["springboard"]
        plain, sse = merged(pairs)
        print(f"streaming/non-streaming tokens/s {stream_ratio(pairs):.2f} (median of "
              f"{len(pairs)} paired rounds; of the totals {sse.tps / plain.tps:.2f})")


def run_transformers_serve(args: argparse.Namespace, model_dir: Path, prompts: list[str],
                           rounds: list[list[str]], work: Path, results: dict[str, Result],
                           chats: dict[str, list[tuple[Result, Result]]]) -> None:
    problem = transformers_serve_problem()
    if problem:
        print(f"transformers serve: skipped: {problem}")
        return
    port = free_port()
    log_path = work / "transformers-serve.log"
    cli = str(Path(sys.executable).parent / "transformers")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([cli, "serve", "--continuous-batching", "--device", "cpu",
                                 "--host", "127.0.0.1", "--port", str(port), str(model_dir)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ})
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, 180, "transformers serve")
        deadline = time.monotonic() + args.phase_timeout  # all its loads together
        # Started with a model, it serves that one alone, named as given: the path.
        base, model = f"http://127.0.0.1:{port}", str(model_dir)
        ts = Target("transformers-serve-cb", f"{base}/v1/completions", proc.pid,
                    completion_body(model), usage_tokens)
        results["transformers-serve"] = r = measure(ts, prompts, args.warmup, args.clients,
                                                    args.timeout, time_left(deadline, ts.name))
        print(r.line(), flush=True)
        if rounds:
            chats["transformers-serve"] = pairs = run_chat(
                "transformers-serve", base, proc.pid, model, prompts[:args.warmup], rounds,
                args, deadline)
            results["transformers-serve-chat"], results["transformers-serve-chat-sse"] = \
                merged(pairs)
    except Exception as exc:  # an optional comparison: report and carry on
        tail = log_tail(log_path)
        print(f"transformers serve: skipped: {type(exc).__name__}: {exc}"
              + ("\n  log tail:\n    " + tail.replace("\n", "\n    ") if tail else ""))
    finally:
        stop_process(proc)


if __name__ == "__main__":
    sys.exit(main())
