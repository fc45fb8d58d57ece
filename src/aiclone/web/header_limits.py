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
from litestar.types import Scope, Send

from aiclone.web.problems import cors_headers, send_problem


class HeaderLimits:
    def __init__(self, *, max_count: int, max_bytes: int, cors: CORSConfig | None = None) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.cors = cors

    def exceeded(self, count: int, size: int) -> str | None:
        """Why a request with ``count`` header fields of ``size`` bytes in all is refused, if it is."""
        if count > self.max_count:
            return f"At most {self.max_count} header fields are accepted."
        if size > self.max_bytes:
            return f"The request headers may total at most {self.max_bytes} bytes."
        return None

    async def refuse(self, scope: Scope, send: Send, detail: str) -> None:
        await send_problem(
            scope,
            send,
            status=431,
            slug="headers-too-large",
            title="Request header fields too large",
            detail=detail,
            headers=cors_headers(scope, self.cors),
        )
