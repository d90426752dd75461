"""Prometheus metrics of one app instance (its own registry, so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ApiMetrics:
    """The counters and histograms the service exports on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tally_http_requests", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tally_http_request_seconds", "HTTP request latency", ["route"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.events = Counter(
            "tally_events", "posted transaction events by outcome", ["outcome"],
            registry=self.registry,
        )
        self.flags = Counter("tally_flags", "flags raised by online scoring",
                             registry=self.registry)
