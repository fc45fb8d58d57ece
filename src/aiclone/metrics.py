"""Prometheus collectors of one app instance.

Every collector lives in a registry owned by a :class:`Metrics` object that the app factory
builds (``Services.metrics``), so nothing is registered at import time and several apps in one
process (the test suite) do not share counters. Other packages take the object from the
services and use the collector they need, e.g. ``metrics.sse_connections.inc()`` or
``metrics.webhook_deliveries.labels(outcome="delivered").inc()``.

Label values are always bounded sets (route templates, status codes, outcome names), never
raw paths or user ids, so the number of series stays small.

Each server process has its own registry: with ``--workers N`` every worker reports its own
figures, so scrape one worker per container (or run one worker per process manager entry).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from aiclone.db_outage import OutageTracker

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Latency buckets in seconds: dense where API calls live (1 ms - 1 s), sparse beyond.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        # HTTP (recorded by aiclone.web.http_metrics for every request, matched or not).
        self.http_requests = Counter(
            "aiclone_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_latency = Histogram(
            "aiclone_http_request_duration_seconds",
            "Time from request start to the end of the response body, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.http_in_flight = Gauge(
            "aiclone_http_requests_in_flight", "Requests being served right now.", registry=registry
        )
        # Rate limiting (aiclone.ratelimit).
        self.rate_limit_rejections = Counter(
            "aiclone_rate_limit_rejections",
            "Requests refused with 429, by policy (default, user, login, register, login-failures).",
            ["policy"],
            registry=registry,
        )
        self.rate_limit_storage_errors = Counter(
            "aiclone_rate_limit_storage_errors",
            "Rate-limit storage operations that failed (e.g. Redis unreachable).",
            registry=registry,
        )
        self.rate_limit_fail_open = Counter(
            "aiclone_rate_limit_fail_open",
            "Requests let through unchecked because the rate-limit storage was unavailable.",
            registry=registry,
        )
        # Used by the live-events package.
        self.sse_connections = Gauge(
            "aiclone_sse_connections", "Open Server-Sent Events streams.", registry=registry
        )
        # Used by the webhook worker: outcome is e.g. delivered, failed, retrying, gave_up.
        self.webhook_deliveries = Counter(
            "aiclone_webhook_deliveries",
            "Webhook delivery attempts by outcome.",
            ["outcome"],
            registry=registry,
        )
        # Used by the research worker: status is queued, running, done, failed or cancelled.
        self.research_tasks = Counter(
            "aiclone_research_tasks",
            "Research task state changes by the status reached.",
            ["status"],
            registry=registry,
        )

        # The language model provider (aiclone.llm): purpose is research, outreach or content.
        self.llm_requests = Counter(
            "aiclone_llm_requests",
            "Language model calls by purpose and outcome (ok or the failure reason).",
            ["purpose", "outcome"],
            registry=registry,
        )
        self.llm_tokens = Counter(
            "aiclone_llm_tokens",
            "Language model tokens by purpose and direction (in = prompt, out = completion).",
            ["purpose", "direction"],
            registry=registry,
        )
        self.llm_failures = Counter(
            "aiclone_llm_failures",
            "Failed language model attempts by purpose and reason (retried ones included).",
            ["purpose", "reason"],
            registry=registry,
        )
        self.llm_latency = Histogram(
            "aiclone_llm_request_duration_seconds",
            "Time of one language model call, retries included, by purpose.",
            ["purpose"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0),
            registry=registry,
        )

        # Database availability (aiclone.db_outage): one count per outage, not per failed request.
        self.database_outages = Counter(
            "aiclone_database_outages",
            "Database outages seen by this process (each counted once, when it starts).",
            registry=registry,
        )
        self.database_available = Gauge(
            "aiclone_database_available",
            "1 while the database answers, 0 during an outage.",
            registry=registry,
        )
        self.database_available.set(1)

    def watch_database(self, outages: OutageTracker) -> None:
        def on_change(available: bool) -> None:
            self.database_available.set(1 if available else 0)
            if not available:
                self.database_outages.inc()

        outages.on_change(on_change)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)
