"""Deny-by-default authentication.

Every HTTP and WebSocket route needs a valid bearer access token unless its handler (or its
controller or router) sets ``exclude_from_auth=True``: the short public list of health, docs,
register, login and refresh. Only CORS preflights (OPTIONS) pass without one.

A genuine token is not enough: the identity gate then confirms that its session is open and its
user exists and is active, and replaces the token's role with the user's current one
(``aiclone.auth.identity``; a dictionary lookup on all but the first request of a session).

A bearer credential that starts with ``ack_`` is an API key (:mod:`aiclone.apikeys`): the same
gate admits it, and then its scopes are checked against the route's declared scope
(:mod:`aiclone.auth.scopes`, the one check). A key anywhere in the URL is refused outright
(400 ``api-key-in-url``), on every route: URLs end up in logs, proxies and browser history.

This is a plain ASGI middleware rather than Litestar's ``AbstractAuthenticationMiddleware``: it
runs on every authenticated request, and reading the one header straight from the ASGI scope
costs a fraction of building a connection object and its header map first.
"""

from __future__ import annotations

import uuid
from typing import Protocol
from urllib.parse import unquote_plus

from litestar.types import ASGIApp, Receive, Scope, Send

from aiclone.auth import keytext
from aiclone.auth.identity import IdentityGate
from aiclone.auth.scopes import check_access, required_access
from aiclone.auth.tokens import VERIFIED_BEARER_KEY, Principal, TokenCodec
from aiclone.errors import DomainError, Unauthenticated
from aiclone.openapi import PUBLIC_OPT_KEY
from aiclone.web.request_context import client_address, request_method

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


class KeyInUrl(DomainError):
    status = 400
    slug = "api-key-in-url"
    title = "An API key was sent in the URL"


def refuse_key_in_url(scope: Scope) -> None:
    """400 when the path or query string holds something shaped like an API key."""
    query: bytes = scope.get("query_string", b"")
    path: str = scope.get("path", "")
    if (b"ack_" in query or b"%5f" in query.lower() or keytext.PREFIX in path) and (
        keytext.contains_key(unquote_plus(query.decode("latin-1"))) or keytext.contains_key(path)
    ):
        raise KeyInUrl(
            "API keys are refused in URLs, which end up in logs, proxies and browser history. Send it"
            " as 'Authorization: Bearer <key>', and treat this one as leaked: revoke it and create a new one."
        )


async def admit_bearer(scope: Scope, token: str, codec: TokenCodec, gate: IdentityGate) -> Principal:
    """The principal of a bearer credential (access token or API key), past the identity gate."""
    # The rate limiter may have verified this very credential already (a key also through the gate).
    verified: tuple[str, Principal] | None = scope.get("state", {}).get(VERIFIED_BEARER_KEY)
    if keytext.looks_like_key(token):
        if verified is not None and verified[0] == token:
            return verified[1]
        return await gate.admit_key(token)
    principal = verified[1] if verified is not None and verified[0] == token else codec.decode(token)
    return await gate.admit(principal)


class KeyUseLog(Protocol):
    """Records that a key was used, without making the request wait (``aiclone.apikeys.usage``)."""

    def note(self, key_id: uuid.UUID, address: str) -> None: ...


class BearerAuthMiddleware:
    def __init__(
        self, app: ASGIApp, codec: TokenCodec, gate: IdentityGate, usage: KeyUseLog | None = None
    ) -> None:
        self.app = app
        self.codec = codec
        self.gate = gate
        self.usage = usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in _AUTHENTICATED_SCOPES and scope.get("method") != "OPTIONS":
            refuse_key_in_url(scope)
            handler = scope["route_handler"]
            if not handler.opt.get(PUBLIC_OPT_KEY):
                token = bearer_token(scope)
                principal = await admit_bearer(scope, token, self.codec, self.gate)
                scope["user"] = principal  # also for the access log of a refusal below
                if principal.scopes is not None:  # an API key: only what its scopes allow
                    check_access(principal.scopes, required_access(handler.opt, request_method(scope)))
                    if self.usage is not None and principal.key_id is not None:
                        self.usage.note(principal.key_id, client_address(scope))
                scope["user"] = principal
                scope["auth"] = token
        await self.app(scope, receive, send)
