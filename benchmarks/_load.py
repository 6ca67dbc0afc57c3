"""Closed-loop load and what it measures, for the endpoint benchmark.

`measure` sends prompts to one server from `clients` concurrent clients (each sends its
next request when its last one has returned), after an untimed warm-up on the same
connections, and returns a `Result`: requests/s, tokens/s, latency percentiles, the
server tree's peak RSS (sampled every 50 ms) and the CPU used by the server, by this
process (the load generator), by other processes and by hypervisor steal. It knows no
server: a `Target` says how to build a request and read its token count.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psutil

from _chat_load import Reply, read_chat_stream

NEW_TOKENS = 32  # new tokens every request asks for


@dataclass
class Sample:
    sent: float  # monotonic time the request was sent
    latency: float
    tokens: int
    finished: float  # monotonic time the response (its last event, streamed) arrived
    headers: dict[str, str] = field(default_factory=dict)
    prompt: str = ""
    reply: Reply | None = None  # chat requests: text, finish reason, TTFT, shape problems


@dataclass
class Target:
    """One server under test: how to build a request and read the token count.

    `tokens` reads a plain response; a chat target has `read` instead (the whole reply
    checked against OpenAI's shape), and with `stream` its events are read as they arrive.
    """

    name: str
    url: str  # full URL requests are POSTed to
    pid: int
    body: Callable[[str], dict]
    tokens: Callable[[httpx.Response], int] | None = None
    metrics_url: str | None = None
    read: Callable[[httpx.Response], Reply] | None = None
    stream: bool = False


async def _closed_loop(connections: list[httpx.AsyncClient], target: Target,
                       prompts: list[str]) -> tuple[list[Sample], float]:
    """One worker per connection, each sending its next request as soon as its last one
    returns."""
    samples: list[Sample] = []
    order = iter(prompts)

    async def send(client: httpx.AsyncClient,
                   prompt: str) -> tuple[httpx.Response, Reply | None, float, float]:
        sent = time.monotonic()
        if target.stream:  # events read as they arrive; done = the last one's arrival
            async with client.stream("POST", target.url, json=target.body(prompt)) as response:
                if response.status_code != 200:
                    await response.aread()
                    return response, None, sent, time.monotonic()
                reply = await read_chat_stream(response, sent)
            return response, reply, sent, time.monotonic()
        response = await client.post(target.url, json=target.body(prompt))
        done = time.monotonic()
        if response.status_code != 200 or target.read is None:
            return response, None, sent, done
        return response, target.read(response), sent, done

    async def worker(client: httpx.AsyncClient) -> None:
        for prompt in order:  # shared iterator: each prompt is sent once
            response, reply, sent, done = await send(client, prompt)
            if response.status_code != 200:
                raise RuntimeError(f"{target.name}: HTTP {response.status_code}: "
                                   f"{response.text[:300]}")
            tokens = reply.tokens if reply is not None else target.tokens(response)
            samples.append(Sample(sent, done - sent, tokens, done, dict(response.headers),
                                  prompt, reply))

    started = time.monotonic()
    await asyncio.gather(*(worker(client) for client in connections[:len(prompts)]))
    return samples, time.monotonic() - started


def drive(target: Target, warmup: list[str], timed: list[str], clients: int, timeout: float,
          deadline: float, after_warmup: Callable[[], None] | None = None
          ) -> tuple[list[Sample], float]:
    """Warm up (concurrently), then run the timed closed loop on the same connections.

    Each client is its own `httpx.AsyncClient` with one connection, as separate users
    are. One client pooling all the connections costs the load generator itself ~3x the
    CPU per request at 64 connections (measured against a compiled endpoint, 1-token
    replies: 131 vs 207 requests/s, 5.9 vs 3.5 ms of load-generator CPU per request; at 16
    connections both ~300 requests/s): it picks a connection by scanning the pool, and on
    a 2-core machine that CPU is taken from the server under test."""
    async def run() -> tuple[list[Sample], float]:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with contextlib.AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(
                httpx.AsyncClient(timeout=timeout, limits=limits)) for _ in range(clients)]
            if warmup:
                await _closed_loop(connections, target, warmup)
            if after_warmup is not None:
                after_warmup()
            return await _closed_loop(connections, target, timed)

    async def bounded() -> tuple[list[Sample], float]:
        try:
            return await asyncio.wait_for(run(), deadline)
        except TimeoutError:
            raise TimeoutError(f"{target.name}: not done after {deadline:.0f} s "
                               "(the rest of --phase-timeout)") from None

    return asyncio.run(bounded())


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    total = 0
    for proc in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def own_cpu() -> float:
    """CPU seconds this process (the load generator, without its children) used so far."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def tree_cpu(*pids: int) -> float:
    """CPU seconds used so far by the trees of `pids`, each process counted once."""
    procs = {proc.pid: proc for pid in pids for proc in _tree(pid)}
    total = 0.0
    for proc in procs.values():
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


class PeakRSS:
    """Samples the RSS of a process tree every `interval` s in a background thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak = tree_rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss(self.pid))

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.peak = max(self.peak, tree_rss(self.pid))


@dataclass
class Result:
    name: str
    requests: int
    elapsed: float
    tokens: int
    short: int  # requests that got fewer than NEW_TOKENS tokens (early EOS)
    p50: float
    p95: float
    peak_rss: int
    server_cpu: float  # CPU seconds the server tree used during the timed run
    client_cpu: float  # CPU seconds this process (the clients) used during the timed run
    other_cpu: float  # CPU seconds used by processes outside this benchmark (noise)
    steal: float  # CPU seconds the hypervisor took away during the run (noise)
    samples: list[Sample]
    early_by: str = "EOS"  # what ends a reply before NEW_TOKENS

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed

    @property
    def tps(self) -> float:
        return self.tokens / self.elapsed

    @property
    def ttfts(self) -> list[float]:
        """Time to first token of each streamed request (s)."""
        return [s.reply.ttft for s in self.samples if s.reply and s.reply.ttft is not None]

    def line(self) -> str:
        return (f"{self.name:<27} {self.rps:7.2f} req/s  {self.tps:8.1f} tok/s  "
                f"p50 {self.p50 * 1000:7.0f} ms  p95 {self.p95 * 1000:7.0f} ms  "
                f"peak RSS {self.peak_rss / 2**20:6.0f} MiB  "
                f"({self.requests} req in {self.elapsed:.1f} s, "
                f"{self.tokens / self.requests:.1f} tok/req"
                + (f", {self.short} ended early by {self.early_by}" if self.short else "")
                + ")\n"
                + f"  cores used: server {self.server_cpu / self.elapsed:.2f}, "
                f"load generator {self.client_cpu / self.elapsed:.2f}, other processes "
                f"{self.other_cpu / self.elapsed:.2f}, steal {self.steal / self.elapsed:.2f}")


def percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _busy(times: object) -> float:
    return sum(getattr(times, name, 0.0) for name in ("user", "system", "nice", "irq", "softirq"))


def _steal(times: object) -> float:
    return getattr(times, "steal", 0.0)


def measure(target: Target, prompts: list[str], warmup: int, clients: int,
            timeout: float, phase_timeout: float,
            after_warmup: Callable[[], None] | None = None) -> Result:
    """Warm up, then time `prompts[warmup:]`; RSS is sampled over both."""
    me = os.getpid()
    marks: dict[str, float] = {}

    def mark() -> None:  # CPU counters at the start of the timed run
        now = psutil.cpu_times()
        marks.update(all=_busy(now), steal=_steal(now), server=tree_cpu(target.pid),
                     ours=tree_cpu(me, target.pid), client=own_cpu())
        if after_warmup is not None:
            after_warmup()

    with PeakRSS(target.pid) as rss:
        samples, elapsed = drive(target, prompts[:warmup], prompts[warmup:], clients, timeout,
                                 phase_timeout, mark)
    server_cpu = tree_cpu(target.pid) - marks["server"]
    client_cpu = own_cpu() - marks["client"]
    ours = tree_cpu(me, target.pid) - marks["ours"]  # servers are children of this process
    now = psutil.cpu_times()
    other = max(0.0, _busy(now) - marks["all"] - ours)
    latencies = [s.latency for s in samples]
    return Result(target.name, len(samples), elapsed, sum(s.tokens for s in samples),
                  sum(1 for s in samples if s.tokens < NEW_TOKENS),
                  percentile(latencies, 50), percentile(latencies, 95), rss.peak,
                  server_cpu, client_cpu, other, _steal(now) - marks["steal"], samples,
                  early_by="EOS or a stop string" if target.read or target.stream else "EOS")


def merge(runs: list[Result]) -> Result:
    """One result for several timed runs of the same target (times and counts added)."""
    samples = [s for r in runs for s in r.samples]
    latencies = [s.latency for s in samples]
    return Result(runs[0].name, len(samples), sum(r.elapsed for r in runs),
                  sum(r.tokens for r in runs), sum(r.short for r in runs),
                  percentile(latencies, 50), percentile(latencies, 95),
                  max(r.peak_rss for r in runs), sum(r.server_cpu for r in runs),
                  sum(r.client_cpu for r in runs), sum(r.other_cpu for r in runs),
                  sum(r.steal for r in runs), samples, runs[0].early_by)


def noisy(r: Result) -> bool:
    """Whether processes outside the benchmark, or steal, took over 0.1 cores in the run."""
    return r.other_cpu + r.steal > 0.1 * r.elapsed
