"""Deny-by-default authentication.

Every HTTP route needs a valid bearer access token unless its handler sets
``exclude_from_auth=True`` (the short public list: health, docs, register, login, refresh).
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Method, Scopes

from aiclone.auth.tokens import VERIFIED_BEARER_KEY, Principal, TokenCodec
from aiclone.errors import Unauthenticated


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        codec: TokenCodec,
        exclude: str | list[str] | None = None,
        exclude_from_auth_key: str = "exclude_from_auth",
        exclude_http_methods: Sequence[Method] | None = None,
        scopes: Scopes | None = None,
    ) -> None:
        super().__init__(
            app,
            exclude=exclude,
            exclude_from_auth_key=exclude_from_auth_key,
            # Only CORS preflights skip auth; HEAD is authenticated like GET.
            exclude_http_methods=exclude_http_methods or ["OPTIONS"],
            scopes=scopes,
        )
        self.codec = codec

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization")
        if not header:
            raise Unauthenticated("Missing bearer token.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
        token = token.strip()
        verified: tuple[str, Principal] | None = connection.scope.get("state", {}).get(VERIFIED_BEARER_KEY)
        principal = verified[1] if verified is not None and verified[0] == token else self.codec.decode(token)
        return AuthenticationResult(user=principal, auth=token)
