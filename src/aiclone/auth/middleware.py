"""Deny-by-default authentication.

Every HTTP and WebSocket route needs a valid bearer access token unless its handler (or its
controller or router) sets ``exclude_from_auth=True``: the short public list of health, docs,
register, login and refresh. Only CORS preflights (OPTIONS) pass without one.

A genuine token is not enough: the identity gate then confirms that its session is open and its
user exists and is active, and replaces the token's role with the user's current one
(``aiclone.auth.identity``; a dictionary lookup on all but the first request of a session).

This is a plain ASGI middleware rather than Litestar's ``AbstractAuthenticationMiddleware``: it
runs on every authenticated request, and reading the one header straight from the ASGI scope
costs a fraction of building a connection object and its header map first.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from aiclone.auth.identity import IdentityGate
from aiclone.auth.tokens import VERIFIED_BEARER_KEY, Principal, TokenCodec
from aiclone.errors import Unauthenticated

PUBLIC_OPT_KEY = "exclude_from_auth"
_AUTHENTICATED_SCOPES = frozenset({"http", "websocket"})


def bearer_token(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":  # ASGI servers give header names in lower case
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
            return token
    raise Unauthenticated("Missing bearer token.")


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, codec: TokenCodec, gate: IdentityGate) -> None:
        self.app = app
        self.codec = codec
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] in _AUTHENTICATED_SCOPES
            and scope.get("method") != "OPTIONS"
            and not scope["route_handler"].opt.get(PUBLIC_OPT_KEY)
        ):
            token = bearer_token(scope)
            # The rate limiter may have verified this very token already.
            verified: tuple[str, Principal] | None = scope.get("state", {}).get(VERIFIED_BEARER_KEY)
            principal = (
                verified[1] if verified is not None and verified[0] == token else self.codec.decode(token)
            )
            scope["user"] = await self.gate.admit(principal)
            scope["auth"] = token
        await self.app(scope, receive, send)
