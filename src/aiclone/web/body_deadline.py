"""A deadline on the whole request body (408), so a client cannot hold a request open by dripping it.

Neither server bounds the time a body takes to arrive: uvicorn has no such timeout at all, and
granian's only read timeout covers the header block. A client sending one byte every few
seconds kept a request (and its worker slot, and on PostgreSQL perhaps a pooled connection)
for as long as it liked. Here the body must be complete within ``AICLONE_BODY_TIMEOUT_SECONDS``
of the request reaching the app:

- a route still waiting for body bytes at the deadline is cancelled and the client gets a 408
  ``request-timeout`` problem with ``Connection: close`` (the server then drops the connection,
  and with it the rest of the body);
- a response sent before the body was read in full (a 401 refusing a request before its body
  is looked at, say) carries ``Connection: close``, so the server does not go on reading the
  remainder to keep the connection alive for a next request that would never come.

Once the body is complete, ``receive`` is passed through untouched: an event stream waits on it
for the client's disconnect for as long as the stream lasts.
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from aiclone.web.problems import send_problem


class _BodyTimedOut(BaseException):
    """Raised from ``receive`` at the deadline; a BaseException so that no route or exception
    handler takes it for its own failure on the way out."""


def _expects_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class BodyDeadlineMiddleware:
    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not _expects_body(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        body_done = False
        started = False

        async def receive_by_deadline() -> ReceiveMessage:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimedOut from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_closing(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not body_done:
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive_by_deadline, send_closing)
        except _BodyTimedOut:
            if started:  # answered already; the server closes the connection (see send_closing)
                return
            await send_problem(
                scope,
                send,
                status=408,
                slug="request-timeout",
                title="Request timeout",
                detail=f"The request body must arrive within {self.timeout:g} s.",
                headers=[(b"connection", b"close")],
            )
