"""The web stack around the routes, assembled in one place.

Litestar runs its middleware only after routing, so a 404, a 405 or a CORS preflight would
never meet it. The work that must see *every* request therefore wraps the app's ASGI handler
itself (:meth:`WebStack.install`), outermost first:

1. the edge, in one pass (:mod:`aiclone.web.edge_layer`): request id and client address, HTTP
   metrics, the access log, security headers, the shutdown drain, the body deadline and the
   header limits;
2. rate limiting (when enabled): charge the request once, 429 or rate-limit fields;
3. Litestar itself: CORS, exception handling, routing, then the route middleware
   (authentication, compression) and the handler.

The rest is ordinary Litestar configuration the app factory passes on: compression, CORS,
logging, the ``/metrics`` route and a lifespan for the metrics listener and the rate-limit
storage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.handlers import HTTPRouteHandler
from litestar.logging import LoggingConfig

from aiclone.auth.identity import IdentityGate
from aiclone.auth.tokens import TokenCodec
from aiclone.health.metrics_endpoint import MetricsListener, metrics_route
from aiclone.metrics import Metrics
from aiclone.ratelimit.middleware import RateLimitMiddleware
from aiclone.ratelimit.setup import RateLimiting
from aiclone.settings import Settings
from aiclone.web.client_ip import ClientAddressResolver
from aiclone.web.compression import compression_config
from aiclone.web.cors import cors_config
from aiclone.web.drain import ShutdownDrain
from aiclone.web.edge_layer import EdgeLayer
from aiclone.web.header_limits import HeaderLimits
from aiclone.web.http_metrics import HttpMetrics
from aiclone.web.logs import logging_config
from aiclone.web.security_headers import SecurityHeaders


class WebStack:
    def __init__(
        self,
        settings: Settings,
        *,
        metrics: Metrics,
        codec: TokenCodec,
        rate_limiting: RateLimiting | None,
        keys: IdentityGate | None = None,
    ) -> None:
        self.keys = keys  # admits API keys, so the rate limiter charges them to their user
        self.settings = settings
        self.metrics = metrics
        self.codec = codec
        self.rate_limiting = rate_limiting
        self.cors: CORSConfig | None = cors_config(settings)
        self.compression: CompressionConfig = compression_config()
        self.logging: LoggingConfig = logging_config(settings)
        address = settings.server.metrics_address
        self.metrics_on_app = address is None
        # With several workers the server's parent binds the metrics port (metrics_multiprocess).
        self.metrics_listener = MetricsListener(metrics, address) if address and not metrics.shared else None
        self.drain = ShutdownDrain(
            drain_seconds=settings.shutdown_drain, grace_seconds=settings.server.shutdown_grace_seconds
        )

    @property
    def route_handlers(self) -> list[HTTPRouteHandler]:
        return [metrics_route(self.metrics)] if self.metrics_on_app else []

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        if self.metrics_listener is not None:
            self.metrics_listener.start()
        try:
            async with self.drain.lifespan(_app):
                yield
        finally:
            if self.metrics_listener is not None:
                self.metrics_listener.stop()
            if self.rate_limiting is not None:
                await self.rate_limiting.limiter.close()

    def install(self, app: Litestar) -> Litestar:
        settings = self.settings
        handler = app.asgi_handler
        if self.rate_limiting is not None:
            handler = RateLimitMiddleware(
                handler,
                limiter=self.rate_limiting.limiter,
                policies=self.rate_limiting.policies,
                codec=self.codec,
                metrics=self.metrics,
                keys=self.keys,
                cors=self.cors,
            )
        app.asgi_handler = EdgeLayer(
            handler,
            resolver=ClientAddressResolver(settings.server.trusted_proxies),
            metrics=HttpMetrics(self.metrics),
            security=SecurityHeaders(hsts=settings.production),
            drain=self.drain,
            body_timeout=settings.server.body_timeout_seconds,
            limits=HeaderLimits(
                max_count=settings.server.max_header_count,
                max_bytes=settings.server.max_header_bytes,
                cors=self.cors,
            ),
        )
        return app
