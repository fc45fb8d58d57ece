from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

Email = Annotated[
    str, msgspec.Meta(max_length=254, description="Email address; compared case-insensitively.")
]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    # Policy (length, blocklist) is checked by the service; this only bounds the input.
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UserRead(msgspec.Struct):
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    is_active: bool
    created_at: dt.datetime


class LoginForm(msgspec.Struct):
    """OAuth2 password grant form (``username`` is the email)."""

    username: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    grant_type: str | None = None
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class TokenPair(msgspec.Struct):
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Which sessions to end: the one of ``refresh_token``, or all of them."""

    refresh_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    all_sessions: bool = False


class AccessToken(msgspec.Struct):
    """A browser session's access token; its refresh token travels only in an HttpOnly cookie."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


class SessionRead(msgspec.Struct):
    """A signed-in device or browser: one sign-in and its refreshes."""

    id: uuid.UUID
    user_agent: str
    address: str
    created_at: dt.datetime
    last_used_at: dt.datetime
    current: bool


class SessionList(msgspec.Struct):
    items: list[SessionRead]


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Annotated[str, msgspec.Meta(max_length=1024)]


class PasswordChanged(msgspec.Struct):
    other_sessions_ended: int
