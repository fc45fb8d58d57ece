from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, URLEncodedBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.schemas import (
    LoginForm,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserRead,
)
from aiclone.auth.scopes import session_only
from aiclone.auth.service import AuthService
from aiclone.auth.session_controller import client_info
from aiclone.auth.tokens import Principal
from aiclone.openapi import problems, prose


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        exclude_from_auth=True,
        summary="Create an account",
        description="Registers a user with the `user` role. The email is compared case-insensitively.",
        responses=problems(409, 413, 422),
    )
    async def register(
        self, data: JSONBody[RegisterRequest], auth_service: NamedDependency[AuthService]
    ) -> UserRead:
        return await auth_service.register(email=data.email, password=data.password, full_name=data.full_name)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        summary="Sign in (OAuth2 password grant)",
        description="Form fields `username` (the email) and `password`. Returns an access and a refresh token.",
        responses=problems(401, 422),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LoginForm],
        auth_service: NamedDependency[AuthService],
    ) -> TokenPair:
        return await auth_service.login(
            email=data.username, password=data.password, client=client_info(request)
        )

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        summary="Rotate a refresh token",
        description="Consumes the refresh token and returns a new pair. A token used twice revokes its family.",
        responses=problems(401, 422),
    )
    async def refresh_tokens(
        self, data: JSONBody[RefreshRequest], auth_service: NamedDependency[AuthService]
    ) -> TokenPair:
        return await auth_service.refresh(data.refresh_token)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        opt=session_only(),
        summary="Sign out",
        description=prose("""
            Ends the session of the given refresh token, or every session of the user when no token is given
            or `all_sessions` is true. Their access tokens are refused by every instance within a second.
        """),
        responses=problems(401, 422),
    )
    async def logout(
        self,
        request: Request[Principal, str, Any],
        auth_service: NamedDependency[AuthService],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        body = data or LogoutRequest()
        await auth_service.logout(
            user_id=request.user.id,
            refresh_token=body.refresh_token,
            all_sessions=body.all_sessions or body.refresh_token is None,
        )
