"""Refusing absurd request headers (431).

uvicorn with httptools (our default server) puts no bound on the size or the number of
request header fields: a 50 MB header or 10,000 fields reach the app. This layer refuses more
than ``AICLONE_MAX_HEADER_COUNT`` fields (default 100) or more than ``AICLONE_MAX_HEADER_BYTES``
(default 32 KiB) of names and values with a 431 problem before any other work. The server
has already read those bytes by then, so a public deployment should also bound them where the
connection is accepted: a reverse proxy's header buffers, or ``--server granian``, whose HTTP
core answers 431 itself to more than 100 fields or a header block of a megabyte (it still
accepts 100 KB, which this layer then refuses).
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from aiclone.web.problems import cors_headers, send_problem


class HeaderLimitsMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_count: int, max_bytes: int, cors: CORSConfig | None = None
    ) -> None:
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = list(scope["headers"])
            too_many = len(headers) > self.max_count
            if too_many or sum(len(name) + len(value) for name, value in headers) > self.max_bytes:
                await send_problem(
                    scope,
                    send,
                    status=431,
                    slug="headers-too-large",
                    title="Request header fields too large",
                    detail=(
                        f"At most {self.max_count} header fields are accepted."
                        if too_many
                        else f"The request headers may total at most {self.max_bytes} bytes."
                    ),
                    headers=cors_headers(scope, self.cors),
                )
                return
        await self.app(scope, receive, send)
