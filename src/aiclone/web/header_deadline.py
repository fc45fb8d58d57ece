"""A deadline on the request header block for uvicorn (the app never sees headers until they end).

uvicorn's httptools protocol only has a keep-alive timeout, armed after a response and disarmed
by the first byte of the next request: a client that opens a connection and sends nothing, or
sends a header line one byte at a time, holds the connection forever. This protocol arms a
timer when the connection opens and when a next request begins, and disarms it when the header
block is complete. At ``AICLONE_HEADER_TIMEOUT_SECONDS`` a partial request is answered
``408`` with the ``request-timeout`` problem and the connection closed; a connection that sent
nothing is just closed. (granian bounds headers itself: ``aiclone.serving`` sets its
``header_read_timeout`` to the same value.)

Loaded by uvicorn from :data:`PROTOCOL` (an import string, so worker processes can load it too)
with the deadline carried by :class:`EdgeConfig`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aiclone.errors import PROBLEM_JSON, TYPE_BASE, Problem

PROTOCOL = "aiclone.web.header_deadline:HeaderDeadlineProtocol"
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


class EdgeConfig(uvicorn.Config):
    def __init__(
        self, *args: Any, header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout


def timeout_response(timeout: float) -> bytes:
    body = msgspec.json.encode(
        Problem(
            type=TYPE_BASE + "request-timeout",
            title="Request timeout",
            status=408,
            detail=f"The request headers must arrive within {timeout:g} s.",
        )
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        f"content-type: {PROBLEM_JSON}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout: float = getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT_SECONDS)
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial_request = False

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._partial_request = True
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self._partial_request = False
        super().on_headers_complete()

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        # Only answer when nothing else is being written on this connection (a pipelined
        # request that trickles in behind a running response is just dropped).
        idle = self.cycle is None or self.cycle.response_complete
        if self._partial_request and idle:
            self.transport.write(timeout_response(self.header_timeout))
        self.transport.close()
