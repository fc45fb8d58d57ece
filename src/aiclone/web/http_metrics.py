"""Request count and latency per route template and status, for every request (404s too).

A Server-Sent Events stream (a ``text/event-stream`` response) is counted but kept out of the
latency histogram: it lasts as long as the client stays, and its minutes would drown the
figures of the API calls in the top buckets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiclone.metrics import Metrics

UNMATCHED = "(unmatched)"
# Any other method token a client invents is counted as OTHER, so labels stay a bounded set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """The edge's request series (:mod:`aiclone.web.edge_layer` records every request here)."""

    def __init__(self, metrics: Metrics) -> None:
        self.in_flight = metrics.http_in_flight
        self._requests = metrics.http_requests
        self._latency = metrics.http_latency
        # The labelled series by (method, route template, status): a bounded set, looked up
        # once each instead of through the client library's locked label lookup per request.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    def record(self, method: str, route: str | None, status: int, *, stream: bool, seconds: float) -> None:
        route = route or UNMATCHED
        method = method if method in _METHODS else "OTHER"
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._counts[method, route, status] = self._requests.labels(method, route, str(status))
        count.inc()
        if not stream:
            latency = self._latencies.get((method, route))
            if latency is None:
                latency = self._latencies[method, route] = self._latency.labels(method, route)
            latency.observe(seconds)


def is_event_stream(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":
            return value[:17].lower() == b"text/event-stream"
    return False
