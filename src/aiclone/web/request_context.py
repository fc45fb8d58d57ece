"""The first thing every request meets: its id and its client address.

Both go into ``scope["state"]`` (``request_id``, ``client_address``), where problem bodies, the
rate limiter and the access log read them, and the id is echoed as ``X-Request-ID`` on every
response, including the 404s and 429s produced before any route runs.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from aiclone.web.client_ip import ClientAddressResolver
from aiclone.web.request_id import REQUEST_ID_HEADER, accept_or_create


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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, resolver: ClientAddressResolver) -> None:
        self.app = app
        self.resolver = resolver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming: bytes | None = None
        forwarded: list[bytes] = []
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                incoming = value
            elif name == b"x-forwarded-for":
                forwarded.append(value)
        request_id = accept_or_create(incoming)
        client = scope.get("client")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_address"] = self.resolver.resolve(client[0] if client else None, forwarded)
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
