"""The edge: everything every request meets before Litestar, in one ASGI pass.

In order, for each HTTP request:

1. request context: request id (accepted or made) and client address into ``scope["state"]``,
   ``X-Request-ID`` echoed on the response (:mod:`aiclone.web.request_context`);
2. HTTP metrics: in flight, then count and latency by route template and status
   (:mod:`aiclone.web.http_metrics`);
3. access log: one structured line per request (:mod:`aiclone.web.access_log`);
4. security headers, and ``Cache-Control: no-store`` where credentials are involved
   (:mod:`aiclone.web.security_headers`);
5. shutdown drain: 503 ``shutting-down`` once the process is stopping, and the cut of requests
   that outlive the grace period (:mod:`aiclone.web.drain`);
6. body deadline: 408 for a body that trickles in (:mod:`aiclone.web.body_deadline`);
7. header limits: 431 for absurd header blocks (:mod:`aiclone.web.header_limits`);

then the app behind it (the rate limiter when enabled, then Litestar). A response made by any
step (a 431, a 503, the app's own) gets what the steps before it add: id, security headers,
``Connection: close`` where the body was not read or the instance drains, a metric and a log
line.

Why one pass rather than a middleware per step: each ASGI layer costs a coroutine and a
``send`` wrapper per request, and an open event stream keeps all of them suspended for as long
as it lasts, where every full collection walks them. One pass scans the request headers once,
wraps ``send`` once and keeps one frame per stream.
"""

from __future__ import annotations

import asyncio
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from aiclone.web import access_log
from aiclone.web.body_deadline import BodyTimedOut, DeadlineReceive, is_body_header, send_timeout
from aiclone.web.client_ip import ClientAddressResolver
from aiclone.web.drain import CUT, DRAINING, ShutdownDrain, refuse
from aiclone.web.header_limits import HeaderLimits
from aiclone.web.http_metrics import HttpMetrics, is_event_stream
from aiclone.web.request_context import request_method
from aiclone.web.request_id import REQUEST_ID_HEADER, accept_or_create
from aiclone.web.security_headers import SecurityHeaders

_CLOSE = (b"connection", b"close")


class EdgeLayer:
    def __init__(
        self,
        app: ASGIApp,
        *,
        resolver: ClientAddressResolver,
        metrics: HttpMetrics,
        security: SecurityHeaders,
        drain: ShutdownDrain,
        body_timeout: float,
        limits: HeaderLimits,
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.metrics = metrics
        self.security = security
        self.drain = drain
        self.body_timeout = body_timeout
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        exchange, refused = self._begin(scope, receive, send)
        drain = self.drain
        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            if drain.draining:
                await refuse(drain, scope, exchange.send, DRAINING)
                return
            drain.track(exchange.task)
            if refused is not None:
                await self.limits.refuse(scope, exchange.send, refused)
            else:
                await self.app(scope, exchange.body or receive, exchange.send)
        except asyncio.CancelledError:
            task = exchange.task
            if exchange.responded or not drain.was_cut(task):
                raise
            assert task is not None
            task.uncancel()  # this cancellation was ours, and ends here with an answer
            await refuse(drain, scope, exchange.send, CUT)
        except BodyTimedOut:
            if not exchange.responded:  # else answered already; the server closes the connection
                await send_timeout(scope, exchange.send, self.body_timeout)
        finally:
            drain.untrack(exchange.task)
            in_flight.dec()
            elapsed = time.perf_counter() - started_at
            status = exchange.status
            self.metrics.record(
                request_method(scope),
                scope.get("path_template"),
                status,
                stream=exchange.stream,
                seconds=elapsed,
            )
            if access_log.enabled():
                access_log.log_access(scope, status, elapsed)

    def _begin(self, scope: Scope, receive: Receive, send: Send) -> tuple[_Exchange, str | None]:
        """Read the request's headers once for every step: its context, its response's headers,
        its body deadline, and the header limits' verdict."""
        incoming: bytes | None = None
        forwarded: list[bytes] = []
        authorization = has_body = False
        count = size = 0
        for name, value in scope["headers"]:
            count += 1
            size += len(name) + len(value)
            if name == REQUEST_ID_HEADER:
                incoming = value
            elif name == b"x-forwarded-for":
                forwarded.append(value)
            elif name == b"authorization":
                authorization = True
            elif not has_body and is_body_header(name, value):
                has_body = True
        request_id = accept_or_create(incoming)
        client = scope.get("client")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_address"] = self.resolver.resolve(client[0] if client else None, forwarded)
        body = (
            DeadlineReceive(receive, asyncio.get_running_loop().time() + self.body_timeout)
            if has_body
            else None
        )
        exchange = _Exchange(
            send,
            drain=self.drain,
            body=body,
            extra=(
                *self.security.for_request(scope, authorization=authorization),
                (REQUEST_ID_HEADER, request_id.encode()),
            ),
        )
        return exchange, self.limits.exceeded(count, size)


class _Exchange:
    """One request as the edge follows it: what its response gets, and what the response was.

    A slotted object and its bound ``send`` rather than a closure: an open stream keeps it for
    its whole life, and two objects are less for the collector than a function and its cells.
    """

    __slots__ = ("body", "drain", "extra", "responded", "status", "stream", "task", "to_server")

    def __init__(
        self,
        to_server: Send,
        *,
        drain: ShutdownDrain,
        body: DeadlineReceive | None,
        extra: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        self.to_server = to_server
        self.drain = drain
        self.body = body
        self.extra = extra
        self.status = 500
        self.stream = False
        self.responded = False
        # A task per request under both servers; tracking it costs far less than a cancel scope.
        self.task = asyncio.current_task()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.responded = True
            self.drain.untrack(self.task)  # a response under way is the server's to end
            headers = list(message.get("headers", ()))
            self.stream = is_event_stream(headers)
            present = {name.lower() for name, _ in headers}
            body = self.body
            # The unread rest of a body, or the drain, ends the connection.
            if ((body is not None and not body.done) or self.drain.draining) and b"connection" not in present:
                headers.append(_CLOSE)
            headers.extend(item for item in self.extra if item[0] not in present)  # the handler's own win
            message["headers"] = headers
        await self.to_server(message)
