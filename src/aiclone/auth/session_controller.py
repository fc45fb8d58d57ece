"""The signed-in user's sessions and password: list and end sessions, change the password."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from aiclone.auth.password_change import PasswordChangeService
from aiclone.auth.schemas import PasswordChange, PasswordChanged, SessionList
from aiclone.auth.scopes import session_only
from aiclone.auth.sessions import ClientInfo, SessionService
from aiclone.auth.tokens import Principal
from aiclone.openapi import problems, prose
from aiclone.web.request_context import client_address


def client_info(request: Request[Any, Any, Any]) -> ClientInfo:
    """What a new session records about where it came from (the address as the edge resolved it)."""
    return ClientInfo(
        user_agent=request.headers.get("user-agent", ""), address=client_address(request.scope)
    ).bounded()


class SessionController(Controller):
    path = "/api/auth"
    opt = session_only()
    tags = ["auth"]

    @get(
        "/sessions",
        summary="List my sessions",
        description=prose("""
            Open sessions of the signed-in user (one per sign-in, kept across refreshes), most recently used
            first, with the user agent and address of the sign-in. `current` marks the session of the token
            making this request.
        """),
        responses=problems(401),
    )
    async def list_sessions(
        self, request: Request[Principal, str, Any], session_service: NamedDependency[SessionService]
    ) -> SessionList:
        return await session_service.list_open(request.user.id, current=request.user.session_id)

    @delete(
        "/sessions/{session_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="End one of my sessions",
        description=prose("""
            Its refresh token stops working and its access tokens are refused by every instance within a
            second. Another user's session is a 404.
        """),
        responses=problems(401, 404),
    )
    async def end_session(
        self,
        request: Request[Principal, str, Any],
        session_id: FromPath[uuid.UUID],
        session_service: NamedDependency[SessionService],
    ) -> None:
        await session_service.end(request.user.id, session_id)

    @delete(
        "/sessions",
        status_code=HTTP_204_NO_CONTENT,
        summary="Sign out everywhere",
        description="Ends every session of the signed-in user, this one included.",
        responses=problems(401),
    )
    async def end_all_sessions(
        self, request: Request[Principal, str, Any], session_service: NamedDependency[SessionService]
    ) -> None:
        await session_service.end_all(request.user.id)

    @post(
        "/password",
        status_code=HTTP_200_OK,
        summary="Change my password",
        description=prose("""
            Needs the current password (failed attempts count against the account's sign-in quota). The new
            one must pass the password policy. Every other session ends; this one stays signed in.
        """),
        responses=problems(401, 403, 413),
    )
    async def change_password(
        self,
        request: Request[Principal, str, Any],
        data: JSONBody[PasswordChange],
        password_service: NamedDependency[PasswordChangeService],
    ) -> PasswordChanged:
        ended = await password_service.change(
            user_id=request.user.id,
            session_id=request.user.session_id,
            current_password=data.current_password,
            new_password=data.new_password,
        )
        return PasswordChanged(other_sessions_ended=ended)
