"""Prometheus collectors of one app instance.

Every collector lives in a registry owned by a :class:`Metrics` object that the app factory
builds (``Services.metrics``), so nothing is registered at import time and several apps in one
process (the test suite) do not share counters. Other packages take the object from the
services and use the collector they need, e.g. ``metrics.sse_connections.inc()`` or
``metrics.webhook_deliveries.labels(outcome="delivered").inc()``.

Label values are always bounded sets (route templates, status codes, outcome names), never
raw paths or user ids, so the number of series stays small.

With ``--workers N`` the workers share their figures through prometheus_client's multiprocess
mode (:mod:`aiclone.metrics_multiprocess`) and every scrape shows the whole server; each gauge
says how the figures of several processes combine (``multiprocess_mode``). Alone, a process
also reports its own process and platform collectors.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from aiclone.db_outage import OutageTracker
from aiclone.metrics_multiprocess import server_registry, shared_directory, use_shared_values

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Latency buckets in seconds: dense where API calls live (1 ms - 1 s), sparse beyond.
_GaugeMode = Literal["livesum", "livemin"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Set by the server's parent when it runs several workers: read from all of them.
        self.shared = shared_directory()
        self._shared_registry = None
        if self.shared is not None:
            use_shared_values()
            self._shared_registry = server_registry(self.shared)
        if self._shared_registry is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self._http_and_rate_limits()
        self._workers()
        self._llm()
        # Database availability (aiclone.db_outage): one count per outage, not per failed request.
        self.database_outages = self._counter(
            "aiclone_database_outages",
            "Database outages seen by this process (each counted once, when it starts).",
        )
        self.database_available = self._gauge(
            "aiclone_database_available",
            "1 while the database answers, 0 during an outage (of any live worker).",
            multiprocess_mode="livemin",
        )
        self.database_available.set(1)

    def _counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def _gauge(self, name: str, documentation: str, *, multiprocess_mode: _GaugeMode) -> Gauge:
        return Gauge(name, documentation, registry=self.registry, multiprocess_mode=multiprocess_mode)

    def _histogram(
        self, name: str, documentation: str, labels: tuple[str, ...], buckets: tuple[float, ...]
    ) -> Histogram:
        return Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)

    def _http_and_rate_limits(self) -> None:
        # HTTP (recorded by aiclone.web.http_metrics for every request, matched or not).
        self.http_requests = self._counter(
            "aiclone_http_requests",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
        )
        self.http_latency = self._histogram(
            "aiclone_http_request_duration_seconds",
            "Time from request start to the end of the response body, by method and route template.",
            ("method", "route"),
            _LATENCY_BUCKETS,
        )
        self.http_in_flight = self._gauge(
            "aiclone_http_requests_in_flight", "Requests being served right now.", multiprocess_mode="livesum"
        )
        # Rate limiting (aiclone.ratelimit).
        self.rate_limit_rejections = self._counter(
            "aiclone_rate_limit_rejections",
            "Requests refused with 429, by policy (default, user, login, register, login-failures).",
            ("policy",),
        )
        self.rate_limit_storage_errors = self._counter(
            "aiclone_rate_limit_storage_errors",
            "Rate-limit storage operations that failed (e.g. Redis unreachable).",
        )
        self.rate_limit_fail_open = self._counter(
            "aiclone_rate_limit_fail_open",
            "Requests let through unchecked because the rate-limit storage was unavailable.",
        )

    def _workers(self) -> None:
        # Used by the live-events package.
        self.sse_connections = self._gauge(
            "aiclone_sse_connections", "Open Server-Sent Events streams.", multiprocess_mode="livesum"
        )
        # Used by the webhook worker: outcome is e.g. delivered, failed, retrying, gave_up.
        self.webhook_deliveries = self._counter(
            "aiclone_webhook_deliveries", "Webhook delivery attempts by outcome.", ("outcome",)
        )
        # Used by the research worker: status is queued, running, done, failed or cancelled.
        self.research_tasks = self._counter(
            "aiclone_research_tasks", "Research task state changes by the status reached.", ("status",)
        )

    def _llm(self) -> None:
        # The language model provider (aiclone.llm): purpose is research, outreach or content.
        self.llm_requests = self._counter(
            "aiclone_llm_requests",
            "Language model calls by purpose and outcome (ok or the failure reason).",
            ("purpose", "outcome"),
        )
        self.llm_tokens = self._counter(
            "aiclone_llm_tokens",
            "Language model tokens by purpose and direction (in = prompt, out = completion).",
            ("purpose", "direction"),
        )
        self.llm_failures = self._counter(
            "aiclone_llm_failures",
            "Failed language model attempts by purpose and reason (retried ones included).",
            ("purpose", "reason"),
        )
        self.llm_latency = self._histogram(
            "aiclone_llm_request_duration_seconds",
            "Time of one language model call, retries included, by purpose.",
            ("purpose",),
            (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0),
        )

    def watch_database(self, outages: OutageTracker) -> None:
        def on_change(available: bool) -> None:
            self.database_available.set(1 if available else 0)
            if not available:
                self.database_outages.inc()

        outages.on_change(on_change)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format (of the whole server)."""
        return generate_latest(self._shared_registry or self.registry)
