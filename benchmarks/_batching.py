"""Springboard batch diagnostics for the endpoint benchmark: the `springboard_batch_rows`
histogram of GET /metrics (rows per forward pass) over a timed run and, under dynamic
batching, the batch sequence recovered from response headers.
"""

from __future__ import annotations

import re
import statistics

import httpx

from _load import Result, Sample


def header_batches(samples: list[Sample]) -> list[tuple[int, float]]:
    """(rows, model ms) of each batch, in completion order.

    The requests of one batch share their `X-Springboard-Model-Time-Ms` header and finish
    together; two batches that happen to take the same time finish far apart.
    """
    by_time: dict[str, list[float]] = {}
    for s in samples:
        key = s.headers.get("x-springboard-model-time-ms")
        if key is not None:
            by_time.setdefault(key, []).append(s.finished)
    batches: list[tuple[float, int, float]] = []  # (first finish, rows, model ms)
    for key, finished in by_time.items():
        ms = float(key)
        group: list[float] = []
        for t in sorted(finished):
            if group and t - group[0] > ms / 2000:
                batches.append((group[0], len(group), ms))
                group = []
            group.append(t)
        batches.append((group[0], len(group), ms))
    return [(rows, ms) for _, rows, ms in sorted(batches)]


def describe_batches(batches: list[tuple[int, float]]) -> list[str]:
    lines = [f"  batches seen by clients ({len(batches)}, in order): "
             + " ".join(str(rows) for rows, _ in batches)]
    by_size: dict[int, list[float]] = {}
    for rows, ms in batches:
        by_size.setdefault(rows, []).append(ms)
    lines.append("  model time per batch: " + ", ".join(
        f"{rows} rows x{len(ms)}: {statistics.median(ms):.0f} ms "
        f"({rows / statistics.median(ms) * 1000:.1f} req/s)"
        for rows, ms in sorted(by_size.items())))
    return lines


def scrape_batch_rows(metrics_url: str) -> dict[str, float]:
    """The springboard_batch_rows histogram (cumulative buckets, sum, count)."""
    text = httpx.get(metrics_url, timeout=10).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r'springboard_batch_rows_(bucket\{le="([^"]+)"\}|sum|count)\s+(\S+)', line)
        if m:
            out[m.group(2) or m.group(1)] = float(m.group(3))
    return out


def histogram_delta(before: dict[str, float], after: dict[str, float]) -> tuple[float, str]:
    """(forward passes, description) of the histogram's change over the timed run."""
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    count = delta.get("count", 0.0)
    if not count:
        return 0.0, "no forward passes recorded"
    parts, previous, low = [], 0.0, 0
    for edge in (k for k in delta if k not in ("sum", "count")):
        n, previous = delta[edge] - previous, delta[edge]
        if edge == "+Inf":
            label = f">{low}"
        else:
            high = int(float(edge))
            label = str(high) if high == low + 1 else f"{low + 1}-{high}"
            low = high
        if n:
            parts.append(f"{label}: {n:.0f}")
    return count, (f"{count:.0f} forward passes, mean {delta['sum'] / count:.1f} rows; "
                   f"rows per pass {{{', '.join(parts)}}}")


def report_batching(result: Result, before: dict[str, float], after: dict[str, float],
                    rolling_batch: str) -> None:
    passes, text = histogram_delta(before, after)
    # Dynamic batching observes one pass per batch (at most one per request); continuous
    # batching one per decoding step (about NEW_TOKENS per request).
    continuous = rolling_batch == "continuous" or (rolling_batch != "dynamic"
                                                   and passes > result.requests)
    scheduler = "continuous (per decoding step)" if continuous else "dynamic (per batch)"
    print(f"  scheduler {scheduler}: /metrics springboard_batch_rows: {text}")
    if not continuous:
        for line in describe_batches(header_batches(result.samples)):
            print(line)
