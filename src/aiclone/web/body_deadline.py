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

from litestar.types import Receive, ReceiveMessage, Scope, Send

from aiclone.web.problems import send_problem


class BodyTimedOut(BaseException):
    """Raised from ``receive`` at the deadline; a BaseException so that no route or exception
    handler takes it for its own failure on the way out."""


def is_body_header(name: bytes, value: bytes) -> bool:
    """Whether this request header announces a body (the edge scans the headers once)."""
    return name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0"))


class DeadlineReceive:
    """``receive`` for a request with a body: :class:`BodyTimedOut` once the deadline passes
    with the body incomplete, then (``done``) the server's own ``receive`` untouched."""

    __slots__ = ("deadline", "done", "receive")

    def __init__(self, receive: Receive, deadline: float) -> None:
        self.receive = receive
        self.deadline = deadline
        self.done = False

    async def __call__(self) -> ReceiveMessage:
        if self.done:
            return await self.receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self.receive()
        except TimeoutError:
            raise BodyTimedOut from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.done = True
        return message


async def send_timeout(scope: Scope, send: Send, seconds: float) -> None:
    await send_problem(
        scope,
        send,
        status=408,
        slug="request-timeout",
        title="Request timeout",
        detail=f"The request body must arrive within {seconds:g} s.",
        headers=[(b"connection", b"close")],
    )
