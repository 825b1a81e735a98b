"""Prometheus metrics of one app (its own registry, so several apps in one process stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("neura_requests", "Requests answered", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram(
            "neura_request_latency_seconds", "Time from request to response", ["endpoint"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )  # fmt: skip
        self.batch_size = Histogram("neura_batch_size", "Texts per encoder call", registry=self.registry,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))  # fmt: skip
        self.in_flight = Gauge("neura_requests_in_flight", "Requests admitted and not yet answered", registry=self.registry)
        self.queue_depth = Gauge("neura_batch_queue_depth", "Requests waiting for a micro-batch", registry=self.registry)
        self.rejections = Counter("neura_rejections", "Requests refused", ["reason"], registry=self.registry)
