"""Serving the metrics: ``GET /metrics`` for admins, or a separate listener.

By default ``/metrics`` is on the main app and needs an admin's bearer token (it tells how the
service is used, so it is not public). With ``AICLONE_METRICS_BIND=host:port`` the route is not
registered and the registry is served on that address instead (a plain HTTP listener in a
thread, for a scraper on a private network); with several server workers the server's parent
binds it and serves the figures of all workers (:mod:`aiclone.metrics_multiprocess`).
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import start_http_server

from aiclone.auth.guards import requires_admin
from aiclone.auth.scopes import ApiScope, requires_scope
from aiclone.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger("aiclone.metrics")
# Litestar adds "; charset=utf-8" to every text/* type: without it here, it would come twice.
MEDIA_TYPE = ";".join(part for part in CONTENT_TYPE.split(";") if not part.strip().startswith("charset="))


def metrics_route(metrics: Metrics) -> HTTPRouteHandler:
    @get(
        "/metrics",
        guards=[requires_admin],
        opt=requires_scope(ApiScope.METRICS_READ),
        include_in_schema=False,
        cache=False,
        name="metrics",
    )
    async def serve_metrics() -> Response[bytes]:
        return Response(metrics.render(), media_type=MEDIA_TYPE)

    return serve_metrics


class MetricsListener:
    def __init__(self, metrics: Metrics, address: tuple[str, int]) -> None:
        self.metrics = metrics
        self.address = address
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        host, port = self.address
        self._server, self._thread = start_http_server(port, addr=host, registry=self.metrics.registry)
        logger.info("metrics served on http://%s:%d/metrics", host, port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
