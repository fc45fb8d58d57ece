"""Problem responses sent by the edge layers, before Litestar's own handlers are involved."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.types import Scope, Send

from aiclone.errors import PROBLEM_JSON, problem_response


def cors_headers(scope: Scope, cors: CORSConfig | None) -> list[tuple[bytes, bytes]]:
    """What the CORS layer would add, for responses made in front of it (a browser must be
    able to read a 429 to honour it)."""
    if cors is None:
        return []
    origin = next((value for name, value in scope["headers"] if name == b"origin"), None)
    if origin is None or not cors.is_origin_allowed(origin.decode("latin-1")):
        return []
    headers = [(name.lower().encode(), value.encode()) for name, value in cors.simple_headers.items()]
    if not cors.is_allow_all_origins:
        headers = [h for h in headers if h[0] != b"access-control-allow-origin"]
        headers += [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
    return headers


async def send_problem(
    scope: Scope,
    send: Send,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    response = problem_response(Request(scope), status=status, slug=slug, title=title, detail=detail)
    body = msgspec.json.encode(response.content)
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in response.headers.items()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
