"""Prometheus metrics of one endpoint server: requests by status, queue depth, batch
sizes, rows decoding, tokens in and out, latency, and requests abandoned by their caller
(timeout, disconnect) with the rows that stopped early because of them. A registry per
server so tests can build several."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # the *_created series only add noise to scrapes

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
BATCH_BUCKETS = (*range(1, 17), 24, 32, 48, 64, 96, 128, 256)  # every size up to 16


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "springboard_requests",
            "Requests answered, by HTTP status: invocations and the OpenAI (chat) completions.",
            ["status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "springboard_queue_depth", "Requests waiting for a batch.", registry=self.registry
        )
        self.batch_rows = Histogram(
            "springboard_batch_rows",
            "Rows per batch (dynamic) or per decoding step (continuous).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "springboard_tokens", "Tokens processed.", ["direction"], registry=self.registry
        )
        self.active_rows = Gauge(
            "springboard_active_rows",
            "Rows being decoded now (all workers).",
            registry=self.registry,
        )
        self.cancelled_requests = Counter(
            "springboard_cancelled_requests",
            "Requests given up before they finished: reason=timeout (the 504) or "
            "client_gone (the client disconnected).",
            ["reason"],
            registry=self.registry,
        )
        self.cancelled_rows = Counter(
            "springboard_cancelled_rows",
            "Rows that stopped decoding early because their request was given up.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "springboard_request_latency_seconds",
            "Time from request to response.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

        self.backend = Gauge(
            "springboard_backend_info",
            "The backend running the model (1): torch or ctranslate2, and its quantization "
            "(ctranslate2) or dtype (torch).",
            ["backend", "quantization"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
