"""An endpoint's live figures for its page, read from its Prometheus `GET /metrics`:
requests (and requests/s since the page last asked), rows being decoded, the queue,
tokens in and out, and the mean latency.

The rate needs two readings, so the last reading of each endpoint is kept in this
process's memory (a page's own bookkeeping; nothing is written). An endpoint that does
not answer within a second has no figures; the page says so. It does not start,
change or wait for an endpoint.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from springboard.http_server import configured_api_key

_last: dict[str, tuple[float, float]] = {}  # endpoint url -> (monotonic time, requests)
_lock = threading.Lock()


@dataclass(frozen=True)
class Figures:
    requests: int
    requests_per_second: float | None  # None on the first reading
    active_rows: int
    queue_depth: int
    tokens_in: int
    tokens_out: int
    mean_latency_ms: float | None


def _samples(text: str) -> dict[str, float]:
    """Sums of each sample name over its labels (`name{direction=in}` kept apart)."""
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name
            if "direction" in sample.labels:
                key += ":" + sample.labels["direction"]
            sums[key] = sums.get(key, 0.0) + sample.value
    return sums


def read(url: str) -> Figures | None:
    """The endpoint at `url`'s figures now, or None when it does not answer."""
    key = configured_api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(url.rstrip("/") + "/metrics", headers=headers, timeout=1.0)
        response.raise_for_status()
        values = _samples(response.text)
    except (httpx.HTTPError, ValueError):
        return None
    now, requests = time.monotonic(), values.get("springboard_requests_total", 0.0)
    with _lock:
        before = _last.get(url)
        _last[url] = (now, requests)
    rate = None
    if before is not None and now > before[0]:
        rate = max(0.0, requests - before[1]) / (now - before[0])
    count = values.get("springboard_request_latency_seconds_count", 0.0)
    total = values.get("springboard_request_latency_seconds_sum", 0.0)
    return Figures(
        requests=int(requests),
        requests_per_second=rate,
        active_rows=int(values.get("springboard_active_rows", 0)),
        queue_depth=int(values.get("springboard_queue_depth", 0)),
        tokens_in=int(values.get("springboard_tokens_total:in", 0)),
        tokens_out=int(values.get("springboard_tokens_total:out", 0)),
        mean_latency_ms=1000 * total / count if count else None,
    )
