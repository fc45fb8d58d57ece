"""Guards: plain functions, set controller-wide and tightened per handler."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from aiclone.auth.tokens import Principal
from aiclone.errors import Forbidden, Unauthenticated


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthenticated("Missing or invalid credentials.")
    return user


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not current_principal(connection).is_admin:
        raise Forbidden("This action needs the admin role.")


def owner_scope(principal: Principal, user_id: uuid.UUID | None) -> uuid.UUID:
    """Whose data a request acts on: the caller's, or any user's when an admin passes ``user_id``.

    A non-admin naming another user is refused (403); naming themselves is harmless.
    """
    if user_id is None or user_id == principal.id:
        return principal.id
    if not principal.is_admin:
        raise Forbidden("Only admins may act on another user's data.")
    return user_id
