"""Request count and latency per route template and status, for every request (404s too).

A Server-Sent Events stream (a ``text/event-stream`` response) is counted but kept out of the
latency histogram: it lasts as long as the client stays, and its minutes would drown the
figures of the API calls in the top buckets.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from aiclone.metrics import Metrics
from aiclone.web.request_context import request_method

UNMATCHED = "(unmatched)"
# Any other method token a client invents is counted as OTHER, so labels stay a bounded set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled series by (method, route template, status): a bounded set, looked up
        # once each instead of through the client library's locked label lookup per request.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        stream = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = message["status"]
                stream = _is_event_stream(message.get("headers", ()))
            await send(message)

        in_flight = self.metrics.http_in_flight
        in_flight.inc()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            in_flight.dec()
            route = scope.get("path_template") or UNMATCHED
            method = request_method(scope) if request_method(scope) in _METHODS else "OTHER"
            count = self._counts.get((method, route, status))
            if count is None:
                count = self._counts[method, route, status] = self.metrics.http_requests.labels(
                    method, route, str(status)
                )
            count.inc()
            if not stream:
                latency = self._latencies.get((method, route))
                if latency is None:
                    latency = self._latencies[method, route] = self.metrics.http_latency.labels(method, route)
                latency.observe(time.perf_counter() - started)


def _is_event_stream(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":
            return value[:17].lower() == b"text/event-stream"
    return False
