"""Every request's id and client address, as the edge records them (:mod:`aiclone.web.edge_layer`).

Both go into ``scope["state"]`` (``request_id``, ``client_address``), where problem bodies, the
rate limiter and the access log read them, and the id is echoed as ``X-Request-ID`` on every
response, including the 404s and 429s produced before any route runs.
"""

from __future__ import annotations

from litestar.types import Scope


def client_address(scope: Scope) -> str:
    state = scope.get("state") or {}
    address = state.get("client_address")
    if isinstance(address, str):
        return address
    client = scope.get("client")
    return client[0] if client else "unknown"


def request_method(scope: Scope) -> str:
    method: str = scope.get("method", "GET")  # type: ignore[assignment]
    return method
